"""IFEval: every instruction type with a response that follows it and one that does not; loose variants;
Korean word and sentence segmentation; the real prompt file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sovereval.bench.ifeval import (
    DATA_FILE,
    INSTRUCTIONS,
    Prompt,
    accuracy,
    accuracy_by_instruction,
    check,
    count_sentences,
    count_words,
    evaluate_response,
    follows_loose,
    follows_strict,
    load_prompts,
    loose_variants,
    score_ifeval,
    split_sentences,
    words,
)
from sovereval.bench.types import Generation

DATA_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"

ESSAY = ("The river runs quietly through the old town. Children play on its banks every summer. "
         "Nobody remembers when the bridge was built.")

# (instruction id, kwargs, a response that follows it, a response that does not)
CASES: list[tuple[str, dict, str, str]] = [
    ("keywords:existence", {"keywords": ["bridge", "River"]}, ESSAY, "The town is old."),
    ("keywords:frequency", {"keyword": "cat", "frequency": 3, "relation": "at least"},
     "Cat, cat and CAT.", "One cat only."),
    ("keywords:frequency", {"keyword": "고양이", "frequency": 2, "relation": "less than"},
     "고양이가 잔다.", "고양이와 고양이가 논다."),
    ("keywords:forbidden_words", {"forbidden_words": ["run", "bark"]}, "The dog is running.", "Dogs RUN fast."),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 2, "let_relation": "at least"},
     "Zebras zigzag.", "Zebras run."),
    ("language:response_language", {"language": "ko"},
     "서울은 대한민국의 수도이며 정치, 경제, 문화의 중심지입니다. 많은 사람들이 살고 있습니다.",
     "Seoul is the capital of South Korea and a center of politics and culture."),
    ("language:response_language", {"language": "de"},
     "Berlin ist die Hauptstadt von Deutschland und eine sehr schöne Stadt mit vielen Museen.",
     "Berlin is the capital of Germany and a very beautiful city with many museums."),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"},
     "첫 문장입니다. 두 번째 문장이에요!", "하나. 둘. 셋이다."),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "at least"}, ESSAY, "One. Two."),
    ("length_constraints:number_words", {"num_words": 5, "relation": "at least"},
     "나는 오늘 학교에서 친구를 만났다.", "나는 학교에 갔다."),
    ("length_constraints:number_words", {"num_words": 4, "relation": "less than"}, "Hi there friend.",
     "This has exactly four."),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 3},
     "First part.\n***\nSecond part.\n***\nThird part.", "First.\n***\n\n***\nThird."),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "however"},
     "Intro text.\n\n\"However, the end.\"", "Intro text.\n\nBut the end."),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 2, "nth_paragraph": 1, "first_word": "서울은"},
     "서울은 크다.\n\n부산은 바다가 있다.", "서울은 크다."),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Dear [name], at [address].",
     "Dear [name], hello."),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Main text.\n\nP.S. See you.", "Main text."),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Text.\nP.P.S. Bye.", "Text.\nP.S. Bye."),
    ("detectable_format:constrained_response", {}, "My answer is maybe.", "Maybe, who knows."),
    ("detectable_format:json_format", {}, '```json\n{"a": [1, 2]}\n```', '{"a": [1, 2]'),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1\nintro\nSection 2\nbody", "Section 1\nonly one"),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* one\n* two", "* one\n* two\n- three"),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*first* and **second**",
     "*first* and ** **"),
    ("detectable_format:title", {}, "<<A Poem>>\nroses", "<< >>\nroses"),
    ("combination:two_responses", {}, "Answer one.\n******\nAnswer two.", "Same.\n******\nSame."),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem."}, "write a poem. Roses are red.",
     "Roses are red. Write a poem."),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Done. Any other questions?",
     "Any other questions? Done."),
    ("startend:quotation", {}, '"Wrapped in quotes."', '"Only opening.'),
    ("startend:quotation", {}, "“따옴표로 감싼 답”", "따옴표 없음"),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "at least"},
     "This is VERY IMPORTANT.", "This is Very Important."),
    ("change_case:english_capital", {}, "THIS IS ALL IN CAPITAL LETTERS AND IT IS ENGLISH.",
     "THIS IS MOSTLY CAPITALS but not all."),
    ("change_case:english_lowercase", {}, "this is all in lowercase letters and it is english.",
     "This starts with a capital letter and is English."),
    ("punctuation:no_comma", {}, "No commas here at all.", "One, two."),
    ("punctuation:no_comma", {}, "쉼표가 없습니다.", "하나，둘."),
]


def test_every_instruction_type_is_covered() -> None:
    assert len(INSTRUCTIONS) == 25
    assert {c[0] for c in CASES} == set(INSTRUCTIONS)


@pytest.mark.parametrize(("iid", "kwargs", "good", "bad"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_instruction_followed_and_violated(iid: str, kwargs: dict, good: str, bad: str) -> None:
    assert check(iid, good, kwargs) is True
    assert check(iid, bad, kwargs) is False
    assert follows_strict(iid, good, kwargs) and not follows_strict(iid, bad, kwargs)


def test_bad_kwargs_and_unknown_ids_raise() -> None:
    with pytest.raises(KeyError):
        check("keywords:nonsense", "x", {})
    with pytest.raises(ValueError):
        check("keywords:frequency", "x", {"keyword": "x", "relation": "at least"})
    with pytest.raises(ValueError):
        check("keywords:frequency", "x", {"keyword": "x", "frequency": 1, "relation": "about"})


# --------------------------------------------------------------------------------------------------
# Loose
# --------------------------------------------------------------------------------------------------


def test_loose_variants() -> None:
    v = loose_variants("Sure!\n**Body** text\nHope this helps")
    assert v[0] == "Sure!\n**Body** text\nHope this helps"
    assert "**Body** text\nHope this helps" in v and "Sure!\n**Body** text" in v and "**Body** text" in v
    assert "Body text" in v and len(v) == 8
    assert loose_variants("one line") == ["one line", "one line"]


def test_loose_forgives_preamble_closing_line_and_asterisks() -> None:
    quoted = 'Here you go:\n"All wrapped up."'
    assert not follows_strict("startend:quotation", quoted) and follows_loose("startend:quotation", quoted)
    ending = "Sure, the answer follows.\nMy answer is yes.\nLet me know if you need more."
    assert follows_loose("startend:end_checker", ending, {"end_phrase": "My answer is yes."})
    assert not follows_strict("startend:end_checker", ending, {"end_phrase": "My answer is yes."})
    starred = "*hello* world"
    assert not follows_strict("keywords:existence", starred, {"keywords": ["hello world"]})
    assert follows_loose("keywords:existence", starred, {"keywords": ["hello world"]})
    # loose never rescues a response that violates in every variant
    assert not follows_loose("punctuation:no_comma", "a, b\nc, d\ne, f")
    # an empty response follows nothing strictly
    assert not follows_strict("punctuation:no_comma", "   ")


def test_prompt_and_instruction_level_accuracy() -> None:
    p1 = Prompt(key=1, prompt="p", instruction_ids=("punctuation:no_comma", "startend:quotation"), kwargs=({}, {}))
    p2 = Prompt(key=2, prompt="p", instruction_ids=("punctuation:no_comma",), kwargs=({},))
    r1 = evaluate_response(p1, 'Sure:\n"no commas"')  # comma rule ok; quotation only loosely
    r2 = evaluate_response(p2, "a, b")
    assert r1.strict == (True, False) and r1.loose == (True, True)
    acc = accuracy([r1, r2])
    assert acc.prompt_strict == 0.0 and acc.prompt_loose == 0.5
    assert acc.instruction_strict == pytest.approx(1 / 3) and acc.instruction_loose == pytest.approx(2 / 3)
    assert accuracy_by_instruction([r1, r2]) == {"punctuation:no_comma": 0.5, "startend:quotation": 0.0}


def test_repeat_prompt_defaults_to_the_prompt() -> None:
    p = Prompt(key=1, prompt="Say hi.", instruction_ids=("combination:repeat_prompt",), kwargs=({},))
    assert evaluate_response(p, "Say hi. Hi!").strict == (True,)


def test_scorer() -> None:
    from sovereval.bench.spec import Item

    item = Item(id="k1", fields={"prompt": "x", "instruction_id_list": ["punctuation:no_comma", "startend:quotation"],
                                 "kwargs": [{}, {}]})
    resp = Generation(text='Sure:\n"no commas"')
    assert score_ifeval(item, resp).value == 0.0
    assert score_ifeval(item, resp, mode="loose").value == 1.0
    assert score_ifeval(item, resp, level="instruction").value == 0.5
    assert score_ifeval(item, resp).detail["loose"] == [True, True]


# --------------------------------------------------------------------------------------------------
# Korean segmentation
# --------------------------------------------------------------------------------------------------


def test_korean_words_are_eojeol_without_punctuation() -> None:
    assert words("나는 오늘 학교에서 친구를 만났다.") == ["나는", "오늘", "학교에서", "친구를", "만났다"]
    assert count_words("좋아요! 정말, 좋아요...") == 3
    assert count_words("AI기술을   배웠다") == 2
    assert count_words("東京タワー") == 5  # unspaced scripts: one word per character
    assert count_words("Don't stop me now") == 5  # English: IFEval's \w+ tokens


def test_korean_sentences() -> None:
    text = "서울은 한국의 수도다. 인구는 약 940만 명이에요! 정말요? 원주율은 3.14이다\n다음 줄은 마침표가 없다"
    assert split_sentences(text) == ["서울은 한국의 수도다.", "인구는 약 940만 명이에요!", "정말요?",
                                     "원주율은 3.14이다", "다음 줄은 마침표가 없다"]
    assert count_sentences("그가 말했다. “정말 그래?” 나는 웃었다。 끝！") == 4
    assert count_sentences("") == 0


def test_english_sentences_keep_abbreviations_and_numbers() -> None:
    s = 'Dr. Smith met J. K. Rowling in 2.5 hours, e.g. quickly. It was fun... Really?! "Yes." Done'
    assert split_sentences(s) == ["Dr. Smith met J. K. Rowling in 2.5 hours, e.g. quickly.", "It was fun...",
                                  "Really?!", '"Yes."', "Done"]


# --------------------------------------------------------------------------------------------------
# Real data
# --------------------------------------------------------------------------------------------------


def test_real_prompts_load_and_every_kwarg_is_understood() -> None:
    path = DATA_ROOT / DATA_FILE
    if not path.exists():
        reason = f"IFEval data not found at {path}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    prompts = load_prompts(path)
    assert len(prompts) == 541
    assert {i for p in prompts for i in p.instruction_ids} == set(INSTRUCTIONS)
    # a response that starts with the request to repeat follows those instructions; no checker raises
    def reply(p: Prompt) -> str:
        rep = [kw["prompt_to_repeat"] for kw in p.kwargs if kw.get("prompt_to_repeat")]
        return "\n".join([*rep, p.prompt])

    results = [evaluate_response(p, reply(p)) for p in prompts]
    acc = accuracy(results)
    assert acc.n_prompts == 541 and acc.n_instructions == sum(len(p.instruction_ids) for p in prompts)
    assert 0.0 < acc.instruction_strict <= acc.instruction_loose < 1.0
    by = accuracy_by_instruction(results)
    assert by["combination:repeat_prompt"] == 1.0 and by["detectable_format:json_format"] == 0.0
