"""Embedded multiple-choice log-likelihood throughput: MCQ items scored per second on this machine.

Goal (issue 3): >= 10 scorings/s on 2 cores.  One "scoring" is one multiple-choice item fully scored: every
option's continuation log-likelihood computed in-process by llama.cpp (embedded backend), written to the
durable ledger, and the item scored.  Measured through the product's own path (``evaluate``: runner,
ledger in a fresh SQLite file, scorer), per benchmark and model, cold ledger (nothing cached).

    .venv/bin/python benchmarks/bench_embedded_loglik.py [--n 100] [--models smollm2-135m-instruct gemma3-270m]

Needs ``../shared/benchmarks`` (or $SOVEREVAL_BENCH_DATA) and the llama extra (``make llama``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from pathlib import Path

from sovereval.bench.backends import open_backend
from sovereval.bench.catalog import CATALOG
from sovereval.bench.data import find_data_root
from sovereval.bench.evaluate import evaluate, requests_for
from sovereval.bench.runner import RunConfig
from sovereval.bench.spec import Limit
from sovereval.store import Store
from sovereval.store.ledger import Ledger

BENCHES = ("kobest-copa", "arc-easy", "mmlu", "kmmlu-criminal-law")


async def one(model: str, bench: str, n: int, root: Path, db: str, concurrency: int) -> dict[str, float]:
    decl = CATALOG[bench]
    b = await open_backend(f"llama:{model}")
    try:
        t0 = time.perf_counter()
        o = await evaluate(decl, b, Ledger(Store(db)), data_root=root, limit=Limit(n=n, seed=0),
                           config=RunConfig(concurrency=concurrency, progress=False), actor="bench")
        dt = time.perf_counter() - t0
    finally:
        await b.aclose()
    conts = sum(len(r.continuations) for r in requests_for(decl, o.items, root))  # type: ignore[union-attr]
    return {"items": len(o.items), "scored": o.n_scored, "s": dt, "items_per_s": len(o.items) / dt,
            "conts_per_s": conts / dt, "acc": o.mean or 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="items per benchmark")
    ap.add_argument("--models", nargs="+", default=["smollm2-135m-instruct", "gemma3-270m"])
    ap.add_argument("--benchmarks", nargs="+", default=list(BENCHES))
    ap.add_argument("--concurrency", type=int, default=4)
    a = ap.parse_args()
    root = find_data_root()
    if root is None:
        raise SystemExit("needs ../shared/benchmarks or $SOVEREVAL_BENCH_DATA")
    print(f"# {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; n={a.n} items per benchmark, cold ledger")
    print("| model | benchmark | items | s | items (scorings)/s | continuations/s | acc % |")
    print("|---|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for model in a.models:
            for bench in a.benchmarks:
                db = f"sqlite:///{Path(tmp) / f'{model}-{bench}.db'}"
                r = asyncio.run(one(model, bench, a.n, root, db, a.concurrency))
                print(f"| {model} | {bench} | {r['items']:.0f} | {r['s']:.1f} | {r['items_per_s']:.1f} | "
                      f"{r['conts_per_s']:.1f} | {r['acc']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
