"""Exact scoring of long-context answers.

``all`` (every task but QA): the share of gold strings found in the response (RULER's
``string_match_all``).  A number matches only as a whole number (``1234567`` is not found in
``91234567``, but ``1234567입니다`` is), a Latin name only as a whole word, a Korean word only from a
word start but with any particle attached (``사과가``).  Matching ignores case and Unicode compatibility forms (NFKC).
``yesno`` (QA): the first 예/네/아니오/아니요 token of the response must be the gold one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_YES_NO = re.compile(r"(?<![\w])(아니오|아니요|아니다|아닙니다|예|네|yes|no)(?![a-z])", re.IGNORECASE)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def found(answer: str, response: str) -> bool:
    a, r = _norm(answer).strip(), _norm(response)
    if not a:
        return False
    return re.search(rf"{_before(a[0])}{re.escape(a)}{_after(a[-1])}", r) is not None


def _before(ch: str) -> str:
    if ch.isdigit():
        return r"(?<!\d)"
    if _HANGUL.match(ch):
        return r"(?<![\uac00-\ud7a3])"
    return r"(?<![^\W\uac00-\ud7a3])" if ch.isalnum() else ""


def _after(ch: str) -> str:
    if ch.isdigit():
        return r"(?!\d)"
    if _HANGUL.match(ch):
        return ""  # a particle may follow: 사과가, 사과를
    return r"(?![^\W\uac00-\ud7a3])" if ch.isalnum() else ""


def yes_no(response: str) -> str | None:
    m = _YES_NO.search(_norm(response))
    if not m:
        return None
    return "예" if m.group(1) in ("예", "네", "yes") else "아니오"


def score_answers(answers: Sequence[str], response: str, match: str = "all") -> tuple[float, list[str]]:
    """(value in [0, 1], the gold strings found / the yes-no read)."""
    if match == "yesno":
        got = yes_no(response)
        return float(got is not None and got == answers[0]), [got] if got else []
    if match != "all":
        raise ValueError(f"unknown match {match!r}")
    hits = [a for a in answers if found(a, response)]
    return len(hits) / len(answers), hits


def score_longctx(item: Any, response: Any) -> Any:
    """Scorer: ``item.fields`` holds ``answers`` and ``match`` (a :class:`LongCtxItem` record), or ``item``
    is a :class:`LongCtxItem` itself.  ``response`` is a Generation or a string."""
    from sovereval.bench.scorers.base import Score

    fields = getattr(item, "fields", None)
    answers = list(fields["answers"]) if fields is not None else list(item.answers)
    match = str(fields.get("match", "all")) if fields is not None else item.match
    text = response if isinstance(response, str) else response.text
    value, hits = score_answers(answers, text, match)
    return Score(value=value, extracted=", ".join(hits) if hits else None,
                 detail={"answers": answers, "found": hits, "match": match})
