"""IFEval's 25 verifiable instructions (Zhou et al., 2023), written for this project from the paper's and the
dataset's definitions.  Each checker is a pure function ``(response, **kwargs) -> bool``.

Where the original's behaviour is English-only the checks are made language-aware, and the choice is
stated on the checker: words and sentences are segmented by :mod:`.text` (Korean eojeol, unspaced
scripts); ``no_comma`` also refuses the full-width comma ``，``; ``quotation`` also accepts curly double
quotes.  Everything else follows the original definitions (e.g. keyword presence is a case-insensitive
substring test; forbidden words are whole-word matches; ``number_bullet_lists`` needs the exact count).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sovereval.bench.ifeval.text import count_sentences, count_words, words

Checker = Callable[..., bool]


@dataclass(frozen=True)
class Instruction:
    id: str
    fn: Checker
    params: tuple[str, ...]  # the kwargs it reads (all required)
    description: str


INSTRUCTIONS: dict[str, Instruction] = {}


def _register(iid: str, params: tuple[str, ...], description: str) -> Callable[[Checker], Checker]:
    def deco(fn: Checker) -> Checker:
        INSTRUCTIONS[iid] = Instruction(iid, fn, params, description)
        return fn

    return deco


def _relation(count: int, relation: str, n: int) -> bool:
    if relation == "less than":
        return count < n
    if relation == "at least":
        return count >= n
    raise ValueError(f"unknown relation {relation!r} (expected 'less than' or 'at least')")


def detect_language(text: str) -> str | None:
    """ISO 639-1 code by ``langdetect`` (seeded: deterministic), or None when it cannot tell."""
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return str(detect(text))
    except LangDetectException:
        return None


# ---------------------------------------------------------------------------------------------- keywords


@_register("keywords:existence", ("keywords",), "every keyword appears (case-insensitive)")
def keywords_existence(response: str, *, keywords: list[str]) -> bool:
    low = response.lower()
    return all(k.lower() in low for k in keywords)


@_register("keywords:frequency", ("keyword", "frequency", "relation"),
           "the keyword appears at least / less than N times (case-insensitive)")
def keywords_frequency(response: str, *, keyword: str, frequency: int, relation: str) -> bool:
    return _relation(response.lower().count(keyword.lower()), relation, int(frequency))


@_register("keywords:forbidden_words", ("forbidden_words",), "none of the words appears as a whole word")
def keywords_forbidden(response: str, *, forbidden_words: list[str]) -> bool:
    return not any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", response, re.IGNORECASE) for w in forbidden_words)


@_register("keywords:letter_frequency", ("letter", "let_frequency", "let_relation"),
           "the letter appears at least / less than N times (case-insensitive)")
def keywords_letter_frequency(response: str, *, letter: str, let_frequency: int, let_relation: str) -> bool:
    return _relation(response.lower().count(letter.lower()), let_relation, int(let_frequency))


# ---------------------------------------------------------------------------------------------- language


@_register("language:response_language", ("language",),
           "the whole response is in the language (langdetect; undetectable text passes, as in the original)")
def response_language(response: str, *, language: str) -> bool:
    found = detect_language(response)
    return found is None or found == language


# ---------------------------------------------------------------------------------------------- length


@_register("length_constraints:number_sentences", ("num_sentences", "relation"),
           "at least / less than N sentences (Korean-aware segmentation)")
def number_sentences(response: str, *, num_sentences: int, relation: str) -> bool:
    return _relation(count_sentences(response), relation, int(num_sentences))


@_register("length_constraints:number_words", ("num_words", "relation"),
           "at least / less than N words (Korean eojeol; one per Han/kana character)")
def number_words(response: str, *, num_words: int, relation: str) -> bool:
    return _relation(count_words(response), relation, int(num_words))


_DIVIDER = re.compile(r"\s?\*\*\*\s?")


@_register("length_constraints:number_paragraphs", ("num_paragraphs",),
           "exactly N paragraphs separated by the markdown divider ***")
def number_paragraphs(response: str, *, num_paragraphs: int) -> bool:
    parts = _DIVIDER.split(response)
    count = len(parts)
    for i, p in enumerate(parts):
        if not p.strip():
            if i in (0, len(parts) - 1):
                count -= 1
            else:
                return False  # an empty paragraph between two dividers
    return count == int(num_paragraphs)


_LEADING_PUNCT = "\"'“‘(*#「『《〈[ \t"


@_register("length_constraints:nth_paragraph_first_word", ("num_paragraphs", "nth_paragraph", "first_word"),
           "exactly N paragraphs separated by blank lines, the i-th starting with the word")
def nth_paragraph_first_word(response: str, *, num_paragraphs: int, nth_paragraph: int, first_word: str) -> bool:
    paragraphs = [p for p in re.split(r"\n\s*\n", response) if p.strip()]
    if len(paragraphs) != int(num_paragraphs) or not 1 <= int(nth_paragraph) <= len(paragraphs):
        return False
    para = paragraphs[int(nth_paragraph) - 1].strip().lstrip(_LEADING_PUNCT)
    found = words(para)
    return bool(found) and para.lower().startswith(found[0].lower()) and found[0].lower() == first_word.lower()


# ---------------------------------------------------------------------------------------------- content


@_register("detectable_content:number_placeholders", ("num_placeholders",),
           "at least N placeholders in square brackets, like [address]")
def number_placeholders(response: str, *, num_placeholders: int) -> bool:
    return len(re.findall(r"\[[^\[\]\n]*\]", response)) >= int(num_placeholders)


@_register("detectable_content:postscript", ("postscript_marker",), "a postscript starting with the marker")
def postscript(response: str, *, postscript_marker: str) -> bool:
    marker = postscript_marker.strip().lower()
    low = response.lower()
    if marker == "p.p.s":
        pattern = r"p\.\s?p\.\s?s"
    elif marker == "p.s.":
        pattern = r"p\.\s?s\."
    else:
        pattern = re.escape(marker)
    return re.search(rf"(?:^|\s){pattern}", low, re.MULTILINE) is not None


# ---------------------------------------------------------------------------------------------- format

_CONSTRAINED = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


@_register("detectable_format:constrained_response", (), "answers with one of the given options")
def constrained_response(response: str) -> bool:
    return any(opt in response.strip() for opt in _CONSTRAINED)


@_register("detectable_format:json_format", (), "the whole response is valid JSON (a ```json fence is allowed)")
def json_format(response: str) -> bool:
    text = response.strip()
    text = re.sub(r"^```(?:json|JSON|Json)?\s*", "", text)
    text = re.sub(r"\s*```$", "", text).strip()
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@_register("detectable_format:multiple_sections", ("section_spliter", "num_sections"),
           "at least N sections, each starting with '<spliter> <number>'")
def multiple_sections(response: str, *, section_spliter: str, num_sections: int) -> bool:
    parts = re.split(rf"\s?{re.escape(section_spliter.strip())}\s?\d+\s?", response)
    return len(parts) - 1 >= int(num_sections)


@_register("detectable_format:number_bullet_lists", ("num_bullets",),
           "exactly N markdown bullet points ('* ' or '- ' items)")
def number_bullet_lists(response: str, *, num_bullets: int) -> bool:
    stars = re.findall(r"^\s*\*[^\*].*$", response, re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", response, re.MULTILINE)
    return len(stars) + len(dashes) == int(num_bullets)


@_register("detectable_format:number_highlighted_sections", ("num_highlights",),
           "at least N sections highlighted with markdown, *like this*")
def number_highlighted_sections(response: str, *, num_highlights: int) -> bool:
    single = [h for h in re.findall(r"\*[^\n\*]*\*", response) if h.strip("*").strip()]
    double = [h for h in re.findall(r"\*\*[^\n\*]*\*\*", response) if h.strip("*").strip()]
    return len(single) + len(double) >= int(num_highlights)


@_register("detectable_format:title", (), "a title in double angular brackets, <<like this>>")
def title(response: str) -> bool:
    return any(t.strip() for t in re.findall(r"<<([^\n]+?)>>", response))


# ---------------------------------------------------------------------------------------------- combination


@_register("combination:two_responses", (), "two different responses separated by ******")
def two_responses(response: str) -> bool:
    parts = response.split("******")
    kept = []
    for i, p in enumerate(parts):
        if not p.strip():
            if i not in (0, len(parts) - 1):
                return False
        else:
            kept.append(p.strip())
    return len(kept) == 2 and kept[0] != kept[1]


@_register("combination:repeat_prompt", ("prompt_to_repeat",),
           "the response starts by repeating the request word for word")
def repeat_prompt(response: str, *, prompt_to_repeat: str) -> bool:
    return response.strip().lower().startswith(prompt_to_repeat.strip().lower())


# ---------------------------------------------------------------------------------------------- start/end


@_register("startend:end_checker", ("end_phrase",), "the response ends with the exact phrase")
def end_checker(response: str, *, end_phrase: str) -> bool:
    return response.strip().strip('"').lower().endswith(end_phrase.strip().lower())


@_register("startend:quotation", (), "the whole response is wrapped in double quotes")
def quotation(response: str) -> bool:
    text = response.strip()
    return len(text) > 1 and ((text[0] == '"' and text[-1] == '"') or (text[0] == "“" and text[-1] == "”"))


# ---------------------------------------------------------------------------------------------- case


def _capital_words(response: str) -> int:
    tokens = [t.strip(".,;:!?\"'()[]{}*") for t in response.split()]
    return sum(1 for t in tokens if t and t.isupper())


@_register("change_case:capital_word_frequency", ("capital_frequency", "capital_relation"),
           "at least / less than N words in ALL CAPITALS")
def capital_word_frequency(response: str, *, capital_frequency: int, capital_relation: str) -> bool:
    return _relation(_capital_words(response), capital_relation, int(capital_frequency))


@_register("change_case:english_capital", (), "English, entirely in capital letters")
def english_capital(response: str) -> bool:
    return response.isupper() and detect_language(response) == "en"


@_register("change_case:english_lowercase", (), "English, entirely in lowercase letters")
def english_lowercase(response: str) -> bool:
    return response.islower() and detect_language(response) == "en"


# ---------------------------------------------------------------------------------------------- punctuation


@_register("punctuation:no_comma", (), "no comma at all (ASCII ',' or full-width '，')")
def no_comma(response: str) -> bool:
    return "," not in response and "，" not in response


def check(instruction_id: str, response: str, kwargs: Mapping[str, Any] | None = None) -> bool:
    """Whether ``response`` follows one instruction; unknown ids and missing kwargs raise."""
    try:
        ins = INSTRUCTIONS[instruction_id]
    except KeyError:
        raise KeyError(f"unknown IFEval instruction {instruction_id!r}; known: {sorted(INSTRUCTIONS)}") from None
    given = {k: v for k, v in (kwargs or {}).items() if v is not None}
    missing = [p for p in ins.params if p not in given]
    if missing:
        raise ValueError(f"{instruction_id}: missing kwargs {missing}")
    return bool(ins.fn(response, **{p: given[p] for p in ins.params}))
