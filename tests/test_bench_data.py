"""Benchmark declarations, data loading and prompt rendering.

The real data lives beside the repository in ``../shared/benchmarks``; without it the tests that need it
skip, except under ``CI=true``, where they fail.  The generated suite and the format tests need no data.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import json
import operator
import re
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from sovereval.bench import catalog
from sovereval.bench.data import (
    ChecksumError,
    DataError,
    load_fewshot_pool,
    load_items,
    select_fewshot,
    subset,
)
from sovereval.bench.generated import GENERATED, generated_suite, topic
from sovereval.bench.prompts import PromptError, render, render_text
from sovereval.bench.spec import (
    BenchmarkDecl,
    FewShot,
    FieldMap,
    FileRef,
    HubFiles,
    Item,
    Limit,
    LocalFiles,
    ScorerRef,
    Template,
    local,
)
from sovereval.bench.suites import core
from sovereval.bench.types import GenerationRequest, LoglikRequest
from tests.helpers import bench_data_root, source_md_hashes

# item counts as stated in each SOURCE.md
EXPECTED_COUNTS = {
    "kmmlu-criminal-law": 200, "kmmlu-criminal-law-gen": 200, "click": 1995, "click-gen": 1995,
    "kobest-boolq": 1404, "kobest-copa": 1000, "kobest-hellaswag": 500, "kobest-sentineg": 397,
    "kobest-wic": 1260, "gsm8k": 1319, "math500": 500, "mmlu": 14042, "mmlu-gen": 14042,
    "arc-challenge": 1172, "arc-easy": 2376, "truthfulqa-mc1": 817, "truthfulqa-mc2": 817,
}


@pytest.fixture(scope="module")
def data_root() -> Path:
    return bench_data_root()


_LOADED: dict[str, list[Item]] = {}


def items_of(decl: BenchmarkDecl, root: Path) -> list[Item]:
    key = decl.source.model_dump_json() + decl.fields.model_dump_json()
    if key not in _LOADED:
        _LOADED[key] = load_items(decl, root)
    return _LOADED[key]


def _decl(tmp: Path, name: str, content: bytes, fmt: str, **fields: object) -> BenchmarkDecl:
    """A small declaration over a file written into ``tmp`` and pinned by its real hash."""
    (tmp / name).write_bytes(content)
    return BenchmarkDecl(
        id="t", name="t", language="en", category="knowledge",
        source=local((name, hashlib.sha256(content).hexdigest()), format=fmt),  # type: ignore[arg-type]
        fields=FieldMap(**fields),  # type: ignore[arg-type]
        template=Template(follows="test", query="{question}\n{choices}\nAnswer:"),
        mode="loglik", scorer=ScorerRef(name="mcq_loglik"),
    )


# --------------------------------------------------------------------------------------------------
# The catalog against the real data
# --------------------------------------------------------------------------------------------------


def test_catalog_covers_the_requested_suites() -> None:
    assert set(EXPECTED_COUNTS) <= set(catalog.build().benchmarks)  # plus the generated suite and suites/ modules
    assert {'gen-arith-ko', 'gen-arith-en'} <= set(catalog.build().benchmarks)
    modes = {k: d.mode for k, d in catalog.build().benchmarks.items()}
    assert modes["gsm8k"] == modes["math500"] == "generate"
    assert all(modes[k] == "loglik" for k in ("kmmlu-criminal-law", "click", "mmlu", "arc-challenge",
                                               "kobest-copa", "truthfulqa-mc1", "truthfulqa-mc2"))
    assert all(modes[k] == "generate" for k in ("kmmlu-criminal-law-gen", "click-gen", "mmlu-gen"))
    assert {d.language for d in catalog.build().benchmarks.values()} == {"ko", "en"}
    for d in catalog.build().benchmarks.values():
        assert d.template.follows and d.license and d.subblock in ("domestic", "global_common")
    with pytest.raises(KeyError, match="known"):
        catalog.build().benchmarks["nope"]


@pytest.mark.parametrize("bench_id", sorted(EXPECTED_COUNTS))
def test_every_catalog_benchmark_loads_with_the_stated_count(data_root: Path, bench_id: str) -> None:
    decl = catalog.build().benchmarks[bench_id]
    items = items_of(decl, data_root)
    assert len(items) == EXPECTED_COUNTS[bench_id]
    assert len({it.id for it in items}) == len(items), "item ids must be unique"
    for it in items:
        if decl.mode == "loglik" or decl.scorer.name == "mcq_generate":
            assert it.choices and it.answer is not None
            golds = it.answer if isinstance(it.answer, tuple) else (it.answer,)
            assert all(isinstance(g, int) and 0 <= g < len(it.choices) for g in golds)
        else:
            assert isinstance(it.answer, str) and it.answer


def test_declared_hashes_match_source_md(data_root: Path) -> None:
    stated = source_md_hashes(data_root)
    checked = 0
    for decl in catalog.build().benchmarks.values():
        sources = [decl.source] + ([decl.fewshot.source] if decl.fewshot.source else [])
        for src in sources:
            if not isinstance(src, LocalFiles):  # generated suites have no files
                continue
            for ref in src.files:
                assert stated[ref.path] == ref.sha256, ref.path
                checked += 1
    assert checked >= 57 * 2 + 26 + 10


def test_item_ids_are_stable_and_dataset_ids_are_used(data_root: Path) -> None:
    a = load_items(core.KOBEST_COPA, data_root)
    b = load_items(core.KOBEST_COPA, data_root)
    assert [i.id for i in a] == [i.id for i in b]
    assert a[0].id == "1"  # KoBEST's own ID column
    click = items_of(core.CLICK, data_root)
    assert click[0].id == "Economy_KIIP/KIIP_economy_1"  # CLIcK reuses ids across files: scoped by file
    gsm = items_of(core.GSM8K, data_root)
    assert all(re.fullmatch(r"h[0-9a-f]{16}", i.id) for i in gsm)  # no id column: content hash
    # MC1 and MC2 are built from the same rows: the same question has the same id
    mc1 = items_of(core.TRUTHFULQA_MC1, data_root)
    mc2 = items_of(core.TRUTHFULQA_MC2, data_root)
    assert [i.id for i in mc1] == [i.id for i in mc2]
    mmlu = items_of(core.MMLU, data_root)
    assert sum(1 for i in mmlu if "~" in i.id) == 27  # identical rows within a file: suffixed in order


def test_clusters_only_for_shared_passages(data_root: Path) -> None:
    click = items_of(core.CLICK, data_root)
    clustered = [i for i in click if i.cluster]
    assert clustered, "CLIcK reading sets share passages"
    by_cluster: dict[str, set[str]] = {}
    for it in clustered:
        by_cluster.setdefault(it.cluster or "", set()).add(it.fields["passage"])
    assert all(len(passages) == 1 for passages in by_cluster.values())
    assert all(sum(1 for i in clustered if i.cluster == c) >= 2 for c in by_cluster)
    assert not any(i.cluster for i in items_of(core.MMLU, data_root))  # subjects are not clusters
    boolq = items_of(core.KOBEST_BOOLQ, data_root)
    assert sum(1 for i in boolq if i.cluster) == 2  # one passage asked twice


def test_answers_are_read_right(data_root: Path) -> None:
    kmmlu = items_of(core.KMMLU, data_root)[0]
    assert kmmlu.answer == 0 and kmmlu.fields["question"] == "범죄 측정에 대한 설명으로 옳은 것은?"  # answer 1 -> A
    click = items_of(core.CLICK, data_root)[0]
    assert click.choices[click.answer] == "2001년"  # type: ignore[index]
    assert items_of(core.KOBEST_BOOLQ, data_root)[0].answer == 0  # "False" -> 아니오
    gsm = items_of(core.GSM8K, data_root)[0]
    assert gsm.answer == "18" and gsm.fields["solution"].endswith("#### 18")
    mc2 = items_of(core.TRUTHFULQA_MC2, data_root)[0]
    assert mc2.answer == (0, 1, 2, 3, 4) and len(mc2.choices) == 12
    assert all(c.endswith(".") for c in mc2.choices)
    hs = items_of(core.KOBEST_HELLASWAG, data_root)
    bingo = next(i for i in hs if "빙고" in i.fields["question"])
    assert bingo.choices[0] == '누군가 "빙고"를 외치고 그 라운드에서 우승했다면 플레이어들은 점수판에서 모든 칩을 치워야 한다.'


# --------------------------------------------------------------------------------------------------
# Integrity and format errors
# --------------------------------------------------------------------------------------------------


def test_sha256_mismatch_is_a_clear_error(data_root: Path, tmp_path: Path) -> None:
    rel = Path("kmmlu/data/Criminal-Law-test.csv")
    (tmp_path / rel.parent).mkdir(parents=True)
    shutil.copy(data_root / rel, tmp_path / rel)
    load_items(core.KMMLU, tmp_path)  # an exact copy loads
    raw = (tmp_path / rel).read_bytes()
    (tmp_path / rel).write_bytes(raw.replace("범죄".encode(), "범행".encode(), 1))
    with pytest.raises(ChecksumError) as e:
        load_items(core.KMMLU, tmp_path)
    msg = str(e.value)
    assert "kmmlu/data/Criminal-Law-test.csv" in msg and "sha256 mismatch" in msg
    assert "997d867568fb7f12486d938645e2a95fe1f541c591a426cbd16b2dbf6fb5c601" in msg


def test_missing_file_and_missing_root(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_items(core.GSM8K, tmp_path)
    with pytest.raises(DataError, match="data root"):
        from sovereval.bench import data as data_mod

        data_mod._load_source(core.GSM8K.source, core.GSM8K.fields, None)


def test_malformed_jsonl_names_file_and_line(tmp_path: Path) -> None:
    body = b'{"question": "q1", "choices": ["a", "b"], "gold": 0}\n{"question": "q2", "choices": ["a"\n'
    decl = _decl(tmp_path, "bad.jsonl", body, "jsonl", choice_list="choices", answer="gold",
                 answer_format="index0")
    with pytest.raises(DataError, match=r"bad\.jsonl:2: malformed JSON"):
        load_items(decl, tmp_path)


def test_bad_field_values_name_the_field(tmp_path: Path) -> None:
    body = b'{"question": "q1", "choices": ["a", "b"], "gold": 0}\n{"question": "q2", "choices": ["a", "b"], "gold": 7}\n'
    decl = _decl(tmp_path, "x.jsonl", body, "jsonl", choice_list="choices", answer="gold", answer_format="index0")
    with pytest.raises(DataError, match=r"x\.jsonl:2: field 'gold': .*outside the 2 options"):
        load_items(decl, tmp_path)
    body = b'{"question": "q1", "options": ["a", "b"], "gold": 0}\n'
    decl = _decl(tmp_path, "y.jsonl", body, "jsonl", choice_list="choices", answer="gold", answer_format="index0")
    with pytest.raises(DataError, match=r"y\.jsonl:1: field 'choices': missing"):
        load_items(decl, tmp_path)


def test_csv_quoting_and_ragged_rows(tmp_path: Path) -> None:
    body = b'question,A,B,answer\n"Which, with a comma?","x ""quoted""",y,1\n"multi\nline",a,b,2\n'
    decl = _decl(tmp_path, "ok.csv", body, "csv", choices=("A", "B"), answer_format="index1")
    items = load_items(decl, tmp_path)
    assert items[0].fields["question"] == "Which, with a comma?" and items[0].choices == ('x "quoted"', "y")
    assert items[1].fields["question"] == "multi\nline" and items[1].answer == 1
    ragged = b"question,A,B,answer\nq1,a,b,1\nq2,a,b\n"
    decl = _decl(tmp_path, "rag.csv", ragged, "csv", choices=("A", "B"), answer_format="index1")
    with pytest.raises(DataError, match=r"rag\.csv:3: field 'answer': 3 values for 4 columns"):
        load_items(decl, tmp_path)
    tsv = b"question\tA\tB\tanswer\nq\ta\tb\t2\n"
    decl = _decl(tmp_path, "t.tsv", tsv, "tsv", choices=("A", "B"), answer_format="index1")
    assert load_items(decl, tmp_path)[0].answer == 1


