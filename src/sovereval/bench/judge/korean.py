"""Is an answer in Korean?  KoMT-Bench's square-root penalty for answers that are not.

KoMT-Bench (LG-AI-EXAONE/KoMT-Bench @ 56d4f3a, README "Why penalize scores for non-Korean response?" and
``FastChat/fastchat/llm_judge/data/mt_bench/model_judgment/detector.py``) found that its GPT-4 judge kept
awarding high grades to answers written in another language, so after judging it replaces the grade of
every turn whose answer is not in Korean by its square root (a 1–10 grade falls into [1, √10]).  Questions
138 and 140 are exempt (their answers are JSON/CSV, legitimately mostly non-Korean).  A judgement that
failed to parse (FastChat's ``-1``) is left as it is.  The penalty is applied per turn, on that turn's answer.

The original detects the language with Google's MediaPipe language-detector model (a TFLite file, not
available here).  This module decides with a rule that can be checked by hand instead: the share of
Hangul among the letters of the answer, after removing fenced code blocks and inline code (code is
language-neutral; a Korean explanation of a Python program is a Korean answer).

* ``hangul_share`` = Hangul letters / all letters (Unicode categories L*), outside code;
* the answer is Korean when that share is at least ``min_share`` (default 0.2).  Letters are counted one
  by one, so Korean prose with English terms, variable names or JSON keys has a share well below 1 (a
  Hangul syllable is one letter, an English word several): among the 180 GPT-4 reference-answer turns of
  KoMT-Bench, every turn with any Hangul has a share of at least 0.32, and the turns without Hangul (JSON
  of English keys and numbers) have 0.  English or Chinese prose has ~0.  0.2 separates the two with a
  margin on both sides;
* an answer with no letters at all (only digits, symbols or code) is ``undetermined`` and not penalised —
  the original's detector would have to guess on such text.

Differences from the original that follow: the MediaPipe model judges from character n-grams of the raw
text, including code, and its decision can differ on mixed-script text close to the threshold; the
original also takes the *last* of its top-2 detections rather than the top one (``detector.py`` loops
over ``detections`` and keeps the last), which this rule does not reproduce.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Literal

from sovereval.program.spec import Frozen

#: KoMT-Bench questions whose answers are exempt from the penalty (detector.py: ``q_id != 138 and q_id != 140``)
KOMT_PENALTY_EXEMPT: tuple[int, ...] = (138, 140)

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)


def _is_hangul(ch: str) -> bool:
    o = ord(ch)
    return (0xAC00 <= o <= 0xD7A3  # syllables
            or 0x1100 <= o <= 0x11FF  # jamo
            or 0x3130 <= o <= 0x318F  # compatibility jamo
            or 0xA960 <= o <= 0xA97F or 0xD7B0 <= o <= 0xD7FF)  # jamo extended A / B


class LanguageCheck(Frozen):
    verdict: Literal["korean", "not_korean", "undetermined"]
    hangul_share: float | None  # None: no letters outside code
    letters: int
    min_share: float

    @property
    def korean(self) -> bool:
        return self.verdict != "not_korean"


def check_korean(text: str, *, min_share: float = 0.2) -> LanguageCheck:
    """Hangul share of the letters outside code, and the verdict at ``min_share``."""
    prose = unicodedata.normalize("NFC", _CODE.sub(" ", text))
    letters = [ch for ch in prose if unicodedata.category(ch).startswith("L")]
    if not letters:
        return LanguageCheck(verdict="undetermined", hangul_share=None, letters=0, min_share=min_share)
    share = sum(_is_hangul(ch) for ch in letters) / len(letters)
    verdict: Literal["korean", "not_korean"] = "korean" if share >= min_share else "not_korean"
    return LanguageCheck(verdict=verdict, hangul_share=round(share, 4), letters=len(letters), min_share=min_share)


def komt_penalty(grade: float, answer: str, question_id: int, *, min_share: float = 0.2,
                 exempt: tuple[int, ...] = KOMT_PENALTY_EXEMPT) -> tuple[float, LanguageCheck, bool]:
    """``(grade after the penalty, the language check, whether the penalty was applied)``.

    The grade becomes ``sqrt(grade)`` when the answer is not Korean and the question is not exempt.
    """
    lang = check_korean(answer, min_share=min_share)
    if lang.verdict == "not_korean" and question_id not in exempt:
        return math.sqrt(grade), lang, True
    return grade, lang, False
