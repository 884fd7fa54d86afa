"""Verdict artefacts (§6): ``verdict.json``, a one-page card (Markdown and HTML), figures, and the gate.

Figures (PNG, each with a plain-language caption): null-versus-observed strip plot (norm raw cosine —
the trap — next to norm Pearson, block Pearson and embedding rows), layer × layer heat map, component
map sized by parameters, tokenizer panel.  The reproducibility block lists input hashes, versions,
seeds and the command line.
"""

from __future__ import annotations

import hashlib
import html
import json
import platform
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .battery import BatteryResult
from .decision import ALPHA, DERIVED_CLASSES, INCONCLUSIVE, NO_EVIDENCE, Verdict, _fmt_p
from .envelope import ENVELOPE, MARGIN

NOT_COVERED = ("distillation (weights independent by construction), unreleased or untested parents, "
               "adversarial retraining, width-changing re-parameterisations without a shared vocabulary. "
               "This is statistical evidence, not a legal finding.")  # fmt: skip
CAPTIONS = {
    "strip": "Grey: what independent models give (permutation null, ±4 sd, and the negative envelope). Red: this "
             "pair. In the left panel every pair sits near 1 — raw cosine of norm gains cannot tell models apart.",
    "layers": "Each cell compares a suspect layer (row) with a reference layer (column). A bright diagonal means "
              "fine-tuning; two shifted stripes mean depth up-scaling; a block means transplanted layers; "
              "a uniform dark map means no relation.",
    "components": "How much of the model each finding concerns (bar length = parameters).",
    "tokenizer": "Vocabulary overlap, same-id agreement and shared merge order (descriptive: tokenizer reuse is "
                 "legal and common, and never evidence of weight reuse).",
}  # fmt: skip


@dataclass(frozen=True)
class Artefacts:
    directory: Path
    verdict_json: Path
    sha256: str
    card_md: Path
    card_html: Path
    figures: tuple[Path, ...]


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for mod in ("sovereval", "numpy", "scipy", "gguf", "matplotlib"):
        try:
            out[mod] = str(__import__(mod).__version__)
        except (ImportError, AttributeError):
            out[mod] = "n/a"
    return out


def write_artefacts(out: Path, verdict: Verdict, battery: BatteryResult, inputs: dict[str, Any],
                    command: str, figures: bool = True) -> Artefacts:  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    repro = {
        "inputs": inputs,
        "versions": _versions(),
        "seeds": "permutation draws seeded by sha256 of (suspect, reference, tensor keys); power check seed 0",
        "command": command,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "alpha_familywise": ALPHA,
        "envelope": ENVELOPE,
        "margin": MARGIN,
    }
    figs: list[Path] = []
    if figures:
        figs = make_figures(out / "figures", verdict, battery)
    doc = {"verdict": verdict.to_json(), "battery": battery.to_json(), "reproducibility": repro,
           "figures": [str(f.relative_to(out)) for f in figs]}  # fmt: skip
    vj = out / "verdict.json"
    data = json.dumps(doc, indent=1, default=str).encode()
    vj.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    md = card_markdown(verdict, battery, repro, figs, out, sha)
    (out / "card.md").write_text(md)
    (out / "card.html").write_text(card_html(verdict, battery, repro, figs, out, sha))
    return Artefacts(out, vj, sha, out / "card.md", out / "card.html", tuple(figs))


def _evidence_line(s: dict[str, Any] | None) -> str:
    if not s:
        return "—"
    env = ENVELOPE.get(s["test"])
    env_txt = f"independent models: ≤ {env:g}" if env is not None else "exact match"
    return (f"{s['test'].replace('_', ' ')} = {s['value']:.3f} on `{s['suspect']}` vs `{s['reference']}` "
            f"({env_txt}; null {s['null_mean']:.3f} ± {s['null_sd']:.3f}; {_fmt_p(s['log10_p'])})")  # fmt: skip