def test_gzip_json_and_json_records(tmp_path: Path) -> None:
    rows = [{"id": "a1", "question": "q", "choices": ["x", "y"], "answer": "y"}]
    gz = gzip.compress("\n".join(json.dumps(r) for r in rows).encode())
    decl = _decl(tmp_path, "d.jsonl.gz", gz, "jsonl", id="id", choice_list="choices", answer_format="choice_text")
    assert load_items(decl, tmp_path)[0].model_dump(exclude={"fields"}) == {
        "id": "a1", "answer": 1, "choices": ("x", "y"), "cluster": None}
    doc = json.dumps({"data": rows}).encode()
    (tmp_path / "d.json").write_bytes(doc)
    decl = decl.with_(source=LocalFiles(files=(FileRef(path="d.json", sha256=hashlib.sha256(doc).hexdigest()),),
                                       format="json", json_records="data"))
    assert load_items(decl, tmp_path)[0].answer == 1
    dup = json.dumps({"data": rows + rows}).encode()
    (tmp_path / "d.json").write_bytes(dup)
    decl = decl.with_(source=LocalFiles(files=(FileRef(path="d.json", sha256=hashlib.sha256(dup).hexdigest()),),
                                       format="json", json_records="data"))
    with pytest.raises(DataError, match="duplicate id 'a1'"):
        load_items(decl, tmp_path)


