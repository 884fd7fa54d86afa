"""Measured benchmark results as tables: per team and item, the mean with a bootstrap CI, where it came
from, and paired differences between teams on the same items.  The numbers come from
`sovereval.scoring.runs`; nothing here recomputes one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.table import Table

from sovereval.scoring.runs import PairedDifference, ResultInterval


def results_table(intervals: Sequence[ResultInterval], *,
                  sources: Mapping[tuple[str, str], str] | None = None) -> Table:
    """One row per (item, team): mean %, 95% bootstrap CI (clustered where items share material), n."""
    t = Table(title="Measured benchmark results (percent, 95% bootstrap CI)", show_lines=False)
    for col in ("item", "team", "mean %", "95% CI", "n", "source"):
        t.add_column(col, overflow="fold", justify="right" if col in ("mean %", "n") else "left")
    for r in intervals:
        src = (sources or {}).get((r.team, r.item), "")
        t.add_row(r.item, r.team, f"{r.estimate:.1f}", f"[{r.lo:.1f}, {r.hi:.1f}]", str(r.n), src)
    return t


def differences_table(rows: Sequence[PairedDifference]) -> Table:
    t = Table(title="Paired differences (percentage points, 95% CI)")
    for col in ("item", "A − B", "difference", "95% CI", "verdict", "method"):
        t.add_column(col, overflow="fold")
    for d in rows:
        a, b, lo, hi = d.team_a, d.team_b, d.lo, d.hi
        verdict = f"{a} higher" if lo > 0 else f"{b} higher" if hi < 0 else "no clear difference"
        t.add_row(d.item, f"{a} − {b}", f"{d.estimate:+.1f}", f"[{lo:+.1f}, {hi:+.1f}]", verdict, d.method)
    return t
