"""How close each embedded log-likelihood path comes to a float32 computation of the same GGUF.

For each model, on real items — English (ARC-Easy), Korean (KoBEST COPA and CLIcK) and, where the model
has a chat template, the same ARC questions as chat-format requests — every option's log-likelihood is
computed by (items longer than 768 tokens in the model's tokenizer are left out):

* ``reference``: :mod:`sovereval.bench.backends.reference` (weights dequantised to float32, float32
  activations and attention: no 8-bit activations, no f16 K/V);
* the embedded backend in each ``loglik_mode`` (``solo``: each option its own evaluation; ``prefix``: the
  context once, each option on it; ``packed``: every option in one batch) with each attention kernel
  (``flash_attn`` off / on).

Reported per path: mean and max |Δ| to the reference (nat per option), the share of questions whose
argmax (the chosen answer) differs from the reference's, and |Δ| to ``solo`` with the same kernel.  A
speed-up (``prefix``, ``packed``) is kept as a default only where it is as close to float32 as ``solo``;
the kernel closer to float32 is the default.

    .venv/bin/python benchmarks/bench_loglik_accuracy.py [--n 12] [--models smollm2-135m-instruct gemma3-270m]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from typing import Any

import numpy as np

from sovereval.bench.backends.llama import LlamaBackend
from sovereval.bench.backends.reference import ReferenceModel, continuation_logprobs
from sovereval.bench.catalog import build
from sovereval.bench.data import find_data_root
from sovereval.bench.evaluate import items_for, requests_for
from sovereval.bench.spec import Limit
from sovereval.bench.types import LoglikRequest, Message

SETS = (("en", "arc-easy"), ("ko", "kobest-copa"), ("ko", "click"))
MAX_TOKENS = 768
PATHS = [(mode, fa) for fa in (False, True) for mode in ("solo", "prefix", "packed")]


def requests(n: int, chat: bool) -> list[tuple[str, LoglikRequest]]:
    root = find_data_root()
    if root is None:
        raise SystemExit("needs ../shared/benchmarks or $SOVEREVAL_BENCH_DATA")
    out: list[tuple[str, LoglikRequest]] = []
    for lang, bench in SETS:
        decl = build().benchmarks[bench]
        items = items_for(decl, root, Limit(n=n, seed=0))
        out += [(f"{lang}:{bench}", r) for r in requests_for(decl, items, root) if isinstance(r, LoglikRequest)]
    if chat:  # the English questions again, as a user turn; the options start the assistant's answer
        out += [("chat:arc-easy", LoglikRequest(messages=(Message(role="user", content=r.context.strip()),),
                                                continuations=tuple(c.strip() for c in r.continuations)))
                for tag, r in out if tag == "en:arc-easy"]
    return out


async def embedded(model: str, mode: str, fa: bool, reqs: list[LoglikRequest]) -> tuple[list[Any], list[Any], float]:
    b = LlamaBackend(model, n_ctx=2048, loglik_mode=mode, flash_attn=fa)  # type: ignore[arg-type]
    try:
        await b.load()
        t = time.perf_counter()
        got = [await b.loglikelihood(r) for r in reqs]
        dt = time.perf_counter() - t
        return [g.logprobs for g in got], [b._tokens(r)[:2] for r in reqs], dt
    finally:
        await b.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=12, help="items per benchmark")
    ap.add_argument("--models", nargs="+", default=["smollm2-135m-instruct", "gemma3-270m"])
    a = ap.parse_args()
    print(f"# {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores; n={a.n} items per set")
    print("| model | path | questions | options | mean abs Δ vs float32 (nat) | max abs Δ | answer ≠ float32's "
          "| max abs Δ vs solo | s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for model in a.models:
        probe = LlamaBackend(model, n_ctx=8192)
        chat = probe.has_chat_template
        tagged = [(t, r) for t, r in requests(a.n, chat)  # the reference is O(n^2) in numpy: short items only
                  if max(len(w) for w in probe._tokens(r)[0]) <= MAX_TOKENS]
        asyncio.run(probe.aclose())
        reqs = [r for _, r in tagged]
        results = {p: asyncio.run(embedded(model, p[0], p[1], reqs)) for p in PATHS}
        tokens = results[("solo", False)][1]
        ref_model = ReferenceModel.load(probe.model.path)
        ref = [[float(continuation_logprobs(ref_model, w, s).sum()) for w, s in zip(ws, ss, strict=True)]
               for ws, ss in tokens]
        ref_pick = [int(np.argmax(r)) for r in ref]
        for mode, fa in PATHS:
            lps, toks, dt = results[(mode, fa)]
            assert toks == tokens  # the same token ids on every path
            solo = results[("solo", fa)][0]
            d = np.concatenate([np.abs(np.subtract(x, y)) for x, y in zip(lps, ref, strict=True)])
            ds = np.concatenate([np.abs(np.subtract(x, y)) for x, y in zip(lps, solo, strict=True)])
            flips = sum(int(np.argmax(x)) != p for x, p in zip(lps, ref_pick, strict=True))
            name = f"{mode}{' + flash attention' if fa else ''}"
            print(f"| {model} | {name} | {len(reqs)} | {d.size} | {d.mean():.4f} | {d.max():.3f} | "
                  f"{flips}/{len(reqs)} | {ds.max():.3g} | {dt:.1f} |", flush=True)
        by = sorted({t for t, _ in tagged})
        for tag in by:
            idx = [i for i, (t, _) in enumerate(tagged) if t == tag]
            for mode, fa in (("solo", False), ("solo", True), ("prefix", False)):
                lps = results[(mode, fa)][0]
                d = np.concatenate([np.abs(np.subtract(lps[i], ref[i])) for i in idx])
                print(f"|   {tag} | {mode}{' + fa' if fa else ''} | {len(idx)} | {d.size} | {d.mean():.4f} | "
                      f"{d.max():.3f} | | | |")


if __name__ == "__main__":
    main()
