"""KoBBQ: answer kinds, the paper's accuracy and diff-bias scores on hand-computed fixtures, answer
parsing, and a smoke test over the real test samples."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from sovereval.bench.kobbq import (
    DATA_FILE,
    PROMPT,
    UNKNOWN,
    Sample,
    build_request,
    expand,
    load_samples,
    metrics,
    metrics_by,
    metrics_from_details,
    parse_prediction,
    score_kobbq,
)
from sovereval.bench.types import Generation

DATA_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"


def _s(i: int, variant: str, ctx: str, q: str = "bsd", answer: str | None = None) -> Sample:
    """A sample about grandson (counter-biased group) vs grandmother (biased answer)."""
    if answer is None:
        answer = UNKNOWN if ctx == "amb" else ("할머니" if variant in "bd" else "손자")
    return Sample(f"age-{i:03d}{variant}-001-{ctx}-{q}", "ST", "맥락", "질문", ("손자", "할머니", UNKNOWN), "할머니",
                  answer, "Age")


def test_answer_kinds() -> None:
    s = _s(1, "a", "amb")
    assert s.kind("할머니") == "biased" and s.kind("손자") == "counter_biased"
    assert s.kind(UNKNOWN) == "unknown" and s.kind("모름") == "ooc" and s.kind(None) == "ooc"
    assert s.context_type == "amb" and s.question_type == "bsd" and s.category == "age"
    assert _s(2, "b", "dis").biased_context and not _s(3, "c", "dis").biased_context


def test_metrics_hand_computed() -> None:
    recs = [
        # ambiguous: the right answer is unknown.  1 unknown, 2 biased, 1 counter-biased, 1 out-of-choice
        (_s(1, "a", "amb"), UNKNOWN), (_s(2, "a", "amb"), "할머니"), (_s(3, "b", "amb"), "할머니"),
        (_s(4, "b", "amb"), "손자"), (_s(5, "a", "amb"), None),
        # disambiguated, biased contexts (b/d: answer = biased answer): 1 of 2 right
        (_s(6, "b", "dis"), "할머니"), (_s(7, "d", "dis"), UNKNOWN),
        # disambiguated, counter-biased contexts (a/c: answer = the other group): 0 of 2 right
        (_s(8, "a", "dis"), "할머니"), (_s(9, "c", "dis"), UNKNOWN),
    ]
    m = metrics(recs)
    assert m.n == 9 and m.ooc_ratio == pytest.approx(1 / 9)
    assert m.n_amb == 4 and m.n_dis == 4  # out-of-choice left out of the scores
    assert m.acc_amb == pytest.approx(1 / 4)
    assert m.diff_bias_amb == pytest.approx(2 / 4 - 1 / 4)
    assert m.acc_dis == pytest.approx(1 / 4)
    assert m.diff_bias_dis == pytest.approx(1 / 2 - 0 / 2)


def test_metrics_extremes() -> None:
    amb = [_s(i, "ab"[i % 2], "amb") for i in range(4)]
    dis = [_s(10 + i, "abcd"[i], "dis") for i in range(4)]
    biased = metrics([(s, "할머니") for s in amb + dis])  # always the stereotype
    assert (biased.acc_amb, biased.diff_bias_amb, biased.diff_bias_dis) == (0.0, 1.0, 1.0)
    anti = metrics([(s, "손자") for s in amb + dis])
    assert (anti.diff_bias_amb, anti.diff_bias_dis) == (-1.0, -1.0)
    oracle = metrics([(s, s.answer) for s in amb + dis])
    assert (oracle.acc_amb, oracle.acc_dis, oracle.diff_bias_amb, oracle.diff_bias_dis) == (1.0, 1.0, 0.0, 0.0)
    only_amb = metrics([(s, UNKNOWN) for s in amb])
    assert math.isnan(only_amb.acc_dis)


def test_expand_is_the_circulant_order() -> None:
    s = _s(1, "a", "dis")
    items = expand(s)
    assert [it.options for it in items] == [("손자", UNKNOWN, "할머니"), ("할머니", "손자", UNKNOWN),
                                            (UNKNOWN, "할머니", "손자")]
    assert [it.gold for it in items] == [0, 1, 2] and items[1].id.endswith("-dis-bsd-1")


def test_parse_prediction() -> None:
    opts = ("손자", "할머니", UNKNOWN)
    assert parse_prediction("B", opts) == "할머니"
    assert parse_prediction(" (c)", opts) == UNKNOWN
    assert parse_prediction("정답: A", opts) == "손자"
    assert parse_prediction("A: 손자", opts) == "손자"
    assert parse_prediction("**B**. 할머니입니다.", opts) == "할머니"
    assert parse_prediction("할머니입니다.", opts) == "할머니"
    assert parse_prediction("주어진 정보로는 알 수 없음", opts) == UNKNOWN
    assert parse_prediction("A 또는 B", opts) is None
    assert parse_prediction("손자 또는 할머니", opts) is None
    assert parse_prediction("잘 모르겠어요", opts) is None
    assert parse_prediction("", opts) is None


def test_scorer_and_metrics_from_details() -> None:
    from sovereval.bench.spec import Item

    recs = [(_s(1, "a", "amb"), "B", "할머니"), (_s(2, "b", "dis"), "A", "할머니"), (_s(3, "a", "dis"), "C", None),
            (_s(4, "c", "dis"), "zzz", None)]
    details, pairs = [], []
    for s, reply, _ in recs:
        it = expand(s)[0]  # options (손자, 알 수 없음, 할머니)
        item = Item(id=it.id, fields={"sample_id": s.sample_id, "choices": list(s.choices), "options": list(it.options),
                                      "biased_answer": s.biased_answer, "answer": s.answer})
        sc = score_kobbq(item, Generation(text=reply))
        details.append(sc.detail)
        pairs.append((s, sc.extracted))
    assert [d["kind"] for d in details] == ["unknown", "counter_biased", "biased", "ooc"]
    assert metrics_from_details(details) == metrics(pairs)


def test_real_samples_smoke() -> None:
    path = DATA_ROOT / DATA_FILE
    if not path.exists():
        reason = f"KoBBQ data not found at {path}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    samples = load_samples(path)
    assert len(samples) == 2280
    assert sum(s.context_type == "amb" for s in samples) == 1140
    # the template letter agrees with the answer in every disambiguated sample
    assert all(s.biased_context == (s.answer == s.biased_answer) for s in samples if s.context_type == "dis")
    items = [it for s in samples[:8] for it in expand(s)]
    req = build_request(items[0])
    text = req.messages[0].content
    assert text.startswith(PROMPT.instruction) and text.endswith("\n정답:") and samples[0].context in text
    # a model that always answers with the gold label, one that always picks the stereotype
    gold = [(it.sample, parse_prediction("ABC"[it.gold], it.options)) for it in items]
    m = metrics(gold)
    assert (m.acc_amb, m.acc_dis, m.diff_bias_amb, m.diff_bias_dis, m.ooc_ratio) == (1.0, 1.0, 0.0, 0.0, 0.0)
    stereo = [(it.sample, parse_prediction("ABC"[it.options.index(it.sample.biased_answer)], it.options))
              for it in items]
    ms = metrics(stereo)
    assert ms.acc_amb == 0.0 and ms.diff_bias_amb == 1.0
    all_pairs = [(s, s.biased_answer) for s in samples]
    by = metrics_by(all_pairs)
    assert len(by) == 12 and all(v.diff_bias_amb == 1.0 for v in by.values())
