"""Share of llama-server's raw throughput that sovereval's runner reaches (SmolLM2-135M-Instruct, ``-np 16``).

llama-server (built with llama-cpp-python, ``scripts/install-llama.sh``) is started once with 16 parallel slots (continuous batching).  Then, on
the same fixed set of short chat prompts (``max_tokens`` 32, temperature 0):

(a) **raw**: a minimal async load generator — one ``aiohttp.ClientSession``, 16 workers, each POSTs the
    same JSON body sovereval would send and reads ``usage.completion_tokens``; nothing else.
(b) **sovereval**: ``run_jobs(OpenAIBackend, jobs, Ledger(Store("sqlite:///<fresh file>")))`` at
    concurrency 16 (``RunConfig(concurrency=16, max_concurrency=16)``; adaptive limiter on, capped at
    16), durable ledger (SQLite WAL), fresh ledger each round; tokens are read back from the ledger.

Both are warmed up first, then run ``--rounds`` times in alternating order (a b, b a, a b, …) because
the 2-core machine is noisy; the share is (b)/(a) in completion tokens/s per round, and the median is
reported.  Client CPU time per request (``time.process_time``, this process: event loop plus the SQLite
writer thread) is reported too: the server needs both cores, so client CPU is what the share costs.

Usage: .venv/bin/python benchmarks/bench_llama_server_share.py [--requests 200] [--rounds 3]
       [--parallel 16] [--max-tokens 32] [--model smollm2-135m-instruct]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.metadata
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sovereval.bench.backends.openai import OpenAIBackend
from sovereval.bench.llama_runtime import build_record
from sovereval.bench.models import resolve_model
from sovereval.bench.runner import Job, RunConfig, run_jobs
from sovereval.bench.servers import LlamaServer
from sovereval.bench.types import GenerationRequest, Message, Sampling, request_key
from sovereval.store import Store
from sovereval.store.ledger import Ledger

GOAL = 0.95
TOPICS = ("the sea", "a red bicycle", "winter in Seoul", "prime numbers", "a lost key", "coffee", "the moon",
          "a quiet library", "rain on a roof", "an old map")
TASKS = ("Write one sentence about {t}.", "Give two facts about {t}.", "Describe {t} in a short phrase.",
         "What is interesting about {t}?", "Write a haiku about {t}.")


def prompts(n: int) -> list[str]:
    return [TASKS[(i // len(TOPICS)) % len(TASKS)].format(t=TOPICS[i % len(TOPICS)]) + f" (#{i})"
            for i in range(n)]


@dataclass
class Run:
    kind: str
    round: int
    requests: int
    wall_s: float
    tokens: int
    cpu_s: float

    @property
    def tok_s(self) -> float:
        return self.tokens / self.wall_s

    @property
    def req_s(self) -> float:
        return self.requests / self.wall_s

    @property
    def cpu_us_per_req(self) -> float:
        return self.cpu_s / self.requests * 1e6


async def raw_run(base_url: str, model: str, texts: list[str], max_tokens: int, conc: int) -> tuple[float, int, float]:
    """The minimal client: same JSON body as sovereval's backend, 16 workers, nothing else."""
    bodies = [{"model": model, "max_tokens": max_tokens, "temperature": 0.0, "top_p": 1.0, "seed": 0,
               "messages": [{"role": "user", "content": t}]} for t in texts]
    tokens = 0
    nxt = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as session:
        async def worker() -> None:
            nonlocal tokens, nxt
            while nxt < len(bodies):
                body = bodies[nxt]
                nxt += 1
                for attempt in (0, 1):  # a pooled connection the server just closed: resend once
                    try:
                        async with session.post(base_url + "/chat/completions", json=body) as r:
                            r.raise_for_status()
                            data = await r.json()
                        break
                    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                        if attempt:
                            raise
                tokens += int(data["usage"]["completion_tokens"])
        c0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        return time.perf_counter() - t0, tokens, time.process_time() - c0