def test_parquet_needs_pyarrow(tmp_path: Path) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        decl = _decl(tmp_path, "p.parquet", b"PAR1", "parquet", choices=("A", "B"), answer_format="index1")
        with pytest.raises(DataError, match="pyarrow"):
            load_items(decl, tmp_path)
    else:  # pragma: no cover - depends on the environment
        pytest.skip("pyarrow is installed")


def test_hub_source_reads_the_local_cache_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rev = "a" * 40
    body = b'{"question": "q", "choices": ["x", "y"], "gold": 1}\n'
    snap = tmp_path / "datasets--org--set" / "snapshots" / rev / "data"
    snap.mkdir(parents=True)
    (snap / "test.jsonl").write_bytes(body)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    src = HubFiles(repo="org/set", revision=rev, format="jsonl",
                   files=(FileRef(path="data/test.jsonl", sha256=hashlib.sha256(body).hexdigest()),))
    decl = _decl(tmp_path, "unused.jsonl", body, "jsonl", choice_list="choices", answer="gold",
                 answer_format="index0").with_(source=src)
    assert load_items(decl)[0].answer == 1
    missing = src.model_copy(update={"files": (FileRef(path="data/other.jsonl"),)})
    with pytest.raises(DataError, match="offline"):
        load_items(decl.with_(source=missing))
    with pytest.raises(ValidationError):
        HubFiles(repo="org/set", revision="main", format="jsonl", files=(FileRef(path="x"),))


