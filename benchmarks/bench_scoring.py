#!/usr/bin/env python3
"""Scoring-engine speed: bootstrap replicates over item-level data (target: 10k replicates, 5 teams x
20k items, in seconds, on 2 cores).  Prints a Markdown table to paste into BENCHMARKS.md.

    .venv/bin/python benchmarks/bench_scoring.py [--replicates 10000] [--items 20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

from sovereval.program.load import load_inputs, load_program
from sovereval.program.records import BenchmarkResult
from sovereval.scoring.engine import score
from sovereval.scoring.resample import benchmark_replicates

ROOT = Path(__file__).resolve().parents[1]
TEAMS = ["lg", "skt", "upstage", "naver", "ncai"]


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def item_results(n_items: int, kind: str, rng: np.random.Generator, bench: str = "b",
                 ids: tuple[str, ...] | None = None) -> list[BenchmarkResult]:
    ids = ids or tuple(f"q{k}" for k in range(n_items))
    out = []
    for k, team in enumerate(TEAMS):
        p = 0.5 + 0.08 * k
        if kind == "binary":
            s = (rng.random(n_items) < p).astype(float)
        elif kind == "graded":  # partial credit in quarters (5 levels)
            s = np.round(np.clip(rng.normal(p, 0.3, n_items), 0, 1) * 4) / 4
        else:  # continuous, e.g. a judge's 0..1 score: every item distinct
            s = np.clip(rng.normal(p, 0.25, n_items), 0, 1)
        out.append(BenchmarkResult(team=team, benchmark=bench, item_ids=ids, scores=tuple(s.tolist())))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=10_000)
    ap.add_argument("--items", type=int, default=20_000)
    args = ap.parse_args()
    R, N = args.replicates, args.items
    rng = np.random.default_rng(0)
    rows = []

    for kind in ("binary", "graded", "continuous"):
        results = item_results(N, kind, rng)
        secs, res = timed(lambda results=results: benchmark_replicates(results, R, np.random.default_rng(1)))
        rows.append((f"one benchmark, 5 teams x {N:,} items, {kind} scores (paired)", secs, res.method))

    # the full engine on the stage-1 programme with the 13 common benchmarks given item-level data:
    # 5 teams x N items in all, split over the 13 benchmarks
    loaded = load_program(ROOT / "programs" / "k-ai-2026-stage1.toml")
    inputs = load_inputs(ROOT / "programs" / "k-ai-2026-stage1.inputs.toml")
    common = [i.id for i in loaded.program.stage("stage1").subblocks[1].items]
    per = N // len(common)
    synth = []
    for bench in common:
        synth += item_results(per, "binary", rng, bench, tuple(f"{bench}-{k}" for k in range(per)))
    big = inputs.model_copy(update={
        "benchmarks": (*(b for b in inputs.benchmarks if b.benchmark not in common), *synth),
        "published": (), "outcome": None})
    secs, _ = timed(lambda: score(loaded.program, big, replicates=R), repeat=2)
    label = (f"full engine, stage 1, common block item-level (5 x {per * len(common):,} items) + summaries + "
             "1,130 ratings, with sensitivity")
    rows.append((label, secs, "all cells, ranks, selection"))
    secs, _ = timed(lambda: score(loaded.program, inputs, replicates=R), repeat=2)
    rows.append(("full engine, stage 1 as shipped (summaries + ratings), with sensitivity", secs, ""))

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"## Scoring engine — {dt.date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}\n")
    print(f"{R:,} bootstrap replicates; best of 2-3 runs; peak RSS of the whole script {peak_mb:.0f} MB.\n")
    print("| case | seconds | method |\n|---|---:|---|")
    for name, s, m in rows:
        print(f"| {name} | {s:.2f} | {m} |")


if __name__ == "__main__":
    main()
