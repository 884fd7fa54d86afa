"""Measured benchmark results as tables: per team and item, the mean with a bootstrap CI, where it came
from, and paired differences between teams on the same items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
from rich.table import Table

from sovereval.program.records import BenchmarkResult
from sovereval.scoring.resample import benchmark_replicates


def _ci(col: np.ndarray) -> tuple[float, float, float]:
    est = float(col[0])
    if len(col) < 3:
        return est, est, est
    lo, hi = np.percentile(col[1:], [2.5, 97.5])
    return est, float(lo), float(hi)


def results_table(results: Sequence[BenchmarkResult], *, replicates: int = 2000, seed: int = 0,
                  sources: Mapping[tuple[str, str], str] | None = None) -> Table:
    """One row per (item, team): mean %, 95% bootstrap CI (clustered where items share material), n."""
    rng = np.random.default_rng(seed)
    t = Table(title="Measured benchmark results (percent, 95% bootstrap CI)", show_lines=False)
    for col in ("item", "team", "mean %", "95% CI", "n", "source"):
        t.add_column(col, overflow="fold", justify="right" if col in ("mean %", "n") else "left")
    for item in sorted({r.benchmark for r in results}):
        for r in sorted((r for r in results if r.benchmark == item), key=lambda r: r.team):
            est, lo, hi = _ci(benchmark_replicates([r], replicates, rng).percent[:, 0])
            src = (sources or {}).get((r.team, item), "")
            t.add_row(item, r.team, f"{est:.1f}", f"[{lo:.1f}, {hi:.1f}]", str(len(r.scores) or r.n), src)
    return t


def paired_differences(results: Sequence[BenchmarkResult], *, replicates: int = 2000, seed: int = 0,
                       ) -> list[tuple[str, str, str, float, float, float, str]]:
    """(item, team A, team B, A - B, lo, hi, method) for every pair of teams measured on one item.

    Teams scored on the same items are resampled jointly (paired bootstrap), which is what makes a
    difference smaller than either CI detectable; otherwise they are resampled independently (said so).
    """
    rng = np.random.default_rng(seed)
    out = []
    for item in sorted({r.benchmark for r in results}):
        rs = sorted((r for r in results if r.benchmark == item), key=lambda r: r.team)
        for a, b in combinations(rs, 2):
            res = benchmark_replicates([a, b], replicates, rng)
            d = res.percent[:, 0] - res.percent[:, 1]
            est, lo, hi = _ci(d)
            out.append((item, a.team, b.team, est, lo, hi, res.method))
    return out


def differences_table(rows: Sequence[tuple[str, str, str, float, float, float, str]]) -> Table:
    t = Table(title="Paired differences (percentage points, 95% CI)")
    for col in ("item", "A − B", "difference", "95% CI", "verdict", "method"):
        t.add_column(col, overflow="fold")
    for item, a, b, est, lo, hi, method in rows:
        verdict = f"{a} higher" if lo > 0 else f"{b} higher" if hi < 0 else "no clear difference"
        t.add_row(item, f"{a} − {b}", f"{est:+.1f}", f"[{lo:+.1f}, {hi:+.1f}]", verdict, method)
    return t
