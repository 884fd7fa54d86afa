"""Korean long-context generator: deterministic, sized in the given tokenizer's tokens, needles where
they should be, and exact scoring."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import pytest

from sovereval.bench.longctx import (
    TASKS,
    LongCtxItem,
    approx_tokens,
    found,
    generate,
    generate_items,
    load_boolq,
    load_passages,
    score_answers,
    score_longctx,
    yes_no,
)
from sovereval.bench.types import Generation

DATA_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list]:
    if not (DATA_ROOT / "kobest").exists():
        reason = f"KoBEST data not found under {DATA_ROOT}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return load_passages(DATA_ROOT), load_boolq(DATA_ROOT)


def _doc(item: LongCtxItem) -> str:
    text = item.messages[0].content
    return text[text.index("<문서>"):text.index("</문서>")]


def test_corpus_is_korean_and_stable(corpus: tuple[list[str], list]) -> None:
    passages, boolq = corpus
    assert len(passages) > 2000 and all(re.search(r"[가-힣]", p) for p in passages)
    assert load_passages(DATA_ROOT) == passages  # fixed order
    assert len(boolq) == 1404 and {b.answer for b in boolq} == {True, False}
    assert len(load_passages(DATA_ROOT, ("kobest", "click", "kmmlu"))) > len(passages)
    with pytest.raises(ValueError):
        load_passages(DATA_ROOT, ("nope",))


@pytest.mark.parametrize("task", TASKS)
def test_each_task_fits_the_target_and_contains_its_answers(task: str, corpus: tuple[list[str], list]) -> None:
    passages, boolq = corpus
    target = 3000
    item = generate(task, seed=3, target_tokens=target, passages=passages, tokenizer=approx_tokens, boolq=boolq)
    text = item.messages[0].content
    assert item.n_tokens == approx_tokens(text)
    assert 0.95 * target <= item.n_tokens <= target
    doc = _doc(item)
    if task.startswith("niah"):
        for a in item.answers:
            assert f"특별한 마법 숫자 중 하나는 {a}입니다." in doc
    elif task == "vt":
        chain = item.answers
        assert re.search(rf"VAR {chain[0]} = \d{{7}}", doc)
        positions = [doc.index(f"VAR {b} = VAR {a}") for a, b in itertools.pairwise(chain)]
        assert positions == sorted(positions)  # the hops appear in order
    elif task == "aggregation":
        counts = {w: doc.count(f"오늘의 단어: {w}.") for w in item.meta["counts"]}
        assert counts == item.meta["counts"]
        top = sorted(counts, key=lambda w: -counts[w])[:3]
        assert tuple(top) == item.answers and counts[top[2]] > max(list(counts.values())[3:])
    elif task == "qa":
        q = next(b for b in boolq if b.id == item.meta["boolq_id"])
        assert doc.count(q.passage) == 1 and q.question in text
        assert item.answers == ("예" if q.answer else "아니오",)
    # the gold answer scores 1, a wrong one 0
    gold = ", ".join(item.answers)
    assert score_answers(item.answers, gold, item.match)[0] == 1.0
    assert score_answers(item.answers, "모르겠습니다.", item.match)[0] == 0.0


def test_deterministic_from_the_seed(corpus: tuple[list[str], list]) -> None:
    passages, boolq = corpus
    kw = {"n_per_task": 1, "target_tokens": 2000, "passages": passages, "tokenizer": approx_tokens, "boolq": boolq}
    a = generate_items(seed=11, **kw)
    b = generate_items(seed=11, **kw)
    c = generate_items(seed=12, **kw)
    assert a == b
    assert [x.messages for x in a] != [x.messages for x in c]
    assert len({x.id for x in a}) == len(TASKS)


def test_length_is_measured_in_the_tokenizer_given(corpus: tuple[list[str], list]) -> None:
    passages, _ = corpus

    def char_tokens(text: str) -> list[int]:  # a "tokenizer" returning ids: one per character
        return [ord(ch) for ch in text]

    by_chars = generate("niah_single", seed=1, target_tokens=4000, passages=passages, tokenizer=char_tokens)
    by_approx = generate("niah_single", seed=1, target_tokens=4000, passages=passages, tokenizer=approx_tokens)
    assert 0.95 * 4000 <= len(by_chars.messages[0].content) <= 4000
    assert len(by_approx.messages[0].content) > len(by_chars.messages[0].content)
    assert by_chars.answers == by_approx.answers  # same seed, same needle


def test_large_targets(corpus: tuple[list[str], list]) -> None:
    passages, _ = corpus
    item = generate("niah_multikey", seed=5, target_tokens=32 * 1024, passages=passages, tokenizer=approx_tokens)
    assert 0.99 * 32 * 1024 <= item.n_tokens <= 32 * 1024
    assert not item.meta["passages_reused"]
    with pytest.raises(ValueError):
        generate("niah_single", seed=1, target_tokens=20, passages=passages, tokenizer=approx_tokens)


@pytest.mark.slow
def test_128k(corpus: tuple[list[str], list]) -> None:
    passages, _ = corpus
    item = generate("vt", seed=5, target_tokens=128 * 1024, passages=passages, tokenizer=approx_tokens)
    assert 0.99 * 128 * 1024 <= item.n_tokens <= 128 * 1024


def test_exact_matching_rules() -> None:
    assert found("1234567", "답은 1234567입니다.")
    assert not found("1234567", "91234567")
    assert not found("ABCDE", "ABCDEF") and found("abcde", "VAR ABCDE, VAR QWERT")
    assert found("사과", "사과가 가장 많이 나왔습니다") and not found("사과", "홍사과")
    assert score_answers(("1", "2", "3", "4"), "1, 2 그리고 4", "all")[0] == 0.75
    assert yes_no("예, 그렇습니다.") == "예" and yes_no("아니요.") == "아니오" and yes_no("네") == "예"
    assert yes_no("잘 모르겠습니다") is None
    assert score_answers(("아니오",), "아니오, 작곡하지 않았습니다.", "yesno")[0] == 1.0
    assert score_answers(("예",), "아니오", "yesno")[0] == 0.0


def test_scorer_reads_items_and_records(corpus: tuple[list[str], list]) -> None:
    from sovereval.bench.spec import Item

    passages, _ = corpus
    item = generate("niah_multivalue", seed=2, target_tokens=1500, passages=passages, tokenizer=approx_tokens)
    half = ", ".join(item.answers[:2])
    assert score_longctx(item, Generation(text=half)).value == 0.5
    rec = item.to_record()
    assert rec["prompt"] == item.messages[0].content and rec["answers"] == list(item.answers)
    as_item = Item(id=rec["id"], fields=rec)
    assert score_longctx(as_item, Generation(text=", ".join(item.answers))).value == 1.0