def card_markdown(v: Verdict, b: BatteryResult, repro: dict[str, Any], figs: list[Path], out: Path, sha: str) -> str:
    derived = [c for c in v.components if c.status == "DERIVED"]
    total = sum(c.params for c in v.components) or 1
    lines = [f"# Independence audit — {v.suspect} vs {v.reference}", "",
             f"**Verdict: {v.verdict}**", "", v.summary, ""]  # fmt: skip
    if derived:
        s = derived[0]
        lines += [f"* **Strongest evidence** ({s.component}): {_evidence_line(s.strongest)}",
                  f"* **Second, independent evidence**: {_evidence_line(s.second)}",
                  f"* Share of parameters concerned: {sum(c.params for c in derived) / total:.1%}"]  # fmt: skip
    if v.verdict == NO_EVIDENCE:
        up = v.power.get("detected_up_to")
        lines.append(f"* **Power**: the same tests detect a synthetic derivative of {v.reference} whose weights moved "
                     f"by up to {up:g}× their spread; no evidence here means no derivation *that large or smaller*.")  # fmt: skip
    if v.verdict == INCONCLUSIVE or v.notes:
        lines += [f"* Note: {n}" for n in v.notes]
    lines += [f"* Tests run: {v.n_tests}; family-wise α = {ALPHA:g}; per-test threshold p < 1e{v.threshold_log10_p:.1f}",
              f"* Not covered: {NOT_COVERED}", "",
              "## Components", "", "| component | parameters | status | families | pattern | strongest |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for c in v.components:
        st = c.strongest
        lines.append(f"| {c.component} | {c.params:,} | {c.status} | {', '.join(c.families) or '—'} | {c.pattern} | "
                     f"{(st['test'] + ' ' + format(st['value'], '.3f') + ', ' + _fmt_p(st['log10_p'])) if st else '—'} |")  # fmt: skip
    trap = b.norm_trap
    if trap:
        cos = np.array([t["raw_cosine"] for t in trap])
        pr = np.array([t["pearson"] for t in trap])
        lines += ["", "## Norm gains: the cosine trap", "",
                  (f"Raw cosine of norm-gain vectors: mean {cos.mean():.3f} (predicted for *unrelated* vectors from "
                  f"means and spreads alone: {np.mean([t['predicted_cosine_if_unrelated'] for t in trap]):.3f}). "
                  f"Pearson (mean-centred): mean {pr.mean():.3f}. Only the Pearson statistic, with its joint "
                  "permutation null, is used as evidence; the raw cosine is shown because it is the number that was "
                  "once used to accuse an independent model.")]  # fmt: skip
    if b.tokenizer:
        t = b.tokenizer
        lines += ["", "## Tokenizer (descriptive)", "",
                  (f"Relation: **{t['relation']}**; Jaccard {t['jaccard']:.3f}; same-id agreement "
                  f"{t['same_id_agreement']:.3f}; merge-order common prefix {t['merge_prefix']:,} of {t['merges_b']:,}.")]  # fmt: skip
    if b.rotation:
        r = b.rotation
        lines += ["", (f"Residual re-parameterisation check (Procrustes on shared-token embeddings, fitted on "
                  f"{r.get('fitted_on')} tokens, validated on {r.get('validated_on')}): r = {r.get('r_validation', 0):.3f}, "
                  f"distance from identity {r.get('distance_from_identity', 0):.2f}; undone before T3/T4: {r.get('applied')}.")]  # fmt: skip
    if figs:
        lines += ["", "## Figures", ""]
        for f in figs:
            lines += [f"![{f.stem}]({f.relative_to(out)})", "", f"*{CAPTIONS.get(f.stem, '')}*", ""]
    lines += ["", "## Reproducibility", "", "```", f"verdict.json sha256: {sha}" if sha else "",
              json.dumps({k: repro[k] for k in ("inputs", "versions", "seeds", "command", "created")}, indent=1),
              "```"]  # fmt: skip
    return "\n".join(lines) + "\n"


def card_html(v: Verdict, b: BatteryResult, repro: dict[str, Any], figs: list[Path], out: Path, sha: str) -> str:
    md = card_markdown(v, b, repro, figs, out, sha)
    body: list[str] = []
    in_code = False
    table: list[str] = []

    def flush() -> None:
        if table:
            rows = [r.strip("|").split("|") for r in table if not set(r) <= set("|-")]
            body.append("<table>" + "".join(
                "<tr>" + "".join(f"<{'th' if i == 0 else 'td'}>{html.escape(c.strip())}</{'th' if i == 0 else 'td'}>"
                                 for c in r) + "</tr>" for i, r in enumerate(rows)) + "</table>")  # fmt: skip
            table.clear()

    for line in md.splitlines():
        if line.startswith("```"):
            body.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
            continue
        if in_code:
            body.append(html.escape(line))
            continue
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        esc = html.escape(line).replace("**", "")
        if line.startswith("# "):
            body.append(f"<h1>{esc[2:]}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{esc[3:]}</h2>")
        elif line.startswith("![") and "](" in line:
            src = line[line.index("](") + 2 : -1]
            body.append(f'<img src="{html.escape(src)}" style="max-width:100%">')
        elif line.startswith("* "):
            body.append(f"<li>{esc[2:]}</li>")
        elif line.strip():
            body.append(f"<p>{esc}</p>")
    flush()
    colour = "#b00020" if v.verdict in DERIVED_CLASSES else "#1b5e20" if v.verdict == NO_EVIDENCE else "#8d6e00"
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Independence audit</title><style>"
            "body{font-family:sans-serif;max-width:60em;margin:auto} td,th{border:1px solid #ccc;padding:2px 6px}"
            f"table{{border-collapse:collapse}} h1{{color:{colour}}}</style></head><body>"
            + "\n".join(body) + "</body></html>")  # fmt: skip


