"""Measured benchmark results as numbers: per team and item, the mean with a 95% bootstrap CI, and
paired differences between teams measured on the same item.  `report/runs.py` renders these.

Each computation draws from its own generator seeded with ``seed``, so the intervals and the
differences are reproducible on their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from sovereval.program.records import BenchmarkResult
from sovereval.scoring.resample import benchmark_replicates


@dataclass(frozen=True)
class ResultInterval:
    """One team on one item: mean percent with its 95% bootstrap CI, and how many items it stands on."""

    item: str
    team: str
    estimate: float
    lo: float
    hi: float
    n: int


@dataclass(frozen=True)
class PairedDifference:
    """Team A minus team B on one item, in percentage points, with its 95% CI and resampling method."""

    item: str
    team_a: str
    team_b: str
    estimate: float
    lo: float
    hi: float
    method: str


@dataclass(frozen=True)
class MeasuredResults:
    intervals: tuple[ResultInterval, ...]
    differences: tuple[PairedDifference, ...]


def _ci(col: np.ndarray) -> tuple[float, float, float]:
    est = float(col[0])
    if len(col) < 3:
        return est, est, est
    lo, hi = np.percentile(col[1:], [2.5, 97.5])
    return est, float(lo), float(hi)


def _by_item(results: Sequence[BenchmarkResult]) -> list[tuple[str, list[BenchmarkResult]]]:
    """The results grouped by item (sorted), each group sorted by team: the order every draw follows."""
    return [(item, sorted((r for r in results if r.benchmark == item), key=lambda r: r.team))
            for item in sorted({r.benchmark for r in results})]


def result_intervals(results: Sequence[BenchmarkResult], *, replicates: int = 2000, seed: int = 0,
                     ) -> tuple[ResultInterval, ...]:
    """One interval per (item, team), clustered where items share material."""
    rng = np.random.default_rng(seed)
    return tuple(ResultInterval(item, r.team, *_ci(benchmark_replicates([r], replicates, rng).percent[:, 0]),
                                n=len(r.scores) or r.n)
                 for item, rs in _by_item(results) for r in rs)


def paired_differences(results: Sequence[BenchmarkResult], *, replicates: int = 2000, seed: int = 0,
                       ) -> tuple[PairedDifference, ...]:
    """A - B for every pair of teams measured on one item.

    Teams scored on the same items are resampled jointly (paired bootstrap), which is what makes a
    difference smaller than either CI detectable; otherwise they are resampled independently (said so).
    """
    rng = np.random.default_rng(seed)
    out = []
    for item, rs in _by_item(results):
        for a, b in combinations(rs, 2):
            res = benchmark_replicates([a, b], replicates, rng)
            out.append(PairedDifference(item, a.team, b.team, *_ci(res.percent[:, 0] - res.percent[:, 1]),
                                        method=res.method))
    return tuple(out)


def measured_results(results: Sequence[BenchmarkResult], *, replicates: int = 2000, seed: int = 0,
                     ) -> MeasuredResults:
    """Both: what `report.runs` renders for a stage run."""
    return MeasuredResults(result_intervals(results, replicates=replicates, seed=seed),
                           paired_differences(results, replicates=replicates, seed=seed))
