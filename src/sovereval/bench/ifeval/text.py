"""Language-aware text segmentation for the verifiable instructions (no NLTK data, no downloads).

**Words.**  A word is a maximal run of letters, digits, marks or underscores (Unicode ``\\w``), except that
every Han ideograph, kana and other unspaced-script character (Thai, Lao, Khmer, Myanmar) counts as a word
of its own, since those scripts do not separate words with spaces.  For English this is exactly IFEval's
``\\w+`` tokenisation (``don't`` is two words).  For Korean, Hangul runs are *eojeol* (the space-delimited
unit, e.g. ``서울에서``), the conventional unit of Korean word counts; attached punctuation is not part of
the word (``좋아요!`` is one word), and a Hangul run glued to Latin letters or digits (``AI기술``) stays one.

**Sentences.**  A sentence ends at ``. ! ? …`` or their full-width/ideographic forms (``。！？``) followed by
whitespace, a closing quote/bracket or the end of the text, and at every line break.  A period does not end
a sentence inside a number (``3.14``), after a common English abbreviation (``Dr.``, ``e.g.``, ``U.S.``)
or after a single capital initial (``J. K. Rowling``).  Korean sentence endings (``…다.``, ``…요?``) are
covered by the punctuation rule; a Korean line that ends without punctuation ends at the line break.
Empty pieces are not sentences.
"""

from __future__ import annotations

import re
import unicodedata

_UNSPACED = (
    r"\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3038-\u303b\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    r"\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f\u0e00-\u0e7f\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f"
)
_WORD = re.compile(rf"[{_UNSPACED}]|(?:(?![{_UNSPACED}])\w)+")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")

_ABBREVIATIONS = frozenset((
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "a.m", "p.m", "u.s", "u.k",
    "u.n", "no", "fig", "approx", "inc", "ltd", "co", "corp", "dept", "est", "gen", "gov", "sen", "rep", "mt",
    "ave", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
))
_END = r"[.!?\u2026\u3002\uff01\uff1f\uff0e]"
_CLOSERS = "\"'\u201d\u2019)]}\u300d\u300f\u3011\u3009\u300b\uff09"
_BOUNDARY = re.compile(rf"{_END}+[{re.escape(_CLOSERS)}]*(?=\s|$)|\n")


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFC", text))


def count_words(text: str) -> int:
    return len(words(text))


def has_hangul(text: str) -> bool:
    return _HANGUL.search(text) is not None


def _is_abbreviation(piece: str) -> bool:
    """Whether the text before a period ends in an abbreviation or an initial (so the period is not an end)."""
    last = piece.rstrip(".").rsplit(maxsplit=1)[-1] if piece.strip() else ""
    last = last.lstrip("(\"'\u201c\u2018")
    if not last:
        return False
    if last.lower() in _ABBREVIATIONS:
        return True
    if len(last) == 1 and last.isalpha() and last.isupper():
        return True  # an initial: "J. K. Rowling"
    return bool(re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", last))  # "e.g", "U.S"


def split_sentences(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text)
    out: list[str] = []
    start = 0
    buf = ""
    for m in _BOUNDARY.finditer(text):
        piece = text[start:m.end()]
        start = m.end()
        single_period = m.group() != "\n" and m.group().rstrip(_CLOSERS) == "."
        if single_period and _is_abbreviation(buf + piece.rstrip(_CLOSERS)):
            buf += piece
            continue
        buf += piece
        if buf.strip():
            out.append(buf.strip())
        buf = ""
    buf += text[start:]
    if buf.strip():
        out.append(buf.strip())
    return out


def count_sentences(text: str) -> int:
    return len(split_sentences(text))