def make_figures(out: Path, v: Verdict, b: BatteryResult) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    # 1. strip plot: null vs observed
    panels: list[tuple[str, list[float], float, float, float | None]] = []
    if b.norm_trap:
        panels.append(("norm raw cosine\n(NOT evidence)", [t["raw_cosine"] for t in b.norm_trap],
                       float(np.mean([t["predicted_cosine_if_unrelated"] for t in b.norm_trap])), 0.0, None))  # fmt: skip
    for test, label in (("norm_pearson", "norm Pearson"), ("block_pearson", "weight-block Pearson"),
                        ("embed_pearson", "embedding rows\nby token")):  # fmt: skip
        rs = [r for r in b.results if r.test == test and r.evidence]
        if rs:
            panels.append((label, [r.value for r in rs], float(np.mean([r.null_mean for r in rs])),
                           float(np.mean([r.null_sd for r in rs])), ENVELOPE.get(test)))  # fmt: skip
    if panels:
        fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), squeeze=False)
        rng = np.random.default_rng(0)
        for ax, (label, vals, mu, sd, env) in zip(axes[0], panels, strict=True):
            if sd > 0:
                ax.axhspan(mu - 4 * sd, mu + 4 * sd, color="0.8", label="null ±4 sd")
            else:
                ax.axhline(mu, color="0.5", ls="--", label="expected if unrelated")
            if env is not None:
                ax.axhspan(-env, env, color="0.6", alpha=0.5, label="negative envelope")
            ax.scatter(rng.uniform(-0.3, 0.3, len(vals)), vals, s=10, color="#d32f2f", label="this pair", zorder=3)
            ax.set_xlim(-1, 1)
            ax.set_xticks([])
            ax.set_ylim(-0.15, 1.05)
            ax.set_title(label, fontsize=9)
        axes[0][0].legend(fontsize=6, loc="lower left")
        fig.tight_layout()
        paths.append(out / "strip.png")
        fig.savefig(paths[-1], dpi=90)
        plt.close(fig)
    # 2. layer map
    lm = b.layer_map.get("text")
    if lm and lm["mean_pearson"]:
        m = np.array([[np.nan if x is None else x for x in row] for row in lm["mean_pearson"]], dtype=float)
        fig, ax = plt.subplots(figsize=(4.2, 4))
        im = ax.imshow(m, vmin=0, vmax=1, cmap="magma", aspect="auto", origin="upper")
        ax.set_xlabel("reference layer")
        ax.set_ylabel("suspect layer")
        ax.set_title("mean weight-block Pearson", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
        fig.tight_layout()
        paths.append(out / "layers.png")
        fig.savefig(paths[-1], dpi=90)
        plt.close(fig)
    # 3. component map
    comps = [c for c in v.components if c.params > 0]
    if comps:
        colours = {"DERIVED": "#d32f2f", "REVIEW": "#f9a825", "NO EVIDENCE": "#388e3c", "NOT TESTED": "#9e9e9e"}
        fig, ax = plt.subplots(figsize=(6, 0.5 + 0.4 * len(comps)))
        ax.barh([c.component for c in comps], [c.params / 1e6 for c in comps],
                color=[colours.get(c.status, "0.5") for c in comps])  # fmt: skip
        for i, c in enumerate(comps):
            ax.text(c.params / 1e6, i, f" {c.status}", va="center", fontsize=8)
        ax.set_xlabel("parameters (millions)")
        fig.tight_layout()
        paths.append(out / "components.png")
        fig.savefig(paths[-1], dpi=90)
        plt.close(fig)
    # 4. tokenizer panel
    if b.tokenizer:
        t = b.tokenizer
        vals = [t["jaccard"], t["same_id_agreement"], t["merge_prefix"] / max(1, t["merges_b"]),
                t["merge_shared_frac"]]  # fmt: skip
        fig, ax = plt.subplots(figsize=(5, 2.4))
        ax.bar(["Jaccard", "same id", "merge prefix", "shared merges"], vals, color="#5c6bc0")
        ax.set_ylim(0, 1.05)
        ax.set_title(f"tokenizer: {t['relation']}", fontsize=9)
        fig.tight_layout()
        paths.append(out / "tokenizer.png")
        fig.savefig(paths[-1], dpi=90)
        plt.close(fig)
    return paths
