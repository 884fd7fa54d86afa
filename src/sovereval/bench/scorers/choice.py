"""Multiple choice by generation: reading the chosen option out of free text.

Regex scoring is where harnesses lose points silently (lm-eval#1204, lighteval#686, helm#2939: "C. 12"
marked wrong), so the rule is explicit and tested on real-looking phrasings.  The first rule that yields
an answer wins:

1. **An explicit answer phrase** — "Answer: B", "The answer is (B)", "정답은 B", "정답: B",
   "따라서, 정답은: B", "B가 정답", "3번이 정답", "\\boxed{B}", "Therefore, B", "I choose B",
   "(B) is correct", "A가 아니라 B".  When several occur, the **last** one counts (conclusions and
   self-corrections come last).  If that phrase names several options ("A or C", "A와 C") the response
   is refused.  A phrase may name the option's text instead of its letter ("The answer is Paris").
   A negated phrase ("정답은 A가 아니다", "B is not correct") is ignored.
2. **A label opening the response** — "B", "(B)", "B.", "B)", "**B**", "③", "2번", "B입니다" —
   unless the response lists several options line by line (an echo of the option list).
3. **A label alone on the last line.**
4. **Marked labels anywhere** — "(B)", "[B]", "**B**", "③", "2번" — if exactly one distinct option is
   marked; several distinct marked options are refused as ambiguous.
5. **The text of exactly one option** appears in the response (an option contained in a longer matched
   option does not count separately).

Otherwise there is no answer.  Before matching, text is NFKC-normalised (full-width "Ｂ", "：" become
"B", ":"), circled numbers become "(n)", and LaTeX ``\\text{}``/``$`` wrappers are dropped.  Numbers are
1-based option positions ("3번" = the third option), except a bare number that equals an option's own
text ("The answer is 12" with options 10/12/14/16 means the option "12").  Lower-case letters count only
when bracketed or followed by punctuation or the end, so the article in "a bit" is never an answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sovereval.bench.scorers.base import Score, ScorerInfo, mcq_gold
from sovereval.bench.spec import Item
from sovereval.bench.types import Generation

LETTERS = "ABCDEFGHIJ"

_CIRCLED = {chr(c): i + 1 for i, c in enumerate(range(0x2460, 0x2474))}  # ① .. ⑳
_CIRCLED.update({chr(c): i + 1 for i, c in enumerate(range(0x2776, 0x2780))})  # ❶ .. ❿
_CIRCLED.update({chr(c): i + 1 for i, c in enumerate(range(0x2780, 0x278A))})  # ➀ .. ➉

_OPEN = r"[(\[{<「『]"
_CLOSE = r"[)\]}>」』]"
# a label token: optional bracket, a letter or a digit, optional closing bracket, optional 번
_TOK = rf"(?P<open>{_OPEN})?[ \t]*(?P<tok>[A-Ja-j]|[1-9])(?:[ \t]*(?P<close>{_CLOSE}))?(?:[ \t]*(?P<bun>번))?"
_FILLER = (r"(?:(?:either|definitely|clearly|probably|likely|most\s+likely|obviously|actually)\s+)?"
           r"(?:(?:the\s+)?(?:option|choice|letter|선택지|보기)\s*[:：]?\s*)?")

_ANSWER_HEADS = [
    (r"\banswer\s*(?:(?:is|would\s+be|should\s+be|will\s+be|must\s+be|appears\s+to\s+be|seems\s+to\s+be)"
     r"\s*:?|[:=\-])"),
    r"\bfinal\s+answer\b\s*:?",
    r"\b(?:correct|right|best)\s+(?:option|choice)\s*(?:is|would\s+be|:)\s*:?",
    r"정답\s*(?:번호)?\s*(?:은|는|이|:|=)?\s*(?:바로)?\s*:?",
    r"(?<![가-힣])답\s*(?:은|는|:)\s*(?:바로)?\s*:?",
    r"답변\s*(?:은|는)?\s*:",
    r"\\boxed\s*\{",
]
_DISCOURSE_HEADS = [
    r"\b(?:so|thus|therefore|hence)\s*,?\s*",
    r"\bI\s*(?:would|will|'ll)?\s*(?:choose|select|pick|go\s+with)\s+",
    r"(?:따라서|그러므로|결론적으로|결국)\s*,?\s*",
    r"아니(?:라|고)\s*,?\s*",
]
_ANSWER_HEAD_RE = re.compile("|".join(f"(?:{h})" for h in _ANSWER_HEADS), re.IGNORECASE)
_DISCOURSE_HEAD_RE = re.compile("|".join(f"(?:{h})" for h in _DISCOURSE_HEADS), re.IGNORECASE)
_TOKEN_RE = re.compile(r"\s*" + _FILLER + _TOK, re.IGNORECASE)
# label first, then the phrase: "(B) is correct", "Option C is the best answer", "B가 정답", "3번이 답"
_TAIL_RE = re.compile(
    r"(?<![A-Za-z0-9])(?:(?:option|choice)\s*)?" + _TOK
    + r"(?P<tail>\s*(?:is|would\s+be|seems\s+to\s+be)\s+(?:the\s+)?(?:correct|right|best|answer|most\s+"
    + r"(?:likely|appropriate|accurate|plausible|suitable))"
    + r"|\s*(?:이|가)?\s*(?:정답|답)(?:이다|입니다|이에요|예요|임|\b|(?=[\s.,!]|$)))",
    re.IGNORECASE,
)
_NEGATION_RE = re.compile(
    r"^\s*(?:이|가|은|는)?\s*(?:정답|답)?\s*(?:이|가)?\s*아니|^\s*(?:is|are)?\s*(?:not|n't|incorrect|wrong|false)\b",
    re.IGNORECASE,
)
_AMBIGUOUS_JOIN_RE = re.compile(r"\s*(?:,|/|&|\bor\b|\band\b|또는|혹은|이나|및|와|과|나)\s*", re.IGNORECASE)
_LINE_LABEL_RE = re.compile(rf"^\s*{_OPEN}?\s*([A-J])\s*(?:{_CLOSE}|[.:])", re.MULTILINE)
_START_RE = re.compile(r"(?:(?:option|choice)\s*)?" + _TOK, re.IGNORECASE)
_LAST_LINE_RE = re.compile(r"(?:(?:answer|정답)\s*:?\s*)?" + _TOK + r"\s*[.!]?", re.IGNORECASE)
_MARKED_RES = (
    re.compile(rf"{_OPEN}\s*([A-Ja-j]|[1-9])\s*{_CLOSE}"),
    re.compile(r"\*\*\s*\(?\s*([A-J]|[1-9])\s*\)?\s*[.:]?\s*\*\*"),
    re.compile(r"(?<![0-9])([1-9])\s*번"),
)


@dataclass(frozen=True)
class Extraction:
    index: int | None
    rule: str  # explicit | start | last-line | marked | option-text | none | ambiguous
    span: str = ""


def normalise(text: str) -> str:
    for ch, n in _CIRCLED.items():
        if ch in text:
            text = text.replace(ch, f"({n})")
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\\(?:text|textbf|mathrm|mathbf|textit)\s*\{([^{}]*)\}", r"\1", text)
    return text.replace("$", "")


def _plain(text: str) -> str:
    """Markdown emphasis and code marks removed (after marked labels have been read)."""
    return re.sub(r"\*\*|__|[*`]", "", text)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"\s+", " ", text).strip()
    return text.strip(" .,:;!?\"'()[]")


def _is_numeric(text: str) -> bool:
    return re.fullmatch(r"-?\d+(?:[.,]\d+)?", _fold(text)) is not None


def _after_ok(text: str, end: int, tok: str, bracketed: bool) -> bool:
    """The character after a token must not continue a word ("Because", "12", "A1")."""
    nxt = text[end:end + 1]
    if nxt and nxt.isascii() and nxt.isalnum():
        return False
    if tok.islower() and not bracketed:
        return nxt == "" or nxt in ".):;]\n"
    return True


def _index(m: re.Match[str], text: str, choices: tuple[str, ...]) -> int | None:
    """The option a token match names, or None when it names none (out of range, mid-word)."""
    tok = m.group("tok")
    bracketed = bool(m.group("open") or m.group("close"))
    if not _after_ok(text, m.end(), tok, bracketed):
        return None
    n = len(choices)
    if tok.isdigit():
        if not (bracketed or m.group("bun")):
            for i, c in enumerate(choices):  # a bare number that is an option's own value
                if _is_numeric(c) and _fold(c) == tok:
                    return i
        idx = int(tok) - 1
    else:
        idx = LETTERS.index(tok.upper())
    return idx if idx < n else None


def _negated(text: str, end: int) -> bool:
    return _NEGATION_RE.match(text[end:end + 16]) is not None


def _option_text_at(text: str, pos: int, choices: tuple[str, ...]) -> int | None:
    """The option whose text starts at ``pos`` ("The answer is Paris."); the longest wins."""
    tail = _fold(text[pos:pos + 400].lstrip(" :*\"'"))
    best: tuple[int, int] | None = None
    for i, c in enumerate(choices):
        fc = _fold(c)
        if not fc or not tail.startswith(fc):
            continue
        ends_word = len(tail) == len(fc) or not (tail[len(fc)].isascii() and tail[len(fc)].isalnum())
        if ends_word and (best is None or len(fc) > best[1]):
            best = (i, len(fc))
    return best[0] if best else None


def _ambiguous(text: str, end: int, choices: tuple[str, ...], first: int) -> bool:
    j = _AMBIGUOUS_JOIN_RE.match(text, end)
    if not j:
        return False
    m = _TOKEN_RE.match(text, j.end())
    if not m:
        return False
    other = _index(m, text, choices)
    return other is not None and other != first and not _negated(text, m.end())


def _explicit(text: str, choices: tuple[str, ...]) -> Extraction | None:
    found: list[tuple[int, int | None, str]] = []  # (position, index or None=ambiguous, span)
    for head_re, allow_text in ((_ANSWER_HEAD_RE, True), (_DISCOURSE_HEAD_RE, False)):
        for h in head_re.finditer(text):
            m = _TOKEN_RE.match(text, h.end())
            idx = _index(m, text, choices) if m else None
            if m and idx is not None:
                if _negated(text, m.end()):
                    continue
                amb = _ambiguous(text, m.end(), choices, idx)
                found.append((h.start(), None if amb else idx, text[h.start():m.end()]))
            elif allow_text:
                idx = _option_text_at(text, h.end(), choices)
                if idx is not None:
                    found.append((h.start(), idx, text[h.start():h.end() + 40]))
    for t in _TAIL_RE.finditer(text):
        idx = _index(t, text, choices)
        if idx is None or _negated(text, t.end()):
            continue
        found.append((t.start(), idx, t.group(0)))
    if not found:
        return None
    _, idx, span = max(found, key=lambda f: f[0])
    return Extraction(idx, "explicit" if idx is not None else "ambiguous", span.strip())


def _start(text: str, choices: tuple[str, ...]) -> Extraction | None:
    if len({m.group(1) for m in _LINE_LABEL_RE.finditer(text)}) >= 2:
        return None  # an echoed option list, not an answer
    body = text.lstrip()
    m = _START_RE.match(body)
    if not m:
        return None
    idx = _index(m, body, choices)
    if idx is None:
        return None
    if _ambiguous(body, m.end(), choices, idx):
        return Extraction(None, "ambiguous", body[:m.end() + 8].strip())
    rest = body[m.end():]
    marked = bool(m.group("open") or m.group("close") or m.group("bun"))
    nxt = rest[:1]
    if nxt == "" or nxt in ".):,;]:\n" or "\uac00" <= nxt <= "\ud7a3":
        return Extraction(idx, "start", body[:m.end() + 1].strip())
    if nxt in " \t":
        after = rest.lstrip(" \t")[:1]
        if marked or after in ("-", "–", "—", "") or "\uac00" <= after <= "\ud7a3":
            return Extraction(idx, "start", body[:m.end()].strip())
        if _option_text_at(rest, 0, choices) == idx:  # "B Planetary days will become shorter"
            return Extraction(idx, "start", body[:m.end()].strip())
    return None


def _last_line(text: str, choices: tuple[str, ...]) -> Extraction | None:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        return None
    last = lines[-1].strip()
    m = _LAST_LINE_RE.fullmatch(last)
    if not m:
        return None
    idx = _index(m, last, choices)
    return Extraction(idx, "last-line", last) if idx is not None else None


def _marked(raw: str, choices: tuple[str, ...]) -> Extraction | None:
    seen: dict[int, str] = {}
    for rx in _MARKED_RES:
        for m in rx.finditer(raw):
            tok = m.group(1)
            idx = int(tok) - 1 if tok.isdigit() else LETTERS.index(tok.upper())
            if idx < len(choices):
                seen.setdefault(idx, m.group(0))
    if not seen:
        return None
    if len(seen) > 1:
        return Extraction(None, "ambiguous", " ".join(seen.values()))
    (idx, span), = seen.items()
    return Extraction(idx, "marked", span)


def _option_text(text: str, choices: tuple[str, ...]) -> Extraction | None:
    hay = " " + _fold(text) + " "
    hits: list[int] = []
    for i, c in enumerate(choices):
        fc = _fold(c)
        if not fc:
            continue
        pattern = (r"(?<![A-Za-z0-9])" if fc[0].isascii() and fc[0].isalnum() else "") + re.escape(fc) \
            + (r"(?![A-Za-z0-9])" if fc[-1].isascii() and fc[-1].isalnum() else "")
        if re.search(pattern, hay):
            hits.append(i)
    folded = {i: _fold(choices[i]) for i in hits}
    hits = [i for i in hits if not any(j != i and folded[i] in folded[j] for j in hits)]
    if len(hits) == 1:
        return Extraction(hits[0], "option-text", choices[hits[0]])
    return Extraction(None, "ambiguous", "") if hits else None


def extract_choice(text: str, choices: tuple[str, ...]) -> Extraction:
    """Which option (0-based) a free-text answer chooses; see the module docstring for the rules."""
    norm = normalise(text)
    plain = _plain(norm)
    for rule in (lambda: _explicit(plain, choices), lambda: _start(plain, choices),
                 lambda: _last_line(plain, choices), lambda: _marked(norm, choices),
                 lambda: _option_text(plain, choices)):
        got = rule()
        if got is not None:
            return got
    return Extraction(None, "none")


def mcq_generate(item: Item, response: Generation, labels: str = LETTERS) -> Score:
    """1 if the option read from the answer text is the gold one.  ``labels`` only names options in output."""
    gold = mcq_gold(item)
    if response.unclosed_reasoning:
        return Score(value=0.0, detail={"rule": "none", "reason": "reasoning never closed", "gold": labels[gold]})
    ext = extract_choice(response.text, item.choices)
    extracted = labels[ext.index] if ext.index is not None else None
    detail = {"rule": ext.rule, "span": ext.span, "gold": labels[gold]}
    if ext.rule == "ambiguous":
        detail["reason"] = "several different options named"
    return Score(value=float(ext.index == gold), extracted=extracted, detail=detail)


SCORERS: tuple[ScorerInfo, ...] = (
    ScorerInfo("mcq_generate", mcq_generate, "generate"),
)
