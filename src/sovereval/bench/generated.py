"""A suite the project generates itself: arithmetic word problems in Korean and English.

Deterministic from a seed (``random.Random`` seeded with a string, which does not depend on
``PYTHONHASHSEED``), needs no data directory, and has answers that are verifiable by construction (each
record keeps its ``expression``).  It backs the demo when ``../shared/benchmarks`` is absent, and is
useful as a smoke test of a backend: a working model should score high on it.

Two forms per language: ``generate`` (free-text answer, ``numeric`` scorer) and a 4-option ``loglik``
multiple choice whose distractors are typical slips (off by one or ten, the wrong operation).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Literal

from sovereval.bench.spec import (
    BenchmarkDecl,
    FewShot,
    FieldMap,
    Generated,
    GeneratorInfo,
    ScorerRef,
    Template,
)
from sovereval.bench.types import Sampling

_KO_NAMES = ("철수", "영희", "민준", "지우", "서연", "하준", "수빈", "도윤")
_EN_NAMES = ("Alice", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hiro")


def topic(name: str) -> str:
    """The Korean topic particle for ``name``: 은 after a final consonant (받침), 는 after a vowel."""
    last = name[-1]
    if not "\uac00" <= last <= "\ud7a3":
        return name + "는"
    return name + ("은" if (ord(last) - 0xAC00) % 28 else "는")


Problem = tuple[str, str, int, list[int]]  # question, expression, answer, slips (plausible wrong answers)


def _add(rng: random.Random, lang: str) -> Problem:
    a, b = rng.randint(2, 60), rng.randint(2, 60)
    if lang == "ko":
        q = f"{topic(rng.choice(_KO_NAMES))} 사과를 {a}개 가지고 있었고 {b}개를 더 샀습니다. 사과는 모두 몇 개입니까?"
    else:
        n = rng.choice(_EN_NAMES)
        q = f"{n} had {a} apples and bought {b} more. How many apples does {n} have now?"
    return q, f"{a}+{b}", a + b, [abs(a - b), a + b + 10]


def _sub(rng: random.Random, lang: str) -> Problem:
    a = rng.randint(20, 99)
    b = rng.randint(1, a - 1)
    if lang == "ko":
        q = f"{topic(rng.choice(_KO_NAMES))} 구슬 {a}개 중에서 {b}개를 친구에게 주었습니다. 남은 구슬은 몇 개입니까?"
    else:
        q = f"{rng.choice(_EN_NAMES)} had {a} marbles and gave {b} of them to a friend. How many marbles are left?"
    return q, f"{a}-{b}", a - b, [a + b, a - b + 10]


def _mul(rng: random.Random, lang: str) -> Problem:
    a, b = rng.randint(3, 12), rng.randint(2, 15)
    if lang == "ko":
        q = f"한 상자에 연필이 {a}자루씩 들어 있습니다. {b}상자에 들어 있는 연필은 모두 몇 자루입니까?"
    else:
        q = f"Each box holds {a} pencils. How many pencils are in {b} boxes?"
    return q, f"{a}*{b}", a * b, [a + b, a * (b - 1)]


def _div(rng: random.Random, lang: str) -> Problem:
    a, b = rng.randint(2, 12), rng.randint(2, 9)
    if lang == "ko":
        q = f"사탕 {a * b}개를 {b}명이 똑같이 나누어 가지면 한 명이 몇 개씩 갖게 됩니까?"
    else:
        q = f"{a * b} candies are shared equally among {b} children. How many candies does each child get?"
    return q, f"{a * b}/{b}", a, [a * b - b, a + 1]


def _money(rng: random.Random, lang: str) -> Problem:
    if lang == "ko":
        price, count = rng.choice((500, 700, 800, 1200, 1500)), rng.randint(1, 5)
        money = rng.randint(price * count // 1000 + 1, 20) * 1000
        q = (f"{topic(rng.choice(_KO_NAMES))} {money}원을 가지고 있었습니다. 한 권에 {price}원인 공책을 "
             f"{count}권 샀다면 남은 돈은 몇 원입니까?")
    else:
        price, count = rng.randint(2, 9), rng.randint(1, 5)
        money = rng.randint(price * count + 1, 100)
        q = f"{rng.choice(_EN_NAMES)} had {money} dollars and bought {count} notebooks at {price} dollars each. " \
            f"How many dollars are left?"
    return q, f"{money}-{price}*{count}", money - price * count, [money - price, price * count]


def _bus(rng: random.Random, lang: str) -> Problem:
    a = rng.randint(10, 40)
    b, c = rng.randint(1, a - 1), rng.randint(1, 20)
    if lang == "ko":
        q = (f"버스에 {a}명이 타고 있었습니다. 정류장에서 {b}명이 내리고 {c}명이 탔습니다. "
             f"지금 버스에 타고 있는 사람은 몇 명입니까?")
    else:
        q = f"A bus had {a} passengers. At a stop, {b} got off and {c} got on. How many passengers are on the bus now?"
    return q, f"{a}-{b}+{c}", a - b + c, [a + b + c, a - b - c if a - b - c > 0 else a + b - c]


_KINDS: dict[str, Callable[[random.Random, str], Problem]] = {
    "add": _add, "sub": _sub, "mul": _mul, "div": _div, "money": _money, "bus": _bus,
}


def _options(rng: random.Random, answer: int, slips: list[int], k: int) -> tuple[list[str], int]:
    wrong: list[int] = []
    for v in [*slips, answer + 1, answer - 1, answer + 10, answer - 10, answer + 2]:
        if v > 0 and v != answer and v not in wrong:
            wrong.append(v)
    picked = rng.sample(wrong, k - 1)
    values = [answer, *picked]
    rng.shuffle(values)
    return [str(v) for v in values], values.index(answer)


def arith_word_problems(seed: int, n: int, language: Literal["ko", "en"] = "ko",
                        options: int = 4) -> list[dict[str, Any]]:
    """``n`` distinct word problems: question, answer, expression, kind, options and the gold option."""
    if language not in ("ko", "en"):
        raise ValueError(f"language must be 'ko' or 'en', not {language!r}")
    rng = random.Random(f"arith_word_problems:{language}:{seed}")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(50 * n):
        if len(out) == n:
            break
        kind = rng.choice(sorted(_KINDS))
        q, expr, answer, slips = _KINDS[kind](rng, language)
        if q in seen:
            continue
        seen.add(q)
        choices, gold = _options(rng, answer, slips, options)
        out.append({"question": q, "answer": str(answer), "expression": expr, "kind": kind,
                    "choices": choices, "gold": gold})
    if len(out) < n:
        raise ValueError(f"could not generate {n} distinct problems")
    return out


def generated_suite(seed: int = 0, n: int = 200) -> dict[str, BenchmarkDecl]:
    """The six declarations (ko/en x chat generation / likelihood MCQ / few-shot completion) for one seed and size."""
    out: dict[str, BenchmarkDecl] = {}
    for lang in ("ko", "en"):
        source = Generated(generator="arith_word_problems", seed=seed, n=n, params={"language": lang})
        common: dict[str, Any] = {
            "language": lang, "category": "math", "source": source,
            "subblock": "domestic" if lang == "ko" else "global_common",
            "license": "generated by sovereval (no third-party data)",
            "note": "demo stand-in for the math sub-block; deterministic from the seed",
        }
        if lang == "ko":
            instruction = '다음 문제를 풀고, 마지막 줄에 "정답: (숫자)" 형식으로 답하십시오.\n\n문제: {question}'
            mcq_query, name = "{question}\n{choices}\n정답：", "생성 산수 문장제"
        else:
            instruction = 'Solve the problem. End with a line of the form "Answer: N".\n\nQuestion: {question}'
            mcq_query, name = "Question: {question}\n{choices}\nAnswer:", "Generated arithmetic word problems"
        gen = BenchmarkDecl(
            id=f"gen-arith-{lang}", name=f"{name} ({lang})", **common,
            fields=FieldMap(keep=("expression", "kind")),
            template=Template(follows="project-generated; free-text answer, final number read by 'numeric'",
                              query=instruction),
            mode="generate", generation=Sampling(max_tokens=512), scorer=ScorerRef(name="numeric"),
        )
        mcq = BenchmarkDecl(
            id=f"gen-arith-{lang}-mcq", name=f"{name} ({lang}, 4 options)", **common,
            fields=FieldMap(choice_list="choices", answer="gold", answer_format="index0", keep=("expression", "kind")),
            template=Template(follows="project-generated; KMMLU/MMLU-style layout (lm-eval), likelihood of ' A'..' D'",
                              query=mcq_query, target=" {label}"),
            mode="loglik", scorer=ScorerRef(name="mcq_loglik", params={"metric": "acc"}),
        )
        shots = BenchmarkDecl(
            id=f"gen-arith-{lang}-fewshot", name=f"{name} ({lang}, 3-shot completion)", **common,
            fields=FieldMap(keep=("expression", "kind")),
            template=Template(follows="project-generated; GSM8K-style few-shot completion for base and chat models "
                                      "alike (no chat template), answer cut at the first newline",
                              query="문제: {question}\n정답:" if lang == "ko" else "Question: {question}\nAnswer:",
                              target=" {answer}", chat=False),
            fewshot=FewShot(k=3, seed=seed),
            mode="generate", generation=Sampling(max_tokens=16, stop=("\n",)), scorer=ScorerRef(name="numeric"),
        )
        out[gen.id], out[mcq.id], out[shots.id] = gen, mcq, shots
    return out


GENERATED: dict[str, BenchmarkDecl] = generated_suite()
DECLARATIONS: tuple[BenchmarkDecl, ...] = tuple(GENERATED.values())
GENERATORS: tuple[GeneratorInfo, ...] = (GeneratorInfo("arith_word_problems", arith_word_problems),)
