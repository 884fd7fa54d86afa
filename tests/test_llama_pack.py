"""The packed log-likelihood layout (pure) and its properties on the real embedded models."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import numpy as np
import pytest

from sovereval.bench.backends.llama_pack import groups, plan
from sovereval.bench.types import LoglikRequest, Message

CTX = [1, 2, 3, 4, 5]


def _check_causal(p: Any, wholes: list[list[int]], splits: list[int]) -> None:
    """Every continuation sees exactly its own tokens: the prefix (cached or in the batch, tagged with
    every sequence) then its own tokens at consecutive positions; every read row is an output row and
    predicts the right token."""
    for i, (w, s) in enumerate(zip(wholes, splits, strict=True)):
        seen = list(p.prefix[: p.reuse])
        pos = list(range(p.reuse))
        for b, (t, q, seqs) in enumerate(zip(p.tokens, p.positions, p.seqs, strict=True)):
            if i in seqs:
                seen.append(t)
                pos.append(q)
                if b in p.rows[i]:
                    assert p.outputs[b]
        assert pos == list(range(len(w) - 1)), (i, pos)
        assert seen == w[:-1], (i, seen)
        # row j predicts w[s + j]: it sits at position s - 1 + j
        assert [p.positions[b] for b in p.rows[i]] == list(range(s - 1, len(w) - 1))


def test_options_share_the_prefix_once() -> None:
    wholes = [CTX + [10, 11], CTX + [20], CTX + [30, 31, 32]]
    splits = [5, 5, 5]
    p = plan(wholes, splits)
    _check_causal(p, wholes, splits)
    assert p.reuse == 0 and p.tokens[:5] == tuple(CTX) and p.seqs[0] == (0, 1, 2)
    assert len(p.tokens) == 5 + 1 + 0 + 2  # each option's last token is never evaluated
    assert p.rows[1] == (4,)  # a one-token option reads the shared last prefix row
    assert sum(p.outputs) == 4  # the shared last prefix row once, then 1 + 2 own rows
    assert not any(p.outputs[:4])  # no logits for context rows nobody reads


def test_boundary_merge_and_differing_splits() -> None:
    # option 1's joint tokenization merged the last context token (5 -> 50): its split is 4, not 5
    wholes = [CTX + [10], [1, 2, 3, 4, 50, 51]]
    splits = [5, 4]
    p = plan(wholes, splits)
    _check_causal(p, wholes, splits)
    assert p.prefix == (1, 2, 3, 4)


def test_a_kept_prefix_is_reused_but_never_its_last_two_tokens() -> None:
    wholes = [CTX + [10], CTX + [20]]
    p = plan(wholes, [5, 5], cached=CTX + [99])
    _check_causal(p, wholes, [5, 5])
    assert p.reuse == 3 and len(p.tokens) == 2  # positions 3 and 4: never a one-token batch
    assert sum(p.outputs) >= 2  # never a single output row
    assert plan(wholes, [5, 5], cached=[1, 2, 9]).reuse == 2
    assert plan(wholes, [5, 5], cached=[7]).reuse == 0


def test_at_least_two_output_rows() -> None:
    p = plan([CTX + [10]], [5])
    assert sum(p.outputs) == 2 and p.rows == ((4,),)


@pytest.mark.parametrize("ubatch", [3, 4, 5, 7, 512])
def test_pieces_never_have_one_token_or_one_output_row(ubatch: int) -> None:
    """llama.cpp computes a decode one ubatch at a time; a one-token piece or a piece with one output row
    would take other kernels, so the plan cuts its own pieces and pads their outputs."""
    rng = np.random.default_rng(ubatch)
    for _ in range(200):
        ctx = list(rng.integers(1, 50, rng.integers(1, 12)))
        wholes = [ctx + list(rng.integers(50, 99, rng.integers(1, 6))) for _ in range(rng.integers(1, 5))]
        splits = [len(ctx)] * len(wholes)
        cached = ctx[: rng.integers(0, len(ctx) + 1)]
        p = plan(wholes, splits, cached=cached, ubatch=ubatch)
        _check_causal(p, wholes, splits)
        bounds = list(zip((0, *p.cuts), (*p.cuts, len(p.tokens)), strict=True))
        assert all(0 < b - a <= ubatch for a, b in bounds)
        if len(p.tokens) > 1:
            assert all(b - a >= 2 for a, b in bounds)
            assert all(sum(p.outputs[a:b]) != 1 for a, b in bounds)


@pytest.mark.parametrize("bad", [([CTX + [1]], [0]), ([CTX], [5]), ([CTX + [1]], [5, 5]), ([], [])])
def test_bad_plans_are_refused(bad: tuple[list[list[int]], list[int]]) -> None:
    with pytest.raises(ValueError):
        plan(*bad)


def test_groups_fit_sequences_and_cells() -> None:
    wholes = [CTX + [i, i] for i in range(10, 15)]
    splits = [5] * 5
    assert groups(wholes, splits, max_seqs=64, max_cells=100, pack=True) == [[0, 1, 2, 3, 4]]
    assert groups(wholes, splits, max_seqs=2, max_cells=100, pack=True) == [[0, 1], [2, 3], [4]]
    assert groups(wholes, splits, max_seqs=64, max_cells=7, pack=True) == [[0, 1], [2, 3], [4]]
    assert groups(wholes, splits, max_seqs=64, max_cells=100, pack=False) == [[i] for i in range(5)]


# ------------------------------------------------------------------------------------------------
# Real models (slow): the properties the backend promises.
# ------------------------------------------------------------------------------------------------

REQ = LoglikRequest(context="Question: Which planet is closest to the Sun?\nAnswer:",
                    continuations=(" Mercury", " Venus", " the Earth, of course", " Mars"))
# English, Korean (byte-level, long continuations in SmolLM2's tokens: where packing is not exact) and chat
SET = (
    REQ,
    LoglikRequest(context="질문: 대한민국의 수도는 어디입니까?\n답:", continuations=(" 서울", " 부산", " 평양입니다", " 도쿄")),
    LoglikRequest(context="Question: What is 13 + 14?\nAnswer:", continuations=(" 27", " 28", " twenty-seven", " 1")),
    LoglikRequest(context="The following are questions about the solar system and its planets, answered briefly.\n"
                          + REQ.context, continuations=REQ.continuations),
)
CHAT = LoglikRequest(messages=(Message(role="user", content="Which planet is closest to the Sun? Answer in one word."),),
                     continuations=("Mercury", "Venus", "The Earth", "Mars"))


def _direct(model_path: Any, wholes: list[list[int]], splits: list[int], flash_attn: bool,
            n_batch: int = 512) -> list[float]:
    """llama-cpp-python's own computation: ``Llama(logits_all=True)``, one ``eval`` per option, same ids."""
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(model_path), n_ctx=512, n_batch=n_batch, n_threads=os.cpu_count() or 1,
                          logits_all=True, flash_attn=flash_attn, verbose=False)
    try:
        out = []
        for w, s in zip(wholes, splits, strict=True):
            llm.reset()
            llm.eval(w)
            rows = np.asarray(llm.scores[s - 1: len(w) - 1], dtype=np.float64)
            m = rows.max(axis=1, keepdims=True)
            lse = m[:, 0] + np.log(np.exp(rows - m).sum(axis=1))
            out.append(float((rows[np.arange(len(rows)), w[s:]] - lse).sum()))
        return out
    finally:
        llm.close()