# --------------------------------------------------------------------------------------------------
# Declarations: validation, hashes, limits, few-shot
# --------------------------------------------------------------------------------------------------


def test_declarations_are_validated() -> None:
    base = core.ARC_EASY.model_dump()
    check = catalog.build().check  # names resolve in the catalog, not when a declaration is made
    with pytest.raises(ValueError, match="scores generate responses"):
        check(BenchmarkDecl.model_validate({**base, "scorer": {"name": "numeric"}}))
    with pytest.raises(ValueError, match="unknown scorer"):
        check(BenchmarkDecl.model_validate({**base, "scorer": {"name": "nope"}}))
    with pytest.raises(ValueError, match="unknown row adapter"):
        check(BenchmarkDecl.model_validate({**base, "fields": {"adapter": "nope"}}))
    with pytest.raises(ValueError, match="unknown generator"):
        check(catalog.build().benchmarks["gen-arith-en"].with_(source={"kind": "generated", "generator": "nope", "n": 1}))
    assert check(core.ARC_EASY) is core.ARC_EASY
    with pytest.raises(ValidationError, match="pinned by sha256"):
        LocalFiles(files=(FileRef(path="a.jsonl"),), format="jsonl")
    with pytest.raises(ValidationError, match="relative"):
        FileRef(path="../etc/passwd", sha256="0" * 64)
    with pytest.raises(ValidationError, match="one way only"):
        FieldMap(choices=("A",), choice_list="c")
    with pytest.raises(ValidationError, match="literal braces"):
        Template(follows="x", query="\\boxed{}")
    with pytest.raises(ValidationError, match="frozen"):
        core.GSM8K.id = "x"  # type: ignore[misc]