async def sovereval_run(base_url: str, model: str, texts: list[str], max_tokens: int, conc: int,
                        db: Path, progress: bool) -> tuple[float, int, float]:
    ledger = Ledger(Store(f"sqlite:///{db}"))
    backend = await OpenAIBackend.connect(base_url, model=model, revision="bench")
    sampling = Sampling(max_tokens=max_tokens, temperature=0.0)
    reqs = [GenerationRequest(messages=(Message(role="user", content=t),), sampling=sampling) for t in texts]
    keys = [request_key(backend.identity, backend.endpoint, r) for r in reqs]
    try:
        c0, t0 = time.process_time(), time.perf_counter()
        stats = await run_jobs(backend, (Job(k, r) for k, r in zip(keys, reqs, strict=True)), ledger,
                               total=len(reqs), description="sovereval",
                               config=RunConfig(concurrency=conc, max_concurrency=conc, progress=progress))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        await backend.aclose()
    if stats.completed != len(reqs) or stats.failed:
        raise RuntimeError(f"sovereval run: completed {stats.completed}, failed {stats.failed}: {stats.failures[:3]}")
    responses = ledger.responses(keys)
    tokens = sum(int(responses[k]["completion_tokens"] or 0) for k in keys)
    ledger.store.close()
    return wall, tokens, cpu


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--parallel", type=int, default=16, help="llama-server -np and client concurrency")
    ap.add_argument("--ctx-per-slot", type=int, default=512, help="-c = parallel x this")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=32, help="requests per client before measuring")
    ap.add_argument("--progress", action="store_true", help="show sovereval's progress bar (default off)")
    args = ap.parse_args()

    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(120, shutil.get_terminal_size().columns))
    texts = prompts(args.requests)
    mf = resolve_model(args.model)
    started = dt.datetime.now()
    load_before = loadavg()
    tmp = Path(tempfile.mkdtemp(prefix="bench-llama-share-"))
    runs: list[Run] = []
    conc = args.parallel
    console.print(f"[bold]llama-server share[/] {mf.name} ({mf.path.name}), -np {args.parallel}, "
                  f"{args.requests} requests x max_tokens {args.max_tokens}, load average before: {load_before}")

    with LlamaServer(mf.path, parallel=args.parallel, ctx_size=args.parallel * args.ctx_per_slot,
                     concurrency=conc, alias=mf.name) as srv:
        cmd = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(srv.command()))
        console.print(f"  server: {cmd}")

        async def go() -> None:
            # warm-up: both clients, server caches and the page cache
            await raw_run(srv.base_url, mf.name, texts[: args.warmup], args.max_tokens, conc)
            await sovereval_run(srv.base_url, mf.name, texts[: args.warmup], args.max_tokens, conc,
                                tmp / "warmup.db", False)
            for rnd in range(args.rounds):
                order = ("raw", "sovereval") if rnd % 2 == 0 else ("sovereval", "raw")
                for kind in order:
                    if kind == "raw":
                        wall, tokens, cpu = await raw_run(srv.base_url, mf.name, texts, args.max_tokens, conc)
                    else:
                        wall, tokens, cpu = await sovereval_run(srv.base_url, mf.name, texts, args.max_tokens,
                                                                conc, tmp / f"ledger-{rnd}.db", args.progress)
                    run = Run(kind, rnd + 1, len(texts), wall, tokens, cpu)
                    runs.append(run)
                    console.print(f"  round {rnd + 1} {kind:<9} {run.tok_s:6.1f} tok/s  {run.req_s:5.2f} req/s  "
                                  f"{wall:6.1f} s  {tokens} tokens  client CPU {run.cpu_us_per_req:,.0f} µs/request")

        asyncio.run(go())
    load_after = loadavg()
    shutil.rmtree(tmp, ignore_errors=True)

    shares = []
    for rnd in range(1, args.rounds + 1):
        a = next(r for r in runs if r.round == rnd and r.kind == "raw")
        b = next(r for r in runs if r.round == rnd and r.kind == "sovereval")
        shares.append((rnd, b.tok_s / a.tok_s, b.req_s / a.req_s))
    med = {k: {f: statistics.median(getattr(r, f) for r in runs if r.kind == k)
               for f in ("tok_s", "req_s", "cpu_us_per_req")} for k in ("raw", "sovereval")}
    share_tok = statistics.median(s[1] for s in shares)
    share_req = statistics.median(s[2] for s in shares)

    table = Table(title=f"llama-server -np {args.parallel}, {mf.name}: raw client vs sovereval")
    for col in ("round", "client", "tok/s", "req/s", "wall s", "completion tokens", "client CPU µs/req"):
        table.add_column(col, justify="left" if col == "client" else "right")
    for r in runs:
        table.add_row(str(r.round), r.kind, f"{r.tok_s:.1f}", f"{r.req_s:.2f}", f"{r.wall_s:.1f}", str(r.tokens),
                      f"{r.cpu_us_per_req:,.0f}")
    console.print(table)
    console.print("shares per round (tokens/s, requests/s): "
                  + "; ".join(f"{rnd}: {st:.3f}, {sr:.3f}" for rnd, st, sr in shares))

    version = importlib.metadata.version("llama-cpp-python")
    record = build_record() or {}
    lines = [
        (f"## llama-server share (benchmarks/bench_llama_server_share.py) — {started:%Y-%m-%d}, "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"llama-server of llama-cpp-python {version}, {record.get('isa', 'unrecorded')} build"),
        "",
        (f"`.venv/bin/python benchmarks/bench_llama_server_share.py --requests {args.requests} --rounds {args.rounds}"
        f" --parallel {args.parallel} --max-tokens {args.max_tokens}`: {mf.path.name} (sha256 "
        f"{mf.sha256[:12]}…), `{cmd}`. The same {args.requests} short chat prompts (max_tokens "
        f"{args.max_tokens}, temperature 0) from (a) a minimal aiohttp loop with {conc} workers and (b) "
        f"sovereval's runner + OpenAIBackend + durable SQLite ledger (fresh file per round) at concurrency "
        f"{conc}; {args.warmup} warm-up requests each, then {args.rounds} rounds in alternating order. "
        f"Client and server share the 2 cores; 1-min load average {load_before} before, {load_after} after."),
        "",
        "| round | client | completion tok/s | req/s | wall s | completion tokens | client CPU µs/request |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(f"| {r.round} | {r.kind} | {r.tok_s:.1f} | {r.req_s:.2f} | {r.wall_s:.1f} | {r.tokens} | "
                     f"{r.cpu_us_per_req:,.0f} |")
    lines += [
        "",
        f"Medians: raw {med['raw']['tok_s']:.1f} tok/s, {med['raw']['req_s']:.2f} req/s; sovereval "
        f"{med['sovereval']['tok_s']:.1f} tok/s, {med['sovereval']['req_s']:.2f} req/s. Per-round shares "
        "(tokens/s): " + ", ".join(f"{st:.3f}" for _, st, _ in shares) + ".",
        "",
        (f"**Share of raw throughput (median of per-round ratios): {share_tok:.3f} in completion tokens/s, "
        f"{share_req:.3f} in requests/s** (goal ≥ {GOAL}: {'met' if share_tok >= GOAL else 'NOT met'}). "
        f"Client CPU: raw {med['raw']['cpu_us_per_req']:,.0f} µs/request, sovereval "
        f"{med['sovereval']['cpu_us_per_req']:,.0f} µs/request."),
    ]
    console.print("\n[bold]Markdown for BENCHMARKS.md:[/]\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
