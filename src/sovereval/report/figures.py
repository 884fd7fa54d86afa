"""Figures for the sheet: totals with intervals, and the probability of each rank."""

from __future__ import annotations

import re
from pathlib import Path

from sovereval.scoring.result import Sheet

CJK_FONTS = ("Noto Sans CJK KR", "Noto Sans KR", "NanumGothic", "Noto Sans CJK JP", "UnDotum")


def _label(text: str, fallback: str) -> str:
    """Use Hangul when a CJK font is installed; otherwise the ASCII fallback (never tofu boxes)."""
    if text.isascii():
        return text
    from matplotlib import font_manager, rcParams

    names = {f.name for f in font_manager.fontManager.ttflist}
    found = [f for f in CJK_FONTS if f in names]
    if found:
        rcParams["font.family"] = [found[0], "DejaVu Sans"]
        return text
    # "1차 평가 (stage 1)" -> "stage 1": the bracketed English gloss, if the text has one
    m = re.search(r"\(([ -~]+)\)", text)
    return m.group(1) if m else fallback


def sheet_figure(sheet: Sheet, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(sheet.rows)
    names = [f"{_label(r.name, r.team)}{' (†)' if r.cells['total'].provenance == 'reconstructed' else ''}" for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 0.6 * len(rows) + 2.2), gridspec_kw={"width_ratios": [3, 2]})
    colours = {"selected": "#2e7d32", "eliminated": "#c62828", "not_selected": "#757575"}
    y = list(range(len(rows)))[::-1]
    for yi, r in zip(y, rows, strict=True):
        c = r.cells["total"]
        ax1.errorbar(c.estimate, yi, xerr=[[c.estimate - c.lo], [c.hi - c.estimate]], fmt="o", capsize=4,
                     color=colours[r.status])
        ax1.annotate(f"{c.estimate:.{sheet.decimals}f}  {r.status.replace('_', ' ')}", (c.hi, yi), xytext=(6, -3),
                     textcoords="offset points", fontsize=8, color=colours[r.status])
    ax1.set_yticks(y, names)
    ax1.set_xlabel(f"Total points (/{sheet.total_points:g}) with {sheet.confidence:.0%} bootstrap interval")
    lo = min(r.cells["total"].lo for r in rows)
    hi = max(r.cells["total"].hi for r in rows)
    ax1.set_xlim(lo - 2, hi + (hi - lo) * 0.45 + 3)
    ax1.grid(axis="x", alpha=0.3)
    ax1.set_title(f"{_label(sheet.stage_name, sheet.stage_id)}: totals")
    probs = [r.rank_probs for r in rows]
    im = ax2.imshow(probs, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i, pr in enumerate(probs):
        for k, p in enumerate(pr):
            if p >= 0.005:
                ax2.text(k, i, f"{p:.0%}", ha="center", va="center", fontsize=8, color="white" if p > 0.6 else "black")
    ax2.set_xticks(range(len(rows)), [f"#{k + 1}" for k in range(len(rows))])
    ax2.set_yticks(range(len(rows)), [_label(r.name, r.team) for r in rows])
    ax2.set_title("Probability of each rank")
    fig.colorbar(im, ax=ax2, fraction=0.046)
    fig.text(0.01, 0.01, f"{sheet.replicates:,} bootstrap replicates, seed {sheet.seed}; † = reconstructed inputs",
             fontsize=7, color="#555")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path = Path(path)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