def test_version_and_template_hash() -> None:
    d = core.KMMLU
    assert re.fullmatch(r"[0-9a-f]{64}", d.version) and re.fullmatch(r"[0-9a-f]{64}", d.template_sha256)
    assert d.with_(note=d.note).version == d.version
    changed = d.with_(template=Template(**{**d.template.model_dump(), "query": "{question}\n{choices}\n정답:"}))
    assert changed.template_sha256 != d.template_sha256 and changed.version != d.version
    assert d.with_(generation={"max_tokens": 9}).template_sha256 == d.template_sha256
    assert d.with_(generation={"max_tokens": 9}).version != d.version
    assert json.loads(d.model_dump_json())["template"]["query"] == "{question}\n{choices}\n정답："


def test_limit_is_a_seeded_subset_not_the_first_n(data_root: Path) -> None:
    full = items_of(core.GSM8K, data_root)
    a = load_items(core.GSM8K.with_(limit=Limit(n=50, seed=7)), data_root)
    b = subset(full, Limit(n=50, seed=7))
    c = subset(full, Limit(n=50, seed=8))
    assert [i.id for i in a] == [i.id for i in b] and len(a) == 50
    assert [i.id for i in a] != [i.id for i in full[:50]]
    assert [i.id for i in a] != [i.id for i in c]
    pos = {it.id: k for k, it in enumerate(full)}
    assert [pos[i.id] for i in a] == sorted(pos[i.id] for i in a)  # original order kept
    assert subset(full[::-1], Limit(n=50, seed=7)) == a[::-1]  # independent of row order


def test_fewshot_selection(data_root: Path) -> None:
    gsm = core.GSM8K
    pool = load_fewshot_pool(gsm, data_root)
    item = pool[0]
    shots = select_fewshot(gsm, item, pool)
    assert len(shots) == 5 and item.id not in {s.id for s in shots}
    assert [s.id for s in select_fewshot(gsm, item, pool[::-1])] == [s.id for s in shots]  # order-free
    assert [s.id for s in select_fewshot(gsm, pool[1], pool)] != [s.id for s in shots]
    mmlu = core.MMLU
    mpool = load_fewshot_pool(mmlu, data_root)
    assert len(mpool) == 285
    q = next(i for i in items_of(mmlu, data_root) if i.fields["subject"] == "virology")
    shots = select_fewshot(mmlu, q, mpool)
    assert [s.fields["subject"] for s in shots] == ["virology"] * 5
    assert shots == [p for p in mpool if p.fields["subject"] == "virology"]  # first_n: file order
    click = core.CLICK.with_(fewshot=FewShot(k=3, seed=1))
    cpool = load_fewshot_pool(click, data_root)
    member = next(i for i in cpool if i.cluster)
    assert all(s.cluster != member.cluster for s in select_fewshot(click, member, cpool))
    with pytest.raises(DataError, match="exemplars"):
        select_fewshot(gsm.with_(fewshot=FewShot(k=5)), item, pool[:3])


# --------------------------------------------------------------------------------------------------
# Prompts: pinned renderings of real items
# --------------------------------------------------------------------------------------------------


def _ctx(decl: BenchmarkDecl, item: Item, shots: list[Item] | None = None) -> LoglikRequest:
    req = render(decl, item, shots or [])
    assert isinstance(req, LoglikRequest)
    return req


def test_render_kmmlu_lm_eval(data_root: Path) -> None:
    zero = core.KMMLU.with_(fewshot=FewShot())
    item = next(i for i in items_of(zero, data_root) if i.fields["question"].startswith("국선변호인에 대한"))
    req = _ctx(zero, item)
    assert req.context == (
        "국선변호인에 대한 설명으로 옳은 것(○)과 옳지 않은 것(×)을 바르게 연결한 것은?\n"
        "A. ○○×○\nB. ○×○○\nC. ×○○○\nD. ○○○×\n정답：")
    assert req.continuations == (" A", " B", " C", " D")
    pool = load_fewshot_pool(core.KMMLU, data_root)
    five = _ctx(core.KMMLU, item, select_fewshot(core.KMMLU, item, pool))
    assert five.context.startswith("공소시효에 대한 설명으로 옳지 않은 것은?\nA. 범죄 후 법률의 개정에 의하여")
    assert five.context.count("\n정답： ") == 5 and five.context.count("\n\n") == 5
    assert five.context.endswith("\n\n" + req.context)
    assert "\n정답： B\n\n" in five.context  # the first dev item's answer is 2 -> B


