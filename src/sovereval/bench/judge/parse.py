"""Reading a judge's output: a 1–10 grade, a pairwise verdict, a yes/no judgement.

Judges do not always follow the requested format, and a small judge rarely does.  The readers below try
a short, ordered list of rules; the *first rule that finds anything decides*:

* if all its matches agree, that value is the judgement (``status="ok"``), with the rule's name recorded;
* if its matches disagree (``[[7]] ... [[9]]``), the judgement is ``"ambiguous"`` — never a guess;
* a grade outside the protocol's scale (``[[11]]``, or ``[[0]]`` on KoMT-Bench's 1–10) is
  ``"out_of_range"`` — never clamped;
* nothing found is ``"unparseable"``.

Only ``"ok"`` judgements carry a value.  What an unusable judgement means for the item's score is the
protocol's decision (see :mod:`sovereval.bench.judge.single`), never a silent 0.

Before matching, the text is NFKC-normalised (full-width digits and colons become ASCII), markdown
emphasis ``*`` is removed (as LogicKor's evaluator does), and scale descriptions such as
``1점부터 10점까지``, ``1~10``, ``10점 만점`` are blanked so that they are not read as grades.

Grade rules, in order (the protocol's own format first: FastChat's ``[[n]]`` for KoMT-Bench, LogicKor's
``점수: n`` for LogicKor):

``brackets``       ``[[8]]``, ``[[ 7.5 ]]``                 (FastChat ``one_score_pattern``)
``label``          ``점수: 8``, ``평점 : 8점``, ``점수는 8점``, ``평가: 8점`` (평가 needs 점 or /10: a
                   ``평가:`` line is normally prose), ``Rating: 8``, ``Score = 8``, ``Grade: 8/10``
``of_ten``         ``8/10``, ``8 / 10``, ``8 out of 10``
``points``         ``8점`` (not ``10점 만점``, ``1점부터``, ``10점까지``)
``single_bracket`` ``[8]``                                   (FastChat ``one_score_pattern_backup``)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, Literal

from sovereval.program.spec import Frozen

Status = Literal["ok", "ambiguous", "out_of_range", "unparseable"]
Verdict = Literal["A", "B", "tie"]

_NUM = r"(?P<n>\d+(?:\.\d+)?)"

#: scale descriptions blanked before matching: "1점부터 10점까지", "1~10점", "1-10", "10점 만점", "1 to 10"
_SCALE = re.compile(
    r"\d+(?:\.\d+)?\s*점?\s*(?:~|-|–|—|부터|에서|to)\s*\d+(?:\.\d+)?\s*(?:점|의)?(?:\s*까지)?"
    r"|\d+\s*점\s*만점"
    r"|만점\s*\d+\s*점?",
    re.IGNORECASE,
)

_GRADE_RULES: dict[str, re.Pattern[str]] = {
    "brackets": re.compile(r"\[\[\s*" + _NUM + r"\s*\]\]"),
    "label": re.compile(
        r"(?:(?:점수|평점|총점)\s*(?:은|는)?\s*[:：=]?\s*\[*\s*" + _NUM + r"(?!\d)"
        r"|평가\s*(?:은|는)?\s*[:：=]?\s*\[*\s*(?P<m>\d+(?:\.\d+)?)\s*(?:점|/\s*10\b)"
        r"|\b(?:score|rating|grade)\s*[:：=]\s*\[*\s*(?P<e>\d+(?:\.\d+)?)(?!\d))",
        re.IGNORECASE),
    "of_ten": re.compile(r"(?<![\d.])" + _NUM + r"\s*(?:/\s*10(?![\d.])|out\s+of\s+10\b)", re.IGNORECASE),
    "points": re.compile(r"(?<![\d.])" + _NUM + r"\s*점(?!\s*(?:만점|부터|에서|까지))"),
    "single_bracket": re.compile(r"(?<!\[)\[\s*" + _NUM + r"\s*\](?!\])"),
}

_DEFAULT_ORDER = ("brackets", "label", "of_ten", "points", "single_bracket")


class Judgement(Frozen):
    """What was read from one judge output (``value`` only when ``status == "ok"``)."""

    status: Status
    value: float | str | bool | None = None
    #: the rule that decided (None when nothing matched)
    rule: str | None = None
    #: every value that rule matched, in order
    candidates: tuple[float | str | bool, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def normalise(text: str) -> str:
    """NFKC, no markdown emphasis, no scale descriptions."""
    t = unicodedata.normalize("NFKC", text).replace("*", "")
    return _SCALE.sub(" ", t)


def _first_rule(text: str, rules: dict[str, re.Pattern[str]], order: tuple[str, ...],
                value: Callable[[re.Match[str]], Any]) -> tuple[str, list[Any]] | None:
    for name in order:
        found = [value(m) for m in rules[name].finditer(text)]
        if found:
            return name, found
    return None


def _judgement(hit: tuple[str, list[Any]] | None, accept: Callable[[Any], bool] = lambda v: True) -> Judgement:
    """What `_first_rule` found: unparseable (nothing), ambiguous (disagreeing matches), out of range (a
    value ``accept`` refuses), else ok."""
    if hit is None:
        return Judgement(status="unparseable")
    rule, found = hit
    if len(set(found)) > 1:
        return Judgement(status="ambiguous", rule=rule, candidates=tuple(found))
    if not accept(found[0]):
        return Judgement(status="out_of_range", rule=rule, candidates=tuple(found))
    return Judgement(status="ok", value=found[0], rule=rule, candidates=tuple(found))


def _number(m: re.Match[str]) -> float:
    groups = m.groupdict()
    raw = next(groups[g] for g in ("n", "m", "e") if groups.get(g) is not None)
    return float(raw)


def parse_grade(text: str, *, scale: tuple[float, float] = (1, 10),
                prefer: Literal["brackets", "label"] = "brackets") -> Judgement:
    """A grade on ``scale`` (inclusive) from a judge's output; see the module docstring for the rules."""
    order = _DEFAULT_ORDER if prefer == "brackets" else ("label", *(r for r in _DEFAULT_ORDER if r != "label"))
    lo, hi = scale
    return _judgement(_first_rule(normalise(text), _GRADE_RULES, order, _number), lambda v: lo <= v <= hi)


