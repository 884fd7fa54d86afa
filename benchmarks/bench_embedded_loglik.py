"""Embedded multiple-choice log-likelihood throughput on this machine.

Goal (issue 3): >= 10 scorings/s on 2 cores.  Both units are reported: a *scoring* is one log-likelihood
request of lm-eval's kind, i.e. one (context, continuation) pair — the unit of runtime-notes' 10-12/s
baseline — and an *item* is a multiple-choice question with every option scored.  Measured through the
product's own path (``evaluate``: runner, ledger in a fresh SQLite file, scorer), per benchmark and model,
cold ledger (nothing cached), with the model loaded and the scoring context created before the clock starts
(the load, ~0.3-2 s, is reported apart).  Modes (``LlamaBackend.loglik_mode``): ``prefix`` (the default:
the context once, then each option on it; bit-identical to ``solo``), ``solo`` (each option its own
evaluation), ``packed`` (every option in one batch; not exact, measured only).

    .venv/bin/python benchmarks/bench_embedded_loglik.py [--n 100] [--models smollm2-135m-instruct gemma3-270m]
        [--modes prefix solo packed] [--flash-attn]

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
from typing import Any

from sovereval.bench.backends import open_backend
from sovereval.bench.catalog import build
from sovereval.bench.data import find_data_root
from sovereval.bench.evaluate import evaluate, requests_for
from sovereval.bench.runner import RunConfig
from sovereval.bench.spec import BenchmarkDecl, Limit, local
from sovereval.bench.suites.core import _MMLU_TEST
from sovereval.bench.types import LoglikRequest
from sovereval.store import Store
from sovereval.store.ledger import Ledger

BENCHES = ("kobest-copa", "kobest-sentineg", "arc-easy", "arc-challenge", "truthfulqa-mc1", "mmlu",
           "mmlu-high_school_psychology", "click", "kmmlu-criminal-law")


def declaration(bench: str) -> BenchmarkDecl:
    """A catalogue benchmark, or ``mmlu-<subject>``: MMLU restricted to one subject's test file — what a
    full MMLU run looks like to the embedded backend (items sent subject by subject, so the subject's
    5-shot preamble stays in the cache); a random subset of the 57 subjects rarely repeats one."""
    benchmarks = build().benchmarks
    if bench in benchmarks:
        return benchmarks[bench]
    subject = bench.removeprefix("mmlu-")
    if not bench.startswith("mmlu-") or subject not in _MMLU_TEST:
        raise SystemExit(f"unknown benchmark {bench!r}")
    return benchmarks["mmlu"].with_(id=bench, name=f"MMLU ({subject})", source=local(
        (f"mmlu/test/{subject}_test.csv", _MMLU_TEST[subject]), format="csv"))


async def one(model: str, bench: str, n: int, root: Path, db: str, concurrency: int,
              mode: str, flash_attn: bool) -> dict[str, Any]:
    decl = declaration(bench)
    b = await open_backend(f"llama:{model}", loglik_mode=mode, flash_attn=flash_attn)
    try:
        t = time.perf_counter()
        await b.load()  # type: ignore[attr-defined]
        load = time.perf_counter() - t
        mode += "+fa" if flash_attn else ""
        t0 = time.perf_counter()
        o = await evaluate(decl, b, Ledger(Store(db)), data_root=root, limit=Limit(n=n, seed=0),
                           config=RunConfig(concurrency=concurrency, progress=False), actor="bench")
        dt = time.perf_counter() - t0
    finally:
        await b.aclose()
    reqs = list(requests_for(decl, o.items, root))
    conts = sum(len(r.continuations) for r in reqs if isinstance(r, LoglikRequest))
    return {"items": len(o.items), "scored": o.n_scored, "s": dt, "items_per_s": len(o.items) / dt,
            "conts_per_s": conts / dt, "acc": o.mean or 0.0, "load": load, "mode": mode}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="items per benchmark")
    ap.add_argument("--models", nargs="+", default=["smollm2-135m-instruct", "gemma3-270m"])
    ap.add_argument("--benchmarks", nargs="+", default=list(BENCHES))
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--modes", nargs="+", choices=["prefix", "solo", "packed"], default=["prefix"])
    ap.add_argument("--flash-attn", action="store_true", help="flash attention (default: off, closer to float32)")
    a = ap.parse_args()
    root = find_data_root()
    if root is None:
        raise SystemExit("needs ../shared/benchmarks or $SOVEREVAL_BENCH_DATA")
    print(f"# {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; n={a.n} items per benchmark, cold ledger")
    print("| model | mode | benchmark | items | s | scorings (continuations)/s | items/s | acc % | load s |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for model, mode, bench in ((m, o, b) for m in a.models for o in a.modes for b in a.benchmarks):
            db = f"sqlite:///{Path(tmp) / f'{model}-{mode}-{bench}.db'}"
            r = asyncio.run(one(model, bench, a.n, root, db, a.concurrency, mode, a.flash_attn))
            if r["scored"] < r["items"]:  # refused items (e.g. prompts longer than the context): no rate
                print(f"| {model} | {r['mode']} | {bench} | {r['items']:.0f} | {r['s']:.1f} | — | — | "
                      f"{r['scored']} of {r['items']} scored | {r['load']:.1f} |", flush=True)
                continue
            print(f"| {model} | {r['mode']} | {bench} | {r['items']:.0f} | {r['s']:.1f} | {r['conts_per_s']:.1f} | "
                  f"{r['items_per_s']:.2f} | {r['acc']:.1f} | {r['load']:.1f} |", flush=True)

if __name__ == "__main__":
    main()
