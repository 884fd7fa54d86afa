"""Single-answer grading of two-turn items: KoMT-Bench and LogicKor.

Per item: the model answers turn 1, then turn 2 with turn 1 in its context; the judge grades each turn
(turn 2 with the whole conversation in view), as both originals do.

KoMT-Bench (FastChat ``gen_judgment --mode single``): turn 1 with ``single-v1``, turn 2 with
``single-v1-multi-turn``; the math, reasoning and coding categories use the ``single-math-v1`` forms with
the GPT-4 reference answers.  Grades are read from ``[[n]]`` on 1–10.  Then the square-root penalty for
turns not answered in Korean (:mod:`sovereval.bench.judge.korean`).

LogicKor (``evaluator.py``): turn 1 with the ``single_turn`` judge prompt (question, reference if any,
answer), turn 2 with the ``multi_turn`` prompt (both turns).  Grades are read from ``점수: n`` on 0–10
(the judge is told to give 0 to an answer not in Korean — LogicKor's own language rule).

Item value = the mean of the item's usable turn grades / 10, in [0, 1]; so the benchmark mean × 10 is
the originals' headline number (KoMT-Bench: mean over turns of the penalised grades; LogicKor: the mean
of the single- and multi-turn averages, which is the same when every turn is graded).  The raw grades,
the penalty, the language check, the parse rule and the judge's identity and prompt hash are in the
Score's detail.

Unusable judgements (unparseable / ambiguous / out of range): FastChat records ``-1`` and its
``show_result`` drops those rows; LogicKor retries the judge and then scores 0.  Here, with
``unparseable = "exclude"`` (default), an unusable turn is left out of the item's mean, and an item with no
usable turn raises :class:`~sovereval.bench.judge.common.JudgeUnscorable` — it has no score and is
listed among the run's failures with the reason; with ``"lowest"`` the turn counts as the lowest grade
(KoMT-Bench 1, LogicKor 0), flagged in detail.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from sovereval.bench.judge.common import JudgeUnscorable, ask_judge, model_turns, references, settings, tail
from sovereval.bench.judge.common import questions as turn_questions
from sovereval.bench.judge.korean import komt_penalty
from sovereval.bench.judge.parse import Judgement, parse_grade
from sovereval.bench.judge.prompts import KOMT_BENCH, LOGICKOR, PROMPT_SETS, JudgePrompt
from sovereval.bench.scorers.base import Score
from sovereval.bench.session import EpisodeContext
from sovereval.bench.spec import BenchmarkDecl, Item
from sovereval.bench.types import Message

SCALES: dict[str, tuple[float, float]] = {"komt-bench": (1.0, 10.0), "logickor": (0.0, 10.0)}


def komt_judge_messages(item: Item, turn: int, q: tuple[str, str], a: tuple[str, str],
                        refs: tuple[str | None, str | None]) -> tuple[JudgePrompt, tuple[Message, ...]]:
    """FastChat ``run_judge_single``: the prompt for ``turn`` (1 or 2) and its filled-in messages."""
    with_ref = refs[0] is not None
    name = {(1, False): "single-v1", (1, True): "single-math-v1", (2, False): "single-v1-multi-turn",
            (2, True): "single-math-v1-multi-turn"}[(turn, with_ref)]
    prompt = KOMT_BENCH.get(name)
    values = {"question": q[0], "answer": a[0], "question_1": q[0], "question_2": q[1], "answer_1": a[0],
              "answer_2": a[1]}
    if with_ref:
        if turn == 2 and refs[1] is None:
            raise ValueError(f"komt-bench item {item.id!r}: a reference answer for turn 2 is missing")
        values |= {"ref_answer_1": refs[0] or "", "ref_answer_2": refs[1] or ""}
    return prompt, prompt.messages(**values)


def logickor_judge_messages(turn: int, q: tuple[str, str], a: tuple[str, str],
                            refs: tuple[str | None, str | None]) -> tuple[JudgePrompt, tuple[Message, ...]]:
    """LogicKor ``create_answers``: the prompt for ``turn`` (1 or 2) and its filled-in messages."""
    fragment = LOGICKOR.fragments["reference"]
    ref_text = [fragment.format(reference=r) if r else "" for r in refs]
    prompt = LOGICKOR.get("logickor-single-turn" if turn == 1 else "logickor-multi-turn")
    return prompt, prompt.messages(question_1=q[0], answer_1=a[0], reference_1=ref_text[0], question_2=q[1],
                                   answer_2=a[1], reference_2=ref_text[1])


def _turn_detail(turn: int, prompt: JudgePrompt, key: str, text: str, j: Judgement) -> dict[str, Any]:
    return {"turn": turn, "judge_prompt": prompt.name, "judge_key": key, "status": j.status, "rule": j.rule,
            "candidates": list(j.candidates), "grade_raw": j.value, "judge_output_tail": tail(text)}


async def grade_two_turns(decl: BenchmarkDecl, item: Item, ctx: EpisodeContext) -> Score:
    """The episode for ``komt-bench`` and ``logickor`` (dispatched on ``scorer.params.protocol``)."""
    s = settings(decl)
    if s.protocol not in SCALES:
        raise ValueError(f"{decl.id}: grade_two_turns does not run protocol {s.protocol!r}")
    judge = ctx.need_judge(decl.id)
    q = turn_questions(decl, item, s)
    refs = references(decl, item, s)
    a: tuple[str, str] = await model_turns(decl, item, ctx.model)  # type: ignore[assignment]

    if s.protocol == "komt-bench":
        calls = [komt_judge_messages(item, t, q, a, refs) for t in (1, 2)]
    else:
        calls = [logickor_judge_messages(t, q, a, refs) for t in (1, 2)]
    outputs = await asyncio.gather(*(ask_judge(judge, msgs, s) for _, msgs in calls))

    lo, hi = SCALES[s.protocol]
    prefer: Literal["brackets", "label"] = "brackets" if s.protocol == "komt-bench" else "label"
    turns: list[dict[str, Any]] = []
    grades: list[float] = []
    for turn, ((prompt, _), (text, key)) in enumerate(zip(calls, outputs, strict=True), start=1):
        j = parse_grade(text, scale=(lo, hi), prefer=prefer)
        d = _turn_detail(turn, prompt, key, text, j)
        if j.ok:
            grade = float(j.value)  # type: ignore[arg-type]
            if s.protocol == "komt-bench" and s.korean_penalty == "sqrt":
                grade, lang, applied = komt_penalty(grade, a[turn - 1], _qid(item), min_share=s.korean_min_share,
                                                    exempt=s.penalty_exempt)
                d |= {"language": lang.model_dump(), "penalised": applied}
            d["grade"] = grade
            grades.append(grade)
        elif s.unparseable == "lowest":
            d |= {"grade": lo, "counted_as_lowest": True}
            grades.append(lo)
        else:
            d["grade"] = None
        turns.append(d)

    if not grades:
        why = "; ".join(f"turn {t['turn']}: {t['status']}" + (f" {t['candidates']}" if t["candidates"] else "")
                        for t in turns)
        raise JudgeUnscorable(f"{decl.id} item {item.id}: no usable judgement ({why}); judge {judge.model_key}; "
                              f"not scored (unparseable policy 'exclude': neither 0 nor any grade is assumed); "
                              f"the judge outputs are in the ledger under {[t['judge_key'][:12] for t in turns]}")
    value = sum(grades) / len(grades) / 10.0
    detail = {
        "protocol": s.protocol, "judge": judge.model_key, "judge_endpoint": judge.endpoint,
        "judge_prompts_sha256": PROMPT_SETS[s.protocol].sha256, "scale": [lo, hi],
        "value_rule": "mean of the usable turn grades / 10", "unparseable_policy": s.unparseable,
        "usable_turns": sum(t["status"] == "ok" for t in turns), "category": item.fields.get("category"),
        "turns": turns,
    }
    extracted = ",".join(f"{t['grade']:g}" if t["grade"] is not None else "?" for t in turns)
    return Score(value=min(1.0, max(0.0, value)), extracted=extracted, detail=detail)


def _qid(item: Item) -> int:
    try:
        return int(item.id)
    except ValueError:
        raise ValueError(f"komt-bench item id {item.id!r} is not a question number") from None