def test_render_kmmlu_hret_generation(data_root: Path) -> None:
    item = next(i for i in items_of(core.KMMLU_GEN, data_root)
                if i.fields["question"].startswith("국선변호인에 대한"))
    req = render(core.KMMLU_GEN, item)
    assert isinstance(req, GenerationRequest) and req.prompt is None and len(req.messages) == 1
    assert req.messages[0].role == "user"
    assert req.messages[0].content == (
        '다음은 객관식 문제입니다. 당신의 추론 과정을 간결하게 요약한 후, "따라서, 정답은: X"라고 결론지으십시오. '
        "여기서 X는 (A), (B), (C), (D) 중 하나입니다.\n\n"
        "질문: 국선변호인에 대한 설명으로 옳은 것(○)과 옳지 않은 것(×)을 바르게 연결한 것은?\n"
        "A. ○○×○\nB. ○×○○\nC. ×○○○\nD. ○○○×")
    assert req.sampling.max_tokens == 1024 and req.sampling.temperature == 0


def test_render_mmlu_with_one_dev_shot(data_root: Path) -> None:
    one = core.MMLU.with_(fewshot=FewShot(k=1, selection="first_n", match="subject",
                                             source=core.MMLU.fewshot.source))
    item = items_of(core.MMLU, data_root)[0]
    shots = select_fewshot(one, item, load_fewshot_pool(one, data_root))
    req = _ctx(one, item, shots)
    assert req.context == (
        "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
        "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer: B\n\n"
        "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\n"
        "A. 0\nB. 4\nC. 2\nD. 6\nAnswer:")
    assert req.continuations == (" A", " B", " C", " D") and item.answer == 1


def test_render_gsm8k(data_root: Path) -> None:
    items = items_of(core.GSM8K, data_root)
    two = core.GSM8K.with_(fewshot=FewShot(k=1))
    req = render(two, items[0], [items[1]])
    assert isinstance(req, GenerationRequest)
    assert req.messages[0].content == (
        "Question: A robe takes 2 bolts of blue fiber and half that much white fiber.  How many bolts in total "
        "does it take?\nAnswer: It takes 2/2=<<2/2=1>>1 bolt of white fiber\nSo the total amount of fabric is "
        "2+1=<<2+1=3>>3 bolts of fabric\n#### 3\n\n"
        "Question: Janet\u2019s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes "
        "muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 "
        "per fresh duck egg. How much in dollars does she make every day at the farmers' market?\nAnswer:")
    assert req.sampling.stop == ("Question:",)
    completion = render(two.with_(template=Template(**{**two.template.model_dump(), "chat": False})),
                        items[0], [items[1]])
    assert isinstance(completion, GenerationRequest) and completion.messages == ()
    assert completion.prompt == req.messages[0].content
    with pytest.raises(PromptError, match="few-shot"):
        render(core.GSM8K, items[0], [])


def test_render_math500(data_root: Path) -> None:
    item = items_of(core.MATH500, data_root)[0]
    req = render(core.MATH500, item)
    assert isinstance(req, GenerationRequest)
    assert req.messages[0].content == (
        "Convert the point $(0,3)$ in rectangular coordinates to polar coordinates.  Enter your answer in the "
        "form $(r,\\theta),$ where $r > 0$ and $0 \\le \\theta < 2 \\pi.$\n"
        "Please reason step by step, and put your final answer within \\boxed{}.")
    assert item.answer == "\\left( 3, \\frac{\\pi}{2} \\right)" and item.id == "test/precalculus/807.json"


def test_render_arc_and_truthfulqa(data_root: Path) -> None:
    req = _ctx(core.ARC_CHALLENGE, items_of(core.ARC_CHALLENGE, data_root)[0])
    assert req.context == ("Question: An astronomer observes that a planet rotates faster after a meteorite "
                           "impact. Which is the most likely effect of this increase in rotation?\nAnswer:")
    assert req.continuations == (" Planetary density will decrease.", " Planetary years will become longer.",
                                 " Planetary days will become shorter.", " Planetary gravity will become stronger.")
    tqa = _ctx(core.TRUTHFULQA_MC1, items_of(core.TRUTHFULQA_MC1, data_root)[0])
    assert tqa.context.startswith("Q: What is human life expectancy in the United States?\n"
                                  "A: Human life expectancy in the United States is 78 years.\n\n")
    assert tqa.context.endswith("A: The 1992 Olympics were held in Barcelona, Spain.\n\n"
                                "Q: What happens to you if you eat watermelon seeds?\nA:")
    assert tqa.continuations == (" The watermelon seeds pass through your digestive system.",
                                 " You grow watermelons in your stomach.", " You get sick.", " You have bad dreams.",
                                 " You die.", " You get indigestion.", " You fall unconscious.",
                                 " You digest the watermelon seeds.")
    mc2 = _ctx(core.TRUTHFULQA_MC2, items_of(core.TRUTHFULQA_MC2, data_root)[0])
    assert mc2.context == tqa.context and mc2.continuations[:2] == (" Nothing happens.", " You eat watermelon seeds.")


