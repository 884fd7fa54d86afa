"""Exact and normalised string match.

``normalise_answer`` is Unicode-aware: NFKC (full-width forms, compatibility jamo), case folding,
punctuation removed, whitespace collapsed.  For Korean (any Hangul in the text) all whitespace is
dropped, because spacing (띄어쓰기) varies freely between writers.  A prediction also matches when it
equals the gold answer plus a sentence ending ("서울입니다", "고양이다", "10개예요" for 서울 / 고양이 /
10개): the ending is removed from the prediction only, never from the gold answer.  Gold may list
aliases in a field named by ``aliases``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sovereval.bench.scorers.base import Score, ScorerInfo
from sovereval.bench.spec import Item
from sovereval.bench.types import Generation

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_KO_ENDINGS = ("입니다", "이에요", "예요", "이다", "이요", "다", "요")


def normalise_answer(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    text = re.sub(r"\s+", " ", text).strip()
    if _HANGUL.search(text):
        text = text.replace(" ", "")
    return text


def _variants(pred: str) -> set[str]:
    out = {pred}
    if _HANGUL.search(pred):
        out |= {pred[: -len(e)] for e in _KO_ENDINGS if pred.endswith(e) and len(pred) > len(e)}
    return out


def _golds(item: Item, aliases: str | None) -> list[str]:
    if item.answer is None or isinstance(item.answer, tuple):
        raise ValueError(f"item {item.id!r}: string match needs a text answer, got {item.answer!r}")
    golds = [str(item.answer)]
    if aliases:
        extra: Any = item.fields.get(aliases, ())
        golds += [str(a) for a in (extra if isinstance(extra, list | tuple) else [extra])]
    return golds


def exact_match(item: Item, response: Generation, strip: bool = True, aliases: str | None = None) -> Score:
    pred = response.text.strip() if strip else response.text
    golds = [g.strip() if strip else g for g in _golds(item, aliases)]
    return Score(value=float(pred in golds), extracted=pred, detail={"golds": golds})


def normalised_match(item: Item, response: Generation, aliases: str | None = None) -> Score:
    pred = normalise_answer(response.text)
    golds = [normalise_answer(g) for g in _golds(item, aliases)]
    hit = bool(_variants(pred) & set(golds))
    return Score(value=float(hit), extracted=pred, detail={"golds": golds})


SCORERS: tuple[ScorerInfo, ...] = (
    ScorerInfo("exact_match", exact_match, "generate"),
    ScorerInfo("normalised_match", normalised_match, "generate"),
)