# --------------------------------------------------------------------------------------------------
# Pairwise verdicts
# --------------------------------------------------------------------------------------------------

_VERDICT_RULES: dict[str, re.Pattern[str]] = {
    # FastChat checks "[[A]]", "[[B]]", "[[C]]" in that order and takes the first present; here all are
    # collected and a disagreement is ambiguous
    "brackets": re.compile(r"\[\[\s*(?P<v>A|B|C|tie|동점)\s*\]\]", re.IGNORECASE),
    "label": re.compile(r"(?:final\s+verdict|verdict|최종\s*평결|평결|판정)\s*[:：]\s*\[*\s*"
                        r"(?P<v>A|B|C|tie|동점)(?![A-Za-z])", re.IGNORECASE),
}


def _verdict(m: re.Match[str]) -> str:
    v = m.group("v").upper()
    return "tie" if v in ("C", "TIE", "동점") else v


def parse_verdict(text: str) -> Judgement:
    """``A``, ``B`` or ``tie`` (``[[C]]``) from a pairwise judgement."""
    return _judgement(_first_rule(unicodedata.normalize("NFKC", text).replace("*", ""), _VERDICT_RULES,
                                  ("brackets", "label"), _verdict))


# --------------------------------------------------------------------------------------------------
# Yes / no
# --------------------------------------------------------------------------------------------------


def parse_yes_no(text: str, label: str) -> Judgement:
    """``label: yes|no`` (e.g. ``Truthful: yes``), else ``[[yes]]``, else an output that is just yes/no."""
    t = unicodedata.normalize("NFKC", text).replace("*", "")
    rules = {
        "label": re.compile(rf"\b{re.escape(label)}\s*[:：]\s*\[*\s*(?P<v>yes|no)\b", re.IGNORECASE),
        "brackets": re.compile(r"\[\[\s*(?P<v>yes|no)\s*\]\]", re.IGNORECASE),
        "bare": re.compile(r"\A\W*(?P<v>yes|no)\W*\Z", re.IGNORECASE),
    }
    return _judgement(_first_rule(t, rules, ("label", "brackets", "bare"), lambda m: m.group("v").lower() == "yes"))