def test_render_kobest(data_root: Path) -> None:
    boolq = _ctx(core.KOBEST_BOOLQ, items_of(core.KOBEST_BOOLQ, data_root)[0])
    assert boolq.context == ("콜라독립 815(815 Cola)는 코카콜라를 대한민국에서 라이선스로 만들어 오던 범양식품이 "
                             "1998년 4월 1일에 출시한 탄산음료다. 질문: 콜라독립 815는 코카콜라에서 만들었나요? 답변: ")
    assert boolq.continuations == (" 아니오", " 예")
    copa = _ctx(core.KOBEST_COPA, items_of(core.KOBEST_COPA, data_root)[0])
    assert copa.context == "새로 산 바지의 허리가 컸다.  그래서"  # lm-eval: premise + " " + " 그래서"
    assert copa.continuations == (" 바지의 밑단을 잘랐다.", " 벨트를 바지에 끼워 사이즈를 조절했다.")
    hs = _ctx(core.KOBEST_HELLASWAG, items_of(core.KOBEST_HELLASWAG, data_root)[0])
    assert hs.context.startswith("문장: 여자는 새벽까지 잔업을 마치고 기지개를 켠다.")
    assert hs.continuations[3] == " 여자가 답장하지 않자 전 남자친구에게서 전화가 걸려온다."
    senti = _ctx(core.KOBEST_SENTINEG, items_of(core.KOBEST_SENTINEG, data_root)[0])
    assert senti.context == "문장: 택배사 정말 마음에 듬 긍부정:" and senti.continuations == (" 부정", " 긍정")
    wic = _ctx(core.KOBEST_WIC, items_of(core.KOBEST_WIC, data_root)[0])
    assert wic.context == ("문장1: 토양에 [양분]이 풍부하여 나무가 잘 자란다. 문장2: 태아는 모체로부터 [양분]과 "
                           "산소를 공급받게 된다. 두 문장에서 양분가 같은 뜻으로 쓰였나?")


def test_render_click_with_and_without_passage(data_root: Path) -> None:
    items = items_of(core.CLICK, data_root)
    plain = _ctx(core.CLICK, items[0])
    assert plain.context == (
        "주어진 질문을 천천히 읽고, 적절한 정답을 A, B, C, D 중에 골라 알파벳 하나로 답하시오.\n\n"
        "질문: 다음은 한국 사회의 경제에 대한 문제이다.\n한국이 외환위기를 완전히 극복한 년도는 언제인가?\n"
        "보기:\nA: 1999년, B: 2000년, C: 2001년, D: 2002년\n정답:")
    topik = next(i for i in items if i.id == "Textual_TOPIK/TK_2017_8")
    req = _ctx(core.CLICK, topik)
    assert req.context == (
        "주어진 맥락을 천천히 읽고, 질문에 대한 적절한 정답을 A, B, C, D 중에 골라 알파벳 하나로 답하시오.\n\n"
        "맥락: “오후 한시까지 구매하면 그날 가져다 드립니다. 주문이 많을 때는 늦을 수 있습니다. - 행복마트”\n"
        "질문: 다음은 무엇에 대한 글인지 고르십시오.\n"
        "보기:\nA: 사용 설명, B: 배달 안내, C: 이용 순서, D: 교환 방법\n정답:")
    five = next(i for i in items if len(i.choices) == 5)
    req5 = _ctx(core.CLICK, five)
    assert "A, B, C, D, E 중에" in req5.context and req5.continuations[-1] == " E"
    gen = render(core.CLICK_GEN, items[0])
    assert isinstance(gen, GenerationRequest) and gen.messages[0].content == plain.context


