"""Pairwise comparison: which of two models' answers is better, asked in both orders.

MT-Bench (FastChat ``play_a_match_pair`` / ``show_result --mode pairwise``): the judge sees the two
answers as assistant A and B, once in each order (``g1``: model a shown as A; ``g2``: model b shown as A,
its verdict mapped back).  The outcome:

* the same winner in both orders -> that winner;
* a tie in both orders -> tie;
* different verdicts (the judge followed the position, not the content) -> **tie**: the position bias
  cancels;
* an unusable verdict in either order (unparseable / ambiguous) -> ``error``, left out of win rates, as
  FastChat drops rows with an ``error`` winner.

Prompts: KoMT-Bench's Korean ``pair-v2`` (turn 1) and ``pair-v2-multi-turn`` (turn 2), and the
``pair-math-v1`` forms with the reference answers for math, reasoning and coding.  LogicKor has no
pairwise prompt of its own; its items are compared with KoMT-Bench's general Korean pair prompts (no
references).  Verdicts are read from ``[[A]]``, ``[[B]]``, ``[[C]]`` (tie).

Both models' answers come from :func:`~sovereval.bench.judge.common.model_turns`, the same requests single
grading sends, so models already evaluated are compared from the ledger (a replay caller suffices).
The comparison does not feed the programme sheet; it is a tool for head-to-head reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from sovereval.bench.judge.common import ask_judge, model_turns, references, settings, tail
from sovereval.bench.judge.common import questions as turn_questions
from sovereval.bench.judge.parse import Judgement, parse_verdict
from sovereval.bench.judge.prompts import KOMT_BENCH, JudgePrompt
from sovereval.bench.session import Caller
from sovereval.bench.spec import BenchmarkDecl, Item
from sovereval.bench.types import Message
from sovereval.program.spec import Frozen

Outcome = Literal["A", "B", "tie", "error"]
_SWAP: dict[str, Outcome] = {"A": "B", "B": "A", "tie": "tie"}


class PairwiseResult(Frozen):
    """One item and turn, judged in both orders.  ``A`` is ``answer_a`` (model a), ``B`` is model b."""

    benchmark: str
    item_id: str
    turn: int
    winner: Outcome
    #: the verdict with model a shown first, and the one with model b shown first (mapped back to a/b)
    first: Outcome
    second: Outcome
    #: both orders agreed (None when either is an error)
    consistent: bool | None
    judge: str
    judge_prompt: str
    judge_prompts_sha256: str
    judge_keys: tuple[str, str]
    detail: dict[str, Any] = Field(default_factory=dict)


def combine(first: Outcome, second: Outcome) -> tuple[Outcome, bool | None]:
    """MT-Bench's rule: agree -> that outcome; disagree -> tie; an error in either -> error."""
    if first == "error" or second == "error":
        return "error", None
    if first == second:
        return first, True
    return "tie", False


def _outcome(j: Judgement) -> Outcome:
    return j.value if j.ok else "error"  # type: ignore[return-value]


def pair_messages(decl: BenchmarkDecl, item: Item, turn: int, answer_a: Sequence[str], answer_b: Sequence[str],
                  ) -> tuple[JudgePrompt, tuple[Message, ...]]:
    """The judge prompt for ``turn`` with ``answer_a`` shown as assistant A and ``answer_b`` as B."""
    s = settings(decl)
    if s.protocol not in ("komt-bench", "logickor"):
        raise ValueError(f"{decl.id}: pairwise comparison is defined for KoMT-Bench and LogicKor items, not "
                         f"protocol {s.protocol!r}")
    if turn not in (1, 2):
        raise ValueError(f"{decl.id}: turn must be 1 or 2, not {turn}")
    q = turn_questions(decl, item, s)
    refs = references(decl, item, s) if s.protocol == "komt-bench" else (None, None)
    with_ref = refs[0] is not None
    name = {(1, False): "pair-v2", (1, True): "pair-math-v1", (2, False): "pair-v2-multi-turn",
            (2, True): "pair-math-v1-multi-turn"}[(turn, with_ref)]
    prompt = KOMT_BENCH.get(name)
    values = {"question": q[0], "answer_a": answer_a[0], "answer_b": answer_b[0], "question_1": q[0],
              "question_2": q[1], "answer_a_1": answer_a[0], "answer_b_1": answer_b[0]}
    if turn == 2:
        values |= {"answer_a_2": answer_a[1], "answer_b_2": answer_b[1]}
    if with_ref:
        values |= {"ref_answer_1": refs[0] or "", "ref_answer_2": refs[1] or ""}
    return prompt, prompt.messages(**values)


