"""RULER-style Korean long-context items, deterministic from a seed, sized in the model's own tokens.

Tasks (Hsieh et al., 2024, *RULER*, adapted to Korean):

``niah_single``      one needle "<key>의 특별한 마법 숫자 중 하나는 <7 digits>입니다." in the haystack;
                     answer: the number.
``niah_multikey``    four needles with different keys (three are distractors); asked about one.
``niah_multivalue``  four needles with the same key and different numbers; answer: all four.
``niah_multiquery``  four needles with different keys; asked for all four numbers.
``vt``               variable tracking (multi-hop): a chain ``VAR A = 12345``, ``VAR B = VAR A`` …
                     (four hops, in document order) plus a distractor chain; answer: every variable
                     of the chain that holds the asked value.
``aggregation``      "[기록] 오늘의 단어: <word>." lines scattered with different frequencies; answer:
                     the three most frequent words (counts 9, 7, 5 against distractors at most 3).
``qa``               a KoBEST BoolQ passage planted among other passages; answer 예 / 아니오.

The haystack is made of real Korean passages (:mod:`.corpus`) in a seeded order, filled until the whole
user message measures ``target_tokens`` or just under, **in the tokens of the tokenizer passed in**.
Real runs must pass the evaluated model's tokenizer (e.g. the backend's ``tokenize`` endpoint or the
GGUF/HF tokenizer), so that "32K" means 32,768 of *that* model's tokens; :func:`approx_tokens` is only
a deterministic stand-in for tests (about one token per Hangul syllable).
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sovereval.bench.longctx.corpus import BoolQ
from sovereval.bench.types import GenerationRequest, Message, Sampling

TASKS = ("niah_single", "niah_multikey", "niah_multivalue", "niah_multiquery", "vt", "aggregation", "qa")
Match = Literal["all", "yesno"]
Tokenizer = Callable[[str], "int | Sequence[int]"]

#: keys and aggregation words: common Korean nouns
NOUNS = (
    "사과", "바다", "나무", "구름", "호랑이", "연필", "기차", "도서관", "우체국", "무지개", "고양이", "강아지",
    "자전거", "비행기", "냉장고", "바이올린", "해바라기", "소나무", "등대", "항구", "시계", "거울", "우산",
    "달팽이", "부엉이", "공책", "지하철", "박물관", "운동장", "놀이터", "다람쥐", "코끼리", "돌고래", "피아노",
    "망원경", "나침반", "지도", "편지", "열쇠", "촛불",
)

INSTRUCTION = "아래 문서를 주의 깊게 읽고, 문서 끝의 질문에 답하세요."
TEMPLATE = "{instruction}\n\n<문서>\n{document}\n</문서>\n\n질문: {question}"


def approx_tokens(text: str) -> int:
    """Test stand-in tokenizer: 1 per Hangul syllable/CJK character/punctuation mark, 1 per 4 other characters."""
    n = 0
    for piece in re.findall(r"[\uac00-\ud7a3\u3040-\u30ff\u4e00-\u9fff]|[^\W\uac00-\ud7a3\u3040-\u30ff\u4e00-\u9fff]+|"
                            r"[^\w\s]", text):
        n += math.ceil(len(piece) / 4) if len(piece) > 1 else 1
    return n


def _counter(tokenizer: Tokenizer) -> Callable[[str], int]:
    def count(text: str) -> int:
        r = tokenizer(text)
        return r if isinstance(r, int) else len(r)

    return count


@dataclass(frozen=True)
class LongCtxItem:
    id: str
    task: str
    seed: int
    target_tokens: int
    n_tokens: int  # the user message, in the tokenizer's tokens
    messages: tuple[Message, ...]
    answers: tuple[str, ...]
    match: Match
    depths: tuple[float, ...]  # where the needles sit, as fractions of the haystack
    meta: dict[str, Any] = field(default_factory=dict)

    def request(self, sampling: Sampling | None = None) -> GenerationRequest:
        return GenerationRequest(messages=self.messages, sampling=sampling or Sampling(max_tokens=128))

    def to_record(self) -> dict[str, Any]:
        return {"id": self.id, "task": self.task, "seed": self.seed, "target_tokens": self.target_tokens,
                "n_tokens": self.n_tokens, "prompt": self.messages[-1].content, "answers": list(self.answers),
                "match": self.match, "depths": list(self.depths), **self.meta}


@dataclass(frozen=True)
class _Spec:
    needles: tuple[str, ...]
    depths: tuple[float, ...]
    question: str
    answers: tuple[str, ...]
    match: Match
    exclude: str | None = None  # a passage that must not be used as filler (the planted QA passage)
    meta: dict[str, Any] = field(default_factory=dict)


def _numbers(rng: random.Random, k: int) -> list[str]:
    return [str(v) for v in rng.sample(range(1_000_000, 10_000_000), k)]


def _var_names(rng: random.Random, k: int) -> list[str]:
    names: set[str] = set()
    while len(names) < k:
        names.add("".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(5)))
    return sorted(names, key=lambda _: rng.random())


def _needle(key: str, value: str) -> str:
    return f"{key}의 특별한 마법 숫자 중 하나는 {value}입니다."


def _spec(task: str, rng: random.Random, boolq: Sequence[BoolQ] | None) -> _Spec:
    if task == "niah_single":
        key, (val,) = rng.choice(NOUNS), _numbers(rng, 1)
        return _Spec((_needle(key, val),), (rng.random(),),
                     f"문서에서 {key}의 특별한 마법 숫자는 무엇입니까? 숫자만 답하세요.", (val,), "all")
    if task in ("niah_multikey", "niah_multiquery"):
        keys, vals = rng.sample(NOUNS, 4), _numbers(rng, 4)
        needles = tuple(_needle(k, v) for k, v in zip(keys, vals, strict=True))
        depths = tuple(rng.random() for _ in keys)
        if task == "niah_multikey":
            return _Spec(needles, depths, f"문서에서 {keys[0]}의 특별한 마법 숫자는 무엇입니까? 숫자만 답하세요.",
                         (vals[0],), "all", meta={"distractor_keys": keys[1:]})
        return _Spec(needles, depths, f"문서에서 {', '.join(keys)}의 특별한 마법 숫자를 각각 찾아 답하세요.",
                     tuple(vals), "all")
    if task == "niah_multivalue":
        key, vals = rng.choice(NOUNS), _numbers(rng, 4)
        return _Spec(tuple(_needle(key, v) for v in vals), tuple(rng.random() for _ in vals),
                     f"문서에서 {key}의 특별한 마법 숫자를 모두 찾아 쉼표로 구분해 답하세요.", tuple(vals), "all")
    if task == "vt":
        hops = 4
        names = _var_names(rng, 2 * (hops + 1))
        value, other = _numbers(rng, 2)
        needles, depths = [], []
        for chain, val in ((names[: hops + 1], value), (names[hops + 1:], other)):
            ds = sorted(rng.random() for _ in chain)  # assignments appear in order
            needles.append(f"변수 VAR {chain[0]} = {val}")
            needles += [f"변수 VAR {b} = VAR {a}" for a, b in itertools.pairwise(chain)]
            depths += ds
        return _Spec(tuple(needles), tuple(depths),
                     f"문서의 변수 대입문을 따라가면, 값 {value}이(가) 최종적으로 대입되는 변수는 모두 무엇입니까? "
                     "변수 이름을 쉼표로 구분해 모두 답하세요.", tuple(names[: hops + 1]), "all",
                     meta={"distractor_value": other})
    if task == "aggregation":
        words = rng.sample(NOUNS, 8)
        counts = [9, 7, 5] + [rng.randint(1, 3) for _ in range(5)]
        needles = tuple(f"[기록] 오늘의 단어: {w}." for w, c in zip(words, counts, strict=True) for _ in range(c))
        return _Spec(needles, tuple(rng.random() for _ in needles),
                     "문서에서 '오늘의 단어'로 기록된 단어 중 가장 많이 나온 세 단어를 많이 나온 순서대로 쉼표로 "
                     "구분해 답하세요.", tuple(words[:3]), "all",
                     meta={"counts": dict(zip(words, counts, strict=True))})
    if task == "qa":
        if not boolq:
            raise ValueError("the qa task needs KoBEST BoolQ items (corpus.load_boolq)")
        q = rng.choice(list(boolq))
        return _Spec((q.passage,), (rng.random(),),
                     f"문서의 내용에 따르면 다음 질문의 답은 무엇입니까? '예' 또는 '아니오'로만 답하세요.\n{q.question}",
                     ("예" if q.answer else "아니오",), "yesno", exclude=q.passage, meta={"boolq_id": q.id})
    raise ValueError(f"unknown task {task!r}; known: {TASKS}")


def _fillers(passages: Sequence[str], rng: random.Random, exclude: str | None) -> Iterator[str]:
    pool = [p for p in passages if p != exclude]
    if not pool:
        raise ValueError("no filler passages")
    while True:  # a corpus shorter than the target is reused in a new order
        order = pool[:]
        rng.shuffle(order)
        yield from order


def _render(spec: _Spec, fillers: Sequence[str]) -> str:
    paras = list(fillers)
    # insert from the deepest needle so earlier insertions do not shift later positions
    placed = sorted(enumerate(spec.depths), key=lambda t: (t[1], t[0]))
    slots: list[tuple[int, str]] = [(round(d * len(fillers)), spec.needles[i]) for i, d in placed]
    for pos, needle in reversed(slots):
        paras.insert(pos, needle)
    return TEMPLATE.format(instruction=INSTRUCTION, document="\n".join(paras), question=spec.question)


def _fit(spec: _Spec, passages: Sequence[str], rng: random.Random, target: int,
         count: Callable[[str], int]) -> tuple[str, int, int, bool]:
    overhead = count(_render(spec, []))
    if overhead > target:
        raise ValueError(f"target {target} tokens is smaller than the task itself ({overhead} tokens)")
    chosen: list[str] = []
    sizes: list[int] = []
    total = 0
    budget = target - overhead
    seen: set[str] = set()
    repeated = False
    misses = 0
    for p in _fillers(passages, rng, spec.exclude):
        t = count(p + "\n")
        if total + t > budget:
            misses += 1  # a shorter passage may still fit; give up after 50 that do not
            if misses >= 50:
                break
            continue
        repeated |= p in seen
        seen.add(p)
        chosen.append(p)
        sizes.append(t)
        total += t
        if total >= budget * 0.995:
            break
    text = _render(spec, chosen)
    n = count(text)
    while n > target and chosen:  # per-passage counts can under-estimate: drop enough and re-measure
        excess = n - target
        while excess > 0 and chosen:
            chosen.pop()
            excess -= sizes.pop()
        text = _render(spec, chosen)
        n = count(text)
    return text, n, len(chosen), repeated


def generate(task: str, *, seed: int, target_tokens: int, passages: Sequence[str], tokenizer: Tokenizer,
             index: int = 0, boolq: Sequence[BoolQ] | None = None) -> LongCtxItem:
    """One item; the same arguments always give the same item."""
    rng = random.Random(f"sovereval-longctx:{seed}:{task}:{index}")
    spec = _spec(task, rng, boolq)
    text, n, n_fill, repeated = _fit(spec, passages, rng, target_tokens, _counter(tokenizer))
    return LongCtxItem(
        id=f"{task}-{target_tokens}-s{seed}-{index}", task=task, seed=seed, target_tokens=target_tokens,
        n_tokens=n, messages=(Message(role="user", content=text),), answers=spec.answers, match=spec.match,
        depths=spec.depths, meta={**spec.meta, "n_passages": n_fill, "passages_reused": repeated},
    )


def generate_items(*, seed: int, n_per_task: int, target_tokens: int, passages: Sequence[str],
                   tokenizer: Tokenizer, tasks: Sequence[str] = TASKS,
                   boolq: Sequence[BoolQ] | None = None) -> list[LongCtxItem]:
    return [generate(t, seed=seed, index=i, target_tokens=target_tokens, passages=passages, tokenizer=tokenizer,
                     boolq=boolq) for t in tasks for i in range(n_per_task)]
