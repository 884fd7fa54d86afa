"""Scorers on hand-checked fixtures: answer extraction, likelihood metrics, numbers, LaTeX, strings.

Expected letters and values below were checked by hand.  The real-data tests (GSM8K, MATH-500 gold
answers used as model outputs) skip without ``../shared/benchmarks`` unless ``CI=true``.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from sovereval.bench import catalog
from sovereval.bench.data import load_items
from sovereval.bench.scorers import Score, extract_choice, extract_number
from sovereval.bench.scorers.match import normalise_answer
from sovereval.bench.spec import Item
from sovereval.bench.suites import core
from sovereval.bench.types import Generation, Loglik
from tests.helpers import bench_data_root

SCORERS = catalog.build().scorers  # name -> ScorerInfo
score = catalog.build().score  # (decl, item, response) -> Score with the declaration's scorer and parameters


CITIES = ("Paris", "London", "Berlin", "Madrid")
NUMS = ("10", "12", "14", "16")
EVENS = ("2", "4", "6", "8")
KO = ("서울", "부산", "대구", "인천")


@pytest.fixture(scope="module")
def data_root() -> Path:
    return bench_data_root()


def gen(text: str, **kw: object) -> Generation:
    return Generation(text=text, **kw)  # type: ignore[arg-type]


def loglik(*lps: float, n_chars: tuple[int, ...] | None = None) -> Loglik:
    n = len(lps)
    return Loglik(logprobs=lps, n_tokens=(1,) * n, n_chars=n_chars or (1,) * n, is_greedy=(False,) * n)


# --------------------------------------------------------------------------------------------------
# Multiple choice by generation: (response, options, expected letter or None)
# --------------------------------------------------------------------------------------------------

MCQ_CASES = [
    # the forms the brief lists
    ("(B)", CITIES, "B"),
    ("B.", CITIES, "B"),
    ("Answer: B", CITIES, "B"),
    ("The answer is B", CITIES, "B"),
    ("정답은 (B)", KO, "B"),
    ("정답: B", KO, "B"),
    ("따라서, 정답은: B", KO, "B"),
    ("**B**", CITIES, "B"),
    ("B) London is the capital of the United Kingdom.", CITIES, "B"),
    ("The answer is London.", CITIES, "B"),
    # helm#2939: "C. 12" was marked wrong by a format-strict scorer
    ("C. 12", NUMS, "C"),
    ("C) 12", NUMS, "C"),
    ("The correct answer is C. 12", NUMS, "C"),
    ("Answer: C: 12", NUMS, "C"),
    # full-width forms and Korean numbering
    ("Ｂ", CITIES, "B"),
    ("（Ｂ）", CITIES, "B"),
    ("정답：Ｃ", KO, "C"),
    ("정답 : Ｄ", KO, "D"),
    ("Ｔｈｅ ａｎｓｗｅｒ ｉｓ Ｄ", CITIES, "D"),
    ("③", KO, "C"),
    ("정답은 ③번입니다.", KO, "C"),
    ("답은 ②입니다", KO, "B"),
    ("답은 ④", KO, "D"),
    ("④번이 정답입니다", KO, "D"),
    ("1번", KO, "A"),
    ("정답은 2번", KO, "B"),
    ("정답 번호는 4번입니다.", KO, "D"),
    ("각 보기를 살펴보면, ①은 틀렸고 ③이 맞다. 따라서 정답은 ③이다.", KO, "C"),
    ("1. 서울 2. 부산 3. 대구 4. 인천 중 정답: 2", KO, "B"),
    # Korean answer phrases
    ("B가 정답입니다.", KO, "B"),
    ("정답은 C입니다", KO, "C"),
    ("정답은 C 입니다", KO, "C"),
    ("C 입니다", KO, "C"),
    ("정답:C", KO, "C"),
    ("답: 4", KO, "D"),
    ("답변: B", KO, "B"),
    ("**정답: C**", KO, "C"),
    ("최종 답: **D**", KO, "D"),
    ("정답은 (C) 대구입니다", KO, "C"),
    ("따라서 B입니다.", KO, "B"),
    ("(A) 서울은 수도이므로 정답은 (A)", KO, "A"),
    ("정답은 서울입니다.", KO, "A"),
    ("서울입니다.", KO, "A"),
    ("부산", KO, "B"),
    ("정답은 A가 아니라 D입니다.", KO, "D"),
    # English answer phrases
    ("The answer: B", CITIES, "B"),
    ("Answer - D", CITIES, "D"),
    ("Correct answer: D", CITIES, "D"),
    ("The best answer is C.", CITIES, "C"),
    ("So the answer is A.", CITIES, "A"),
    ("Therefore, D.", CITIES, "D"),
    ("I choose C", CITIES, "C"),
    ("I would go with B.", CITIES, "B"),
    ("Option C is the correct answer.", CITIES, "C"),
    ("The correct option is (b).", CITIES, "B"),
    ("I think the answer is definitely B.", CITIES, "B"),
    ("The answer is (B) London", CITIES, "B"),
    ("The answer is B) London", CITIES, "B"),
    ("The answer is: C) Berlin", CITIES, "C"),
    ("**Answer: C**", CITIES, "C"),
    ("\\boxed{C}", CITIES, "C"),
    ("$\\boxed{\\text{B}}$", CITIES, "B"),
    ("Final Answer: The final answer is $\\boxed{B}$. I hope it is correct.", CITIES, "B"),
    ("The answer is (B) because (A) is wrong", CITIES, "B"),
    ("Answer: C\nExplanation: A is wrong", CITIES, "C"),
    ("Answer: Because Berlin is the capital of Germany, C.", CITIES, "C"),
    ("answer is b", CITIES, "B"),
    ("Option B", CITIES, "B"),
    ("b", CITIES, "B"),
    ("(b)", CITIES, "B"),
    # the last explicit answer wins over earlier mentions (self-correction, reasoning first)
    ("Let me think. Option A is wrong because it is in France... The answer is (D).", CITIES, "D"),
    ("Answer: A. Wait, actually, the answer is C.", CITIES, "C"),
    ("Both A and C are correct, but the best answer is C.", CITIES, "C"),
    ("B is not correct; the answer is A", CITIES, "A"),
    ("Paris and London are both big; the answer is London", CITIES, "B"),
    ("A. Paris\nB. London\nC. Berlin\nD. Madrid\nAnswer: D", CITIES, "D"),
    # a label alone on the last line / marked once
    ("Reasoning about each capital...\n\n**(C)**", CITIES, "C"),
    ("Long reasoning here.\nC", CITIES, "C"),
    ("London (B)", CITIES, "B"),
    # option text instead of a letter
    ("The answer is a bit tricky. It is Berlin.", CITIES, "C"),
    ("A recent study suggests the capital is Madrid.", CITIES, "D"),
    ("It's Madrid.", CITIES, "D"),
    ("Because of the location, Paris fits.", CITIES, "A"),
    # numbers: option values vs option positions
    ("The answer is 12", NUMS, "B"),
    ("12", NUMS, "B"),
    ("The answer is 14.", NUMS, "C"),
    ("Answer: (A) 10", NUMS, "A"),
    ("The answer is 2", EVENS, "A"),  # a bare number equal to an option's text is that option
    ("The answer is (2)", EVENS, "B"),  # a marked number is a position
    ("The answer is 3.", CITIES, "C"),
    # refused: ambiguous, negated, out of range, nothing
    ("A or C", CITIES, None),
    ("The answer is A or C.", CITIES, None),
    ("The answer is either A or B", CITIES, None),
    ("(A) and (C) are both plausible.", CITIES, None),
    ("정답은 A와 C입니다", KO, None),
    ("정답은 A, C", KO, None),
    ("B 또는 D", KO, None),
    ("A. Paris\nB. London\nC. Berlin\nD. Madrid", CITIES, None),  # an echoed option list
    ("정답은 A가 아니다.", KO, None),
    ("The answer is not B.", CITIES, None),
    ("E", CITIES, None),
    ("The answer is E.", CITIES, None),
    ("", CITIES, None),
    ("I don't know.", CITIES, None),
    ("As an AI, I cannot answer.", CITIES, None),
]


@pytest.mark.parametrize(("text", "options", "expected"), MCQ_CASES, ids=[repr(c[0])[:40] for c in MCQ_CASES])
def test_extract_choice(text: str, options: tuple[str, ...], expected: str | None) -> None:
    ext = extract_choice(text, options)
    got = "ABCD"[ext.index] if ext.index is not None else None
    assert got == expected, ext


def test_mcq_cases_are_many_and_cover_korean() -> None:
    assert len(MCQ_CASES) >= 90
    assert sum(1 for _, o, _ in MCQ_CASES if o is KO) >= 30


def test_mcq_generate_scorer() -> None:
    item = Item(id="q", fields={"question": "capital of Germany?"}, answer=2, choices=CITIES)
    right = SCORERS["mcq_generate"](item, gen("이 문제를 풀어 보면... 따라서, 정답은: (C)"))
    assert right == Score(value=1.0, extracted="C",
                          detail={"rule": "explicit", "span": "정답은: (C)", "gold": "C"})
    wrong = SCORERS["mcq_generate"](item, gen("The answer is (B)."))
    assert wrong.value == 0.0 and wrong.extracted == "B"
    refused = SCORERS["mcq_generate"](item, gen("A or C"))
    assert refused.value == 0.0 and refused.extracted is None
    ambiguous = SCORERS["mcq_generate"](item, gen("정답은 A와 C입니다"))
    assert ambiguous.detail["rule"] == "ambiguous" and "several" in ambiguous.detail["reason"]
    unclosed = SCORERS["mcq_generate"](item, gen("", reasoning="thinking... C", unclosed_reasoning=True))
    assert unclosed.value == 0.0 and unclosed.detail["reason"] == "reasoning never closed"


def test_mcq_generate_on_real_kmmlu_items(data_root: Path) -> None:
    items = load_items(core.KMMLU_GEN, data_root)
    for it in items:
        letter = "ABCD"[it.answer]  # type: ignore[index]
        wrong = "ABCD"[(it.answer + 1) % 4]  # type: ignore[operator]
        assert score(core.KMMLU_GEN, it, gen(f"추론 요약: ...\n따라서, 정답은: ({letter})")).value == 1.0
        assert score(core.KMMLU_GEN, it, gen(f"따라서, 정답은: {wrong}")).value == 0.0


# --------------------------------------------------------------------------------------------------
# Multiple choice by log-likelihood, TruthfulQA MC1 / MC2
# --------------------------------------------------------------------------------------------------


def test_mcq_loglik_acc_and_acc_norm() -> None:
    item = Item(id="q", answer=1, choices=("a cat", "an elephant", "a dog", "a bird"))
    lps = (-6.0, -9.0, -7.0, -8.0)
    # acc: argmax of raw log-likelihoods is option 0 -> wrong
    # acc_norm by option length (5, 11, 5, 6): -1.2, -0.818, -1.4, -1.333 -> option 1 -> right
    s = SCORERS["mcq_loglik"](item, loglik(*lps), metric="acc", norm_by="choice")
    assert s.value == 0.0 and s.extracted == "0" and s.detail["acc_norm"] == 1.0 and s.detail["pred_norm"] == 1
    s = SCORERS["mcq_loglik"](item, loglik(*lps), metric="acc_norm", norm_by="choice")
    assert s.value == 1.0 and s.extracted == "1"
    # by the continuation lengths the backend measured (" a cat" = 6 ... ): -1.0, -0.75, -1.17, -1.14 -> 1
    s = SCORERS["mcq_loglik"](item, loglik(*lps, n_chars=(6, 12, 6, 7)), metric="acc_norm")
    assert s.value == 1.0
    tie = SCORERS["mcq_loglik"](item, loglik(-1.0, -1.0, -2.0, -3.0))
    assert tie.detail["pred"] == 0  # ties go to the first option, as lm-eval's argmax
    with pytest.raises(ValueError, match="3 log-likelihoods for 4 options"):
        SCORERS["mcq_loglik"](item, loglik(-1.0, -2.0, -3.0))


def test_truthfulqa_mc1() -> None:
    item = Item(id="q", answer=0, choices=("Nothing happens.", "You grow watermelons.", "You die."))
    mc1 = SCORERS["truthfulqa_mc1"]
    assert mc1(item, loglik(-2.0, -2.5, -4.0)).value == 1.0
    assert mc1(item, loglik(-3.0, -2.5, -4.0)).value == 0.0
    assert mc1(item, loglik(-2.0, -2.0, -4.0)).value == 0.0  # a tie is not "above every false answer"
    assert mc1(item, loglik(-2.0, -2.5, -4.0)).detail["margin"] == pytest.approx(0.5)


def test_truthfulqa_mc2() -> None:
    item = Item(id="q", answer=(0, 1), choices=("t1", "t2", "f1", "f2"))
    mc2 = SCORERS["truthfulqa_mc2"]
    # probabilities 0.4, 0.2 (true) and 0.3, 0.1 (false): mass on the true answers 0.6
    s = mc2(item, loglik(math.log(0.4), math.log(0.2), math.log(0.3), math.log(0.1)))
    assert s.value == pytest.approx(0.6)
    # unnormalised: (e^-1 + e^-2) / (e^-1 + e^-2 + e^-1 + e^-3) = 0.503215 / 0.920880 = 0.546449
    assert mc2(item, loglik(-1.0, -2.0, -1.0, -3.0)).value == pytest.approx(0.546449, abs=1e-6)
    # very small log-likelihoods neither underflow nor divide by zero
    assert mc2(item, loglik(-1000.0, -1000.0, -1000.0, -1000.0)).value == pytest.approx(0.5)
    assert mc2(item, loglik(-5.0, -900.0, -900.0, -900.0)).value == pytest.approx(1.0)
    with pytest.raises(ValueError, match="tuple of true option indices"):
        mc2(Item(id="q", answer=0, choices=("a", "b")), loglik(-1.0, -2.0))


def test_truthfulqa_on_real_items(data_root: Path) -> None:
    mc1_items = load_items(core.TRUTHFULQA_MC1, data_root)
    mc2_items = load_items(core.TRUTHFULQA_MC2, data_root)
    for a, b in zip(mc1_items[:50], mc2_items[:50], strict=True):
        n1, n2 = len(a.choices), len(b.choices)
        best_first = loglik(*([-1.0] + [-5.0] * (n1 - 1)))
        assert score(core.TRUTHFULQA_MC1, a, best_first).value == 1.0
        n_true = len(b.answer)  # type: ignore[arg-type]
        uniform = loglik(*([-3.0] * n2))
        assert score(core.TRUTHFULQA_MC2, b, uniform).value == pytest.approx(n_true / n2)


# --------------------------------------------------------------------------------------------------
# Numbers (GSM8K)
# --------------------------------------------------------------------------------------------------

NUMERIC_CASES = [
    ("#### 1,234", "1234", 1.0),
    ("The answer is $1,234.00.", "1234", 1.0),
    ("So she makes 9 * 2 = $18 every day.", "18", 1.0),
    ("Janet sells 16 - 3 - 4 = 9 duck eggs a day.", "9", 1.0),  # "- 3" after a number is subtraction
    ("16-3-4=9", "9", 1.0),
    ("Answer: -5", "-5", 1.0),
    ("The temperature fell to −5 degrees.", "-5", 1.0),  # U+2212 minus
    ("The answer is 3 + 5 = 8.", "8", 1.0),
    ("The answer is 0.5", "1/2", 1.0),
    ("\\boxed{42}", "42", 1.0),
    ("$\\boxed{\\frac{3}{4}}$", "0.75", 1.0),
    ("The price rose by 25%.", "25", 1.0),
    ("€ 7.50 in total, so the answer is 7.5", "7.5", 1.0),
    ("정답: 8개", "8", 1.0),
    ("답은 12입니다.", "12", 1.0),
    ("모두 합하면 1,500원입니다.", "1500", 1.0),
    ("총 3만 원이 필요합니다.", "30000", 1.0),
    ("18.00", "18", 1.0),
    ("#### 17\nWait, the answer is 18.", "18", 0.0),  # an explicit '####' line wins
    ("The answer is 19.", "18", 0.0),
    ("I don't know.", "18", 0.0),
]


@pytest.mark.parametrize(("text", "gold", "value"), NUMERIC_CASES, ids=[c[0][:30] for c in NUMERIC_CASES])
def test_numeric(text: str, gold: str, value: float) -> None:
    assert SCORERS["numeric"](Item(id="q", answer=gold), gen(text)).value == value


def test_numeric_strict_and_detail() -> None:
    item = Item(id="q", answer="18")
    s = SCORERS["numeric"](item, gen("She makes $18. The answer is 18."))
    assert (s.value, s.extracted, s.detail["rule"], s.detail["strict"]) == (1.0, "18", "phrase", 0.0)
    assert SCORERS["numeric"](item, gen("The answer is 18."), require_hashes=True).value == 0.0
    assert SCORERS["numeric"](item, gen("so\n#### 18"), require_hashes=True).value == 1.0
    assert extract_number("no number here") == (None, "none")
    none = SCORERS["numeric"](item, gen("no idea"))
    assert none.extracted is None and none.value == 0.0
    unclosed = SCORERS["numeric"](item, gen("", unclosed_reasoning=True))
    assert unclosed.value == 0.0 and "never closed" in unclosed.detail["reason"]
    with pytest.raises(ValueError, match="not a single number"):
        SCORERS["numeric"](Item(id="q", answer="eighteen"), gen("18"))


def test_numeric_on_real_gsm8k(data_root: Path) -> None:
    items = load_items(core.GSM8K, data_root)
    assert len(items) == 1319
    for it in items:
        solution = it.fields["solution"]
        full = score(core.GSM8K, it, gen(solution))  # the reference solution as a model output
        assert full.value == 1.0 and full.detail["strict"] == 1.0, (it.id, solution[-40:])
        assert score(core.GSM8K, it, gen(f"The answer is {it.answer}.")).value == 1.0
        wrong = int(float(str(it.answer))) + 1
        assert score(core.GSM8K, it, gen(f"The answer is {wrong}.")).value == 0.0


# --------------------------------------------------------------------------------------------------
# LaTeX math (MATH-500)
# --------------------------------------------------------------------------------------------------

MATH_CASES = [
    ("\\frac{1}{2}", "\\boxed{0.5}", 1.0),
    ("\\frac{1}{2}", "Therefore the answer is \\boxed{\\dfrac12}.", 1.0),
    ("\\frac{1}{2}", "so \\boxed{1/2}.", 1.0),
    ("\\frac{1}{2}", "The answer is $\\frac{1}{2}$", 1.0),
    ("[2,5)", "\\boxed{[2, 5)}", 1.0),
    ("[2,5)", "\\boxed{(2,5)}", 0.0),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\boxed{(3, \\pi/2)}", 1.0),
    ("x^2+2x+1", "\\boxed{(x+1)^2}", 1.0),
    ("3\\sqrt{2}", "\\boxed{\\sqrt{18}}", 1.0),
    ("\\{1,2\\}", "\\boxed{\\{2,1\\}}", 1.0),
    ("10\\%", "\\boxed{10}", 1.0),
    ("5", "I think 4, no wait. \\boxed{5}", 1.0),
    ("\\frac{1}{2}", "\\boxed{\\frac{1}{3}}", 0.0),
    ("5", "\\boxed{5} but actually \\boxed{6}", 0.0),
]


@pytest.mark.parametrize(("gold", "text", "value"), MATH_CASES, ids=[c[1][:30] for c in MATH_CASES])
def test_math_equiv(gold: str, text: str, value: float) -> None:
    assert SCORERS["math_equiv"](Item(id="q", answer=gold), gen(text)).value == value


def test_math_equiv_never_crashes() -> None:
    item = Item(id="q", answer="\\frac{1}{2}")
    for text in ("\\boxed{", "", "}}}{{{", "\\frac{1}{", "$$$", "\\boxed{\\sqrt{}}"):
        s = SCORERS["math_equiv"](item, gen(text))
        assert s.value == 0.0 and s.detail.get("reason"), text
    unclosed = SCORERS["math_equiv"](item, gen("", unclosed_reasoning=True))
    assert unclosed.value == 0.0
    out: list[Score] = []
    t = threading.Thread(target=lambda: out.append(SCORERS["math_equiv"](item, gen("\\boxed{0.5}"))))
    t.start()
    t.join()
    assert out[0].value == 1.0  # works off the main thread (SIGALRM timeouts off there)


def test_math_equiv_on_real_math500(data_root: Path) -> None:
    items = load_items(core.MATH500, data_root)
    for it in items:
        s = score(core.MATH500, it, gen(f"Reasoning...\nThe final answer is $\\boxed{{{it.answer}}}$."))
        assert s.value == 1.0, (it.id, it.answer, s.detail)
    wrong = score(core.MATH500, items[0], gen("\\boxed{(3, \\pi)}"))
    assert wrong.value == 0.0


# --------------------------------------------------------------------------------------------------
# Exact and normalised match
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("pred", "gold", "value"), [
    ("Paris", "paris", 1.0),
    ("  The Eiffel   Tower! ", "the eiffel tower", 1.0),
    ("ＰＡＲＩＳ", "Paris", 1.0),
    ("서울입니다.", "서울", 1.0),
    ("고양이다", "고양이", 1.0),
    ("10개예요", "10개", 1.0),
    ("대한 민국", "대한민국", 1.0),  # Korean spacing varies
    ("세종 대왕.", "세종대왕", 1.0),
    ("부산", "서울", 0.0),
    ("서울특별시", "서울", 0.0),
    ("Paris, France", "Paris", 0.0),
])
def test_normalised_match(pred: str, gold: str, value: float) -> None:
    assert SCORERS["normalised_match"](Item(id="q", answer=gold), gen(pred)).value == value


def test_exact_match_and_aliases() -> None:
    item = Item(id="q", answer="Seoul", fields={"aliases": ["서울", "Seoul City"]})
    em = SCORERS["exact_match"]
    assert em(item, gen(" Seoul\n")).value == 1.0
    assert em(item, gen("seoul")).value == 0.0
    assert em(item, gen("서울"), aliases="aliases").value == 1.0
    assert SCORERS["normalised_match"](item, gen("seoul city"), aliases="aliases").value == 1.0
    assert normalise_answer("  Ｈｅｌｌｏ,  World! ") == "hello world"
    with pytest.raises(ValueError, match="text answer"):
        em(Item(id="q", answer=(0, 1)), gen("x"))


# --------------------------------------------------------------------------------------------------
# Catalog and contract
# --------------------------------------------------------------------------------------------------


def test_catalog_scorers_and_contract() -> None:
    # the core scorers; suites (HumanEval, IFEval, KoBBQ, long context) list theirs beside them
    assert set(SCORERS) >= {"mcq_generate", "mcq_loglik", "truthfulqa_mc1", "truthfulqa_mc2", "exact_match",
                            "normalised_match", "numeric", "math_equiv"}
    assert {d.scorer.name for d in catalog.build().benchmarks.values() if d.mode != "episode"} <= set(SCORERS)
    item = Item(id="q", answer=0, choices=("a", "b"))
    with pytest.raises(TypeError, match="reads Loglik"):
        SCORERS["mcq_loglik"](item, gen("A"))
    with pytest.raises(TypeError, match="reads Generation"):
        SCORERS["mcq_generate"](item, loglik(-1.0, -2.0))
    with pytest.raises(ValidationError):
        Score(value=1.5)
    with pytest.raises(ValueError, match="not an index"):
        SCORERS["mcq_generate"](Item(id="q", answer=5, choices=("a", "b")), gen("A"))
    # score() applies the declaration's parameters: ARC reports acc_norm by option length
    arc_item = Item(id="q", answer=1, choices=("a cat", "an elephant"))
    s = score(core.ARC_EASY, arc_item, loglik(-6.0, -9.0))
    assert s.value == 1.0 and s.detail["acc"] == 0.0
