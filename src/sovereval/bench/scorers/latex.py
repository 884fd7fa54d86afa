"""LaTeX math equivalence (MATH-500) with ``math-verify``.

The gold answer is parsed as ``$answer$``; the response with math-verify's default extraction (the last
``\\boxed{}`` first, then other LaTeX, then plain expressions).  Equivalent forms score 1: ``\\frac{1}{2}``,
``\\dfrac12``, ``1/2``, ``0.5``; intervals, tuples and sets compare as such.  Any failure to parse or verify
scores 0 with the reason in ``detail`` — never an exception.  math-verify's timeouts use ``SIGALRM``,
which works only in the main thread; elsewhere they are switched off (the caller bounds time).
Without math-verify installed, the last ``\\boxed{}`` content is compared as a normalised string, and
``detail["fallback"]`` says so.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from sovereval.bench.scorers.base import Score, ScorerInfo
from sovereval.bench.spec import Item
from sovereval.bench.types import Generation

_BOXED_RE = re.compile(r"\\boxed\s*\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}")


def _timeout() -> int | None:
    return 5 if threading.current_thread() is threading.main_thread() else None


def _squash(s: str) -> str:
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    s = re.sub(r"\\left|\\right|\\!|\\,|\s+", "", s)
    return s.strip("$.")


def _fallback(gold: str, text: str, why: str) -> Score:
    boxed = _BOXED_RE.findall(text)
    pred = boxed[-1] if boxed else None
    ok = pred is not None and _squash(pred) == _squash(gold)
    return Score(value=float(ok), extracted=pred, detail={"fallback": why, "gold": gold})


def math_equiv(item: Item, response: Generation) -> Score:
    if not isinstance(item.answer, str):
        raise TypeError(f"item {item.id!r}: math_equiv needs a LaTeX string answer, got {item.answer!r}")
    gold_text = item.answer
    if response.unclosed_reasoning:
        return Score(value=0.0, detail={"reason": "reasoning never closed", "gold": gold_text})
    try:
        from math_verify import parse, verify
    except ImportError:
        return _fallback(gold_text, response.text, "math-verify not installed: boxed string comparison")
    detail: dict[str, Any] = {"gold": gold_text}
    try:
        t = _timeout()
        gold = parse(f"${gold_text}$", parsing_timeout=t)
        if not gold:
            return Score(value=0.0, detail={**detail, "reason": "gold answer did not parse"})
        pred = parse(response.text, parsing_timeout=t)
        if not pred:
            return Score(value=0.0, detail={**detail, "reason": "no parseable answer in the response"})
        ok = verify(gold, pred, timeout_seconds=t)
        extracted = str(pred[-1]) if isinstance(pred[-1], str) else str(pred[0])
        detail["parsed"] = str(pred[0])
        if isinstance(pred[0], str):
            detail["reason"] = "the answer did not parse as mathematics; compared as a string"
        return Score(value=float(ok), extracted=extracted, detail=detail)
    except Exception as e:  # noqa: BLE001 - a scorer must not crash on model output
        return Score(value=0.0, detail={**detail, "reason": f"math-verify failed: {type(e).__name__}: {e}"})


SCORERS: tuple[ScorerInfo, ...] = (
    ScorerInfo("math_equiv", math_equiv, "generate"),
)
