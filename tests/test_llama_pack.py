"""The packed log-likelihood layout (pure) and its properties on the real embedded models."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from sovereval.bench.backends.llama_pack import groups, plan
from sovereval.bench.types import LoglikRequest

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


@pytest.mark.slow
@pytest.mark.parametrize("which", ["smollm2", "gemma"])
def test_an_option_scores_the_same_alone_in_any_order_and_after_any_request(which: str,
                                                                             request: pytest.FixtureRequest) -> None:
    """Default mode: each option's log-likelihood is that of its own fresh decode, whatever its sibling
    options, their order, or the requests before it (packing and kept prefixes only where exact)."""
    from sovereval.bench.backends.llama import LlamaBackend

    model = request.getfixturevalue(which)

    async def go() -> tuple[Any, ...]:
        b = LlamaBackend(model, n_ctx=512)
        try:
            whole = await b.loglikelihood(REQ)
            alone = [await b.loglikelihood(LoglikRequest(context=REQ.context, continuations=(c,)))
                     for c in REQ.continuations]
            await b.loglikelihood(LoglikRequest(context=REQ.context + " The", continuations=(" Sun", " Moon")))
            rev = await b.loglikelihood(LoglikRequest(context=REQ.context, continuations=REQ.continuations[::-1]))
            return whole, alone, rev, b.share_prefix, b.pack_exact
        finally:
            await b.aclose()

    whole, alone, rev, packed, exact = run(go())
    assert packed == exact  # the default packs exactly where the probe found packing exact
    assert list(whole.logprobs) == [a.logprobs[0] for a in alone]
    assert list(whole.logprobs) == list(rev.logprobs[::-1])
    assert whole.is_greedy == tuple(a.is_greedy[0] for a in alone)
    if which == "smollm2":
        assert packed  # Q4_1 + flash attention: packing is exact, so the fast path is the default


@pytest.mark.slow
def test_prompts_longer_than_a_ubatch_score_the_same_whatever_the_cuts(smollm2: Any) -> None:
    """n_batch 16: every evaluation spans several llama_decode pieces, cut at different places for the
    packed request, each option alone, and after a request that leaves a shared prefix in the cache."""
    from sovereval.bench.backends.llama import LlamaBackend

    long_ctx = "The following are questions about the solar system and its planets, answered briefly.\n" + REQ.context

    async def go() -> tuple[Any, ...]:
        small = LlamaBackend(smollm2, n_ctx=512, n_batch=16)
        big = LlamaBackend(smollm2, n_ctx=512, n_batch=512)
        try:
            await small.loglikelihood(LoglikRequest(context=long_ctx[:-8], continuations=(" Mars", " Venus")))
            packed = await small.loglikelihood(LoglikRequest(context=long_ctx, continuations=REQ.continuations))
            alone = [await small.loglikelihood(LoglikRequest(context=long_ctx, continuations=(c,)))
                     for c in REQ.continuations]
            one_piece = await big.loglikelihood(LoglikRequest(context=long_ctx, continuations=REQ.continuations))
            return packed, alone, one_piece, small._reuse
        finally:
            await small.aclose()
            await big.aclose()

    packed, alone, one_piece, reuse = run(go())
    assert reuse  # the kept-prefix path was taken for the second request
    assert list(packed.logprobs) == [a.logprobs[0] for a in alone] == list(one_piece.logprobs)


@pytest.mark.slow
def test_forced_packing_is_deterministic_where_not_exact(gemma: Any) -> None:
    from sovereval.bench.backends.llama import LlamaBackend

    async def go() -> tuple[Any, ...]:
        b = LlamaBackend(gemma, n_ctx=512, share_prefix=True)
        alone = LlamaBackend(gemma, n_ctx=512, share_prefix=False)
        try:
            first = await b.loglikelihood(REQ)
            await b.loglikelihood(LoglikRequest(context=REQ.context + " The", continuations=(" Sun", " Moon")))
            again = await b.loglikelihood(REQ)
            ref = await alone.loglikelihood(REQ)
            return first, again, ref, b.endpoint, alone.endpoint
        finally:
            await b.aclose()
            await alone.aclose()

    first, again, ref, endpoint, alone_endpoint = run(go())
    assert first == again  # a kept prefix is not trusted where packing is not exact
    assert np.allclose(first.logprobs, ref.logprobs, atol=0.2)  # kernel-shape level, not a different answer
    assert endpoint != alone_endpoint and endpoint.endswith("+packed")  # cached apart in the ledger


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_items_sharing_a_fewshot_preamble_are_sent_together() -> None:
    from sovereval.bench.catalog import CATALOG
    from sovereval.bench.evaluate import dispatch_order
    from sovereval.bench.spec import Item

    subjects = ["law", "math", "law", "art", "math", "law"]
    items = [Item(id=str(i), fields={"subject": s}) for i, s in enumerate(subjects)]
    order = dispatch_order(CATALOG["mmlu"], items)
    assert [subjects[i] for i in order] == ["art", "law", "law", "law", "math", "math"]
    assert [i for i in order if subjects[i] == "law"] == [0, 2, 5]  # stable within a subject
    assert dispatch_order(CATALOG["arc-easy"], items) == list(range(6))  # zero-shot: item order