async def compare(decl: BenchmarkDecl, item: Item, answer_a: Sequence[str], answer_b: Sequence[str],
                  judge: Caller, *, turn: int = 1) -> PairwiseResult:
    """Judge ``answer_a`` against ``answer_b`` (per-turn answers) on ``turn``, in both orders."""
    s = settings(decl)
    prompt, ab = pair_messages(decl, item, turn, answer_a, answer_b)
    _, ba = pair_messages(decl, item, turn, answer_b, answer_a)
    (t1, k1), (t2, k2) = await asyncio.gather(ask_judge(judge, ab, s), ask_judge(judge, ba, s))
    j1, j2 = parse_verdict(t1), parse_verdict(t2)
    first = _outcome(j1)
    second = _outcome(j2)
    second = _SWAP.get(second, second)  # b was shown as A: map back
    winner, consistent = combine(first, second)
    detail = {"orders": [
        {"shown_first": "a", "status": j1.status, "rule": j1.rule, "candidates": list(j1.candidates),
         "judge_output_tail": tail(t1)},
        {"shown_first": "b", "status": j2.status, "rule": j2.rule, "candidates": list(j2.candidates),
         "judge_output_tail": tail(t2)},
    ]}
    return PairwiseResult(benchmark=decl.id, item_id=item.id, turn=turn, winner=winner, first=first, second=second,
                          consistent=consistent, judge=judge.model_key, judge_prompt=prompt.name,
                          judge_prompts_sha256=KOMT_BENCH.sha256, judge_keys=(k1, k2), detail=detail)


class PairwiseSummary(Frozen):
    """Model a against model b over items and turns (errors excluded from the rates, as FastChat does)."""

    benchmark: str
    model_a: str
    model_b: str
    judge: str
    results: tuple[PairwiseResult, ...]
    wins: int  # model a
    losses: int
    ties: int
    errors: int
    inconsistent: int  # ties that come from the two orders disagreeing

    @property
    def judged(self) -> int:
        return self.wins + self.losses + self.ties

    @property
    def win_rate(self) -> float | None:
        """FastChat ``win_rate``: wins / (wins + losses + ties)."""
        return self.wins / self.judged if self.judged else None

    @property
    def win_rate_adjusted(self) -> float | None:
        """FastChat ``win_rate_adjusted``: (wins + ties / 2) / (wins + losses + ties)."""
        return (self.wins + 0.5 * self.ties) / self.judged if self.judged else None


def summarise(decl: BenchmarkDecl, results: Sequence[PairwiseResult], model_a: str, model_b: str,
              judge: str) -> PairwiseSummary:
    return PairwiseSummary(
        benchmark=decl.id, model_a=model_a, model_b=model_b, judge=judge, results=tuple(results),
        wins=sum(r.winner == "A" for r in results), losses=sum(r.winner == "B" for r in results),
        ties=sum(r.winner == "tie" for r in results), errors=sum(r.winner == "error" for r in results),
        inconsistent=sum(r.consistent is False for r in results))


async def run_pairwise(decl: BenchmarkDecl, items: Sequence[Item], model_a: Caller, model_b: Caller,
                       judge: Caller, *, turns: Sequence[int] = (1, 2)) -> PairwiseSummary:
    """Both models' answers (from the ledger where recorded; ``Caller`` without backend: ledger only), then
    :func:`compare` on every item and turn."""
    results: list[PairwiseResult] = []
    for item in items:
        a = await model_turns(decl, item, model_a)
        b = await model_turns(decl, item, model_b)
        for turn in turns:
            results.append(await compare(decl, item, a, b, judge, turn=turn))
    return summarise(decl, results, model_a.model_key, model_b.model_key, judge.model_key)
