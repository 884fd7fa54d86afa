"""Measured benchmark results: the numbers come from scoring, the tables only render them.

The expected values were captured from the report module's own bootstrap before it moved to
`scoring/runs.py`; the move must keep them bit for bit.
"""

from __future__ import annotations

import io

from rich.console import Console

from sovereval.program.records import BenchmarkResult
from sovereval.report.runs import differences_table, results_table
from sovereval.scoring.runs import measured_results, paired_differences, result_intervals

IDS = tuple(f"q{i}" for i in range(40))
RESULTS = [
    BenchmarkResult(team="c", benchmark="x", item_ids=IDS[:30], scores=tuple(float(i % 5 != 0) for i in range(30))),
    BenchmarkResult(team="b", benchmark="x", item_ids=IDS, scores=tuple(float(i % 2) for i in range(40))),
    BenchmarkResult(team="a", benchmark="x", item_ids=IDS, scores=tuple(float(i % 3 == 0) for i in range(40))),
    BenchmarkResult(team="a", benchmark="y", item_ids=IDS[:20], scores=tuple(float(i % 4 == 0) for i in range(20))),
]
INTERVALS = [("x", "a", 35.0, 20.0, 48.81249999999994, 40), ("x", "b", 50.0, 35.0, 65.0, 40),
             ("x", "c", 80.0, 66.66666666666666, 93.33333333333333, 30), ("y", "a", 25.0, 7.375000000000003, 45.0, 20)]
DIFFERENCES = [("x", "a", "b", -15.0, -35.0, 3.812499999999943, "paired bootstrap over 40 shared items"),
               ("x", "a", "c", -45.0, -64.20833333333334, -23.33333333333333,
                "bootstrap over items (teams resampled independently)"),
               ("x", "b", "c", -30.0, -51.66666666666667, -7.5, "bootstrap over items (teams resampled independently)")]


def _text(table) -> str:
    con = Console(width=200, record=True, file=io.StringIO())
    con.print(table)
    return con.export_text()


def test_paired_differences_keep_their_numbers() -> None:
    got = paired_differences(RESULTS, replicates=300, seed=7)
    assert [(d.item, d.team_a, d.team_b, d.estimate, d.lo, d.hi, d.method) for d in got] == DIFFERENCES  # bit for bit: same seed, same draws


def test_result_intervals_keep_their_numbers() -> None:
    got = result_intervals(RESULTS, replicates=300, seed=7)
    assert [(r.item, r.team, r.estimate, r.lo, r.hi, r.n) for r in got] == INTERVALS


def test_tables_render_the_numbers() -> None:
    measured = measured_results(RESULTS, replicates=300, seed=7)
    text = _text(results_table(measured.intervals, sources={("a", "x"): "src-a"}))
    for item, team, est, lo, hi, n in INTERVALS:
        assert f"{est:.1f}" in text and f"[{lo:.1f}, {hi:.1f}]" in text and f" {n} " in text
    assert "src-a" in text and "[7.4, 45.0]" in text
    diffs = _text(differences_table(measured.differences))
    assert "a − b" in diffs and "[-35.0, +3.8]" in diffs and "no clear difference" in diffs
    assert "[-64.2, -23.3]" in diffs and "c higher" in diffs