@pytest.mark.slow
@pytest.mark.parametrize("which", ["smollm2", "gemma"])
@pytest.mark.parametrize("flash_attn", [False, True])
def test_one_option_and_prefix_paths_equal_direct_llama_cpp_python(which: str, flash_attn: bool,
                                                                   request: pytest.FixtureRequest) -> None:
    """solo (each option its own evaluation) gives llama-cpp-python's own numbers for the same token ids
    (<= 1e-4; measured: identical); prefix (the default: the context once, each option on it) too, bit for
    bit, where the kernels are row-independent (SmolLM2)."""
    from sovereval.bench.backends.llama import LlamaBackend

    model = request.getfixturevalue(which)
    reqs = SET if which == "smollm2" else SET + (LoglikRequest(context="1, 2, 3, 4,", continuations=(" 5", " 6")),)

    async def go(mode: str) -> tuple[list[Any], list[Any]]:
        b = LlamaBackend(model, n_ctx=512, loglik_mode=mode, flash_attn=flash_attn)  # type: ignore[arg-type]
        try:
            got = [await b.loglikelihood(r) for r in reqs]
            return got, [b._tokens(r)[:2] for r in reqs]
        finally:
            await b.aclose()

    solo, toks = run(go("solo"))
    for g, (wholes, splits) in zip(solo, toks, strict=True):
        ref = _direct(model.path, wholes, splits, flash_attn)
        assert np.max(np.abs(np.array(g.logprobs) - ref)) <= 1e-4, (g.logprobs, ref)
    prefix, toks2 = run(go("prefix"))
    assert toks2 == toks
    if which == "smollm2" and not flash_attn:  # row-independent kernels (Q4_1, non-flash attention): sharing
        # the context changes no bit (also measured on 96 options of real items, benchmarks/bench_loglik_accuracy.py)
        assert [g.logprobs for g in prefix] == [g.logprobs for g in solo]
    else:  # Gemma's matmuls and the flash-attention kernel depend on the batch shape (cut-dependent even within
        # one option): not bit-exact, the same kind of difference as two cuts of one evaluation (BENCHMARKS.md)
        diff = max(abs(a - b) for p, s in zip(prefix, solo, strict=True) for a, b in zip(p.logprobs, s.logprobs))
        assert diff < 0.5