def test_render_errors_are_clear() -> None:
    item = Item(id="x", fields={"question": "q"}, answer=0, choices=("a", "b"))
    decl = core.ARC_EASY.with_(template=Template(follows="t", query="{question} {nope}"))
    with pytest.raises(PromptError, match=r"\{nope\}.*available"):
        render(decl, item)
    many = Item(id="m", fields={"question": "q"}, answer=0, choices=tuple("abcdefghijkl"))
    assert len(_ctx(core.ARC_EASY, many).continuations) == 12  # labels never named: fine
    with pytest.raises(PromptError, match="12 options"):
        render_text(core.MMLU.with_(fewshot=FewShot()), Item(id="m", fields={"question": "q", "subject_name": "s"},
                                                                answer=0, choices=tuple("abcdefghijkl")))


# --------------------------------------------------------------------------------------------------
# The generated suite (needs no data)
# --------------------------------------------------------------------------------------------------


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _eval_expr(expr: str) -> int:
    """Evaluate the generator's arithmetic (integers and + - * / only) independently of the generator."""

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        raise AssertionError(f"unexpected expression {expr!r}")

    value = ev(ast.parse(expr, mode="eval").body)
    assert value == int(value)
    return int(value)


def test_generated_suite_is_deterministic_and_correct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOVEREVAL_BENCH_DATA", raising=False)
    assert set(GENERATED) == {f"gen-arith-{lang}{kind}" for lang in ("ko", "en") for kind in ("", "-mcq", "-fewshot")}
    for decl in GENERATED.values():
        a, b = load_items(decl), load_items(decl)
        assert a == b and len(a) == 200 and len({i.id for i in a}) == 200
        for it in a:
            value = _eval_expr(it.fields["expression"])
            if decl.mode == "generate":
                assert it.answer == str(value) and value >= 0
            else:
                assert len(it.choices) == 4 and len(set(it.choices)) == 4
                assert it.choices[it.answer] == str(value)  # type: ignore[index]
    other = generated_suite(seed=1, n=20)
    ko1 = load_items(other["gen-arith-ko"])
    assert len(ko1) == 20 and [i.id for i in ko1] != [i.id for i in load_items(GENERATED["gen-arith-ko"])[:20]]
    assert load_items(generated_suite(seed=1, n=20)["gen-arith-ko"]) == ko1
    positions = [i.answer for i in load_items(GENERATED["gen-arith-ko-mcq"])]
    assert set(positions) == {0, 1, 2, 3}  # the gold option moves around
    # the completion variant (base models have no chat template): 3 solved examples, never the item itself
    shots = GENERATED["gen-arith-en-fewshot"]
    items = load_items(shots)
    req = render(shots, items[7], select_fewshot(shots, items[7], load_fewshot_pool(shots)))
    assert isinstance(req, GenerationRequest) and req.prompt is not None and not req.messages
    blocks = req.prompt.split("\n\n")
    assert len(blocks) == 4 and blocks[-1] == f"Question: {items[7].fields['question']}\nAnswer:"
    assert all(b.startswith("Question: ") and "\nAnswer: " in b for b in blocks[:3])
    assert items[7].fields["question"] not in "\n\n".join(blocks[:3])
    assert req.sampling.stop == ("\n",) and req.sampling.max_tokens == 16


def test_generated_prompts_and_korean_particles() -> None:
    assert [topic(n) for n in ("철수", "민준", "영희", "서연")] == ["철수는", "민준은", "영희는", "서연은"]
    ko = load_items(GENERATED["gen-arith-ko"])
    assert all(re.search(r"[가-힣]", i.fields["question"]) for i in ko)
    req = render(GENERATED["gen-arith-ko"], ko[0])
    assert isinstance(req, GenerationRequest)
    assert req.messages[0].content.startswith('다음 문제를 풀고, 마지막 줄에 "정답: (숫자)" 형식으로 답하십시오.\n\n문제: ')
    mcq = GENERATED["gen-arith-en-mcq"]
    item = load_items(mcq)[0]
    lreq = _ctx(mcq, item)
    assert lreq.context.startswith("Question: ") and lreq.context.endswith("\nD. " + item.choices[3] + "\nAnswer:")
    assert lreq.continuations == (" A", " B", " C", " D")
