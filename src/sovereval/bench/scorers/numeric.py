"""Numeric answers (GSM8K, the generated arithmetic suite).

Where the number is read from, first rule that finds one:

1. ``#### N`` — the GSM8K solution format (the last occurrence);
2. ``\\boxed{N}`` (the last one);
3. an answer phrase — "The answer is N", "Answer: N", "정답은 N", "정답: N", "답: N" (the last phrase;
   the last number of its sentence, so "The answer is 3 + 5 = 8." reads 8);
4. the last number anywhere (lm-eval's "flexible-extract").

Numbers may carry thousands separators (1,234), currency ($, ₩, €, £, ¥; "원" after), a sign (-, −),
decimals, a simple fraction (3/4, ``\\frac{3}{4}``), a percent sign, or a Korean unit multiplier (3만 =
30000, 2억; a single multiplier only: "3만 5천" is not summed).  A minus directly after a digit or letter
is subtraction ("16-3" reads 16 and 3), never a sign.  Gold and prediction are compared exactly as
rationals, so "18", "18.00" and "$18" are equal.  ``detail["strict"]`` records whether the ``####`` form
was present and right (lm-eval's "strict-match"); ``require_hashes=True`` makes that the value.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from sovereval.bench.scorers.base import Score, ScorerInfo
from sovereval.bench.spec import Item
from sovereval.bench.types import Generation

_NUM_RE = re.compile(
    r"(?<![A-Za-z0-9.])(?P<sign>[-−–]\s?)?(?P<cur>[$₩€£¥]\s?)?(?P<sign2>-)?"
    r"(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?P<dec>\.\d+)?(?:/(?P<den>\d+)(?![\d.]))?"
    r"(?P<unit>\s?(?:만(?!큼)|억))?"
)
_HASHES_RE = re.compile(r"####\s*([^\n]*)")
_BOXED_RE = re.compile(r"\\boxed\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
_PHRASE_RE = re.compile(
    r"(?:\banswer\s*(?:is|would\s+be|:|=)|정답\s*(?:은|는|:|=)?|(?<![가-힣])답\s*(?:은|는|:|=))", re.IGNORECASE
)
_SENTENCE_END_RE = re.compile(r"[.!?。](?!\d)|\n")
_UNITS = {"만": 10_000, "억": 100_000_000}


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"\1/\2", text)
    text = text.replace("\\$", "$").replace("{,}", ",").replace("\\!", "").replace("\\,", "")
    return re.sub(r"\\(?:text|mathrm|textbf)\s*\{([^{}]*)\}", r"\1", text)


def _value(m: re.Match[str]) -> Fraction | None:
    try:
        v = Fraction(Decimal(m.group("int").replace(",", "") + (m.group("dec") or "")))
    except (InvalidOperation, ValueError):
        return None
    if m.group("den"):
        den = int(m.group("den"))
        if den == 0:
            return None
        v /= den
    if m.group("unit"):
        v *= _UNITS[m.group("unit").strip()]
    if m.group("sign") or m.group("sign2"):
        v = -v
    return v


def _numbers(text: str) -> list[tuple[Fraction, str]]:
    out = []
    for m in _NUM_RE.finditer(text):
        v = _value(m)
        if v is not None:
            out.append((v, m.group(0).strip()))
    return out


def format_number(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    d = Decimal(v.numerator) / Decimal(v.denominator)
    return f"{v.numerator}/{v.denominator}" if d * v.denominator != v.numerator else format(d.normalize(), "f")


def extract_number(text: str) -> tuple[Fraction | None, str]:
    """The answer number in a free-text response, and the rule that found it (see the module docstring)."""
    text = _clean(text)
    hashes = [n for m in _HASHES_RE.finditer(text) if (n := _numbers(m.group(1)))]
    if hashes:
        return hashes[-1][0][0], "hashes"
    boxed = [n for m in _BOXED_RE.finditer(text) if (n := _numbers(m.group(1)))]
    if boxed:
        return boxed[-1][-1][0], "boxed"
    for p in reversed(list(_PHRASE_RE.finditer(text))):
        rest = text[p.end():]
        end = _SENTENCE_END_RE.search(rest)
        nums = _numbers(rest[: end.start()] if end else rest)
        if nums:
            return nums[-1][0], "phrase"
    nums = _numbers(text)
    if nums:
        return nums[-1][0], "last-number"
    return None, "none"


def parse_gold(item: Item) -> Fraction:
    nums = _numbers(_clean(str(item.answer))) if isinstance(item.answer, str | int) else []
    if len(nums) != 1:
        raise ValueError(f"item {item.id!r}: gold answer {item.answer!r} is not a single number")
    return nums[0][0]


def numeric(item: Item, response: Generation, require_hashes: bool = False) -> Score:
    gold = parse_gold(item)
    if response.unclosed_reasoning:
        return Score(value=0.0, detail={"rule": "none", "reason": "reasoning never closed",
                                        "gold": format_number(gold)})
    value, rule = extract_number(response.text)
    strict = rule == "hashes" and value == gold
    flexible = value is not None and value == gold
    detail = {"rule": rule, "gold": format_number(gold), "strict": float(strict), "flexible": float(flexible)}
    return Score(value=float(strict if require_hashes else flexible),
                 extracted=format_number(value) if value is not None else None, detail=detail)


SCORERS: tuple[ScorerInfo, ...] = (
    ScorerInfo("numeric", numeric, "generate"),
)