@pytest.mark.slow
@pytest.mark.parametrize("which", ["smollm2", "gemma"])
def test_shuffled_orders_give_bit_identical_results(which: str, request: pytest.FixtureRequest) -> None:
    """Whatever came before and whatever else is in the run: every request starts from an empty cache."""
    import random

    from sovereval.bench.backends.llama import LlamaBackend

    model = request.getfixturevalue(which)
    reqs = list(SET) + ([CHAT] if which == "smollm2" else [])
    # each option alone, and the options in reverse: an option's number does not depend on its siblings
    singles = [LoglikRequest(context=r.context, messages=r.messages, continuations=(c,))
               for r in reqs for c in r.continuations]

    async def go(order: list[int]) -> list[Any]:
        b = LlamaBackend(model, n_ctx=512)
        try:
            allreq = reqs + singles
            out: dict[int, Any] = {}
            for i in order:
                out[i] = await b.loglikelihood(allreq[i])
            return [out[i] for i in range(len(allreq))]
        finally:
            await b.aclose()

    n = len(reqs) + len(singles)
    base = run(go(list(range(n))))
    rng = random.Random(7)
    for _ in range(2):
        order = list(range(n))
        rng.shuffle(order)
        assert run(go(order)) == base
    flat = [lp for r in base[: len(reqs)] for lp in r.logprobs]
    assert flat == [s.logprobs[0] for s in base[len(reqs):]]


@pytest.mark.slow
def test_chat_contexts_parse_the_templates_special_tokens_and_plain_ones_do_not(smollm2: Any) -> None:
    import llama_cpp

    from sovereval.bench.backends.llama import LlamaBackend

    tok = llama_cpp.Llama(model_path=str(smollm2.path), vocab_only=True, verbose=False)
    try:
        im_start = tok.tokenize(b"<|im_start|>", add_bos=False, special=True)
        assert len(im_start) == 1  # one special token in the template's vocabulary
        b = LlamaBackend(smollm2, n_ctx=512)
        try:
            wholes, splits, ctx = b._tokens(CHAT)
            prompt = b._chat_prompt(CHAT.messages)
        finally:
            run(b.aclose())
        assert prompt.startswith("<|im_start|>") and prompt.endswith("<|im_start|>assistant\n")
        assert ctx == tok.tokenize(prompt.encode(), add_bos=False, special=True)  # the template's token ids
        assert ctx.count(im_start[0]) == 3  # system (the template's default), user, assistant
        assert all(w[:s] == ctx for w, s in zip(wholes, splits, strict=True))
        plain = LoglikRequest(context=prompt.rstrip("\n"), continuations=(" Mercury",))
        b = LlamaBackend(smollm2, n_ctx=512)
        try:
            _, _, pctx = b._tokens(plain)
        finally:
            run(b.aclose())
        assert im_start[0] not in pctx  # a plain context is text: "<|im_start|>" is characters there
    finally:
        tok.close()


@pytest.mark.slow
def test_packed_mode_is_deterministic_and_cached_apart(smollm2: Any) -> None:
    """packed (every option in one batch) is not exact — options' cells interleave in the KV buffer — so it is
    never the default; it is still order-independent and its endpoint keeps its results apart."""
    from sovereval.bench.backends.llama import LlamaBackend

    async def go() -> tuple[Any, ...]:
        b = LlamaBackend(smollm2, n_ctx=512, loglik_mode="packed")
        solo = LlamaBackend(smollm2, n_ctx=512, loglik_mode="solo")
        default = LlamaBackend(smollm2, n_ctx=512)
        try:
            first = [await b.loglikelihood(r) for r in SET]
            again = [await b.loglikelihood(r) for r in SET[::-1]][::-1]
            ref = [await solo.loglikelihood(r) for r in SET]
            return first, again, ref, b.endpoint, solo.endpoint, default.endpoint
        finally:
            for x in (b, solo, default):
                await x.aclose()

    first, again, ref, endpoint, solo_endpoint, default_endpoint = run(go())
    assert first == again
    for f, r in zip(first, ref, strict=True):
        assert np.allclose(f.logprobs, r.logprobs, atol=0.5)  # kernel-level, not a different answer
    assert len({endpoint, solo_endpoint, default_endpoint}) == 3 and "-packed-b512" in endpoint


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_items_sharing_a_fewshot_preamble_are_sent_together() -> None:
    from sovereval.bench.catalog import build
    from sovereval.bench.evaluate import dispatch_order
    from sovereval.bench.spec import Item

    subjects = ["law", "math", "law", "art", "math", "law"]
    items = [Item(id=str(i), fields={"subject": s}) for i, s in enumerate(subjects)]
    order = dispatch_order(build().benchmarks["mmlu"], items)
    assert [subjects[i] for i in order] == ["art", "law", "law", "law", "math", "math"]
    assert [i for i in order if subjects[i] == "law"] == [0, 2, 5]  # stable within a subject
    assert dispatch_order(build().benchmarks["arc-easy"], items) == list(range(6))  # zero-shot: item order
