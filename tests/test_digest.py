"""sovereval.digest: the frozen byte formats, and one inputs digest for the CLI and the web app.

The golden values below were computed with the recipes as they stood before sovereval.digest existed
(bench/types.py ``canonical``/``key_for``, store/store.py ``canonical_json``/``event_hash``/..., now in store/canonical.py and store/chain.py): a change
that moves one of them orphans stored ledgers or breaks stored audit hash chains.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sovereval import digest
from sovereval.arena import abuse
from sovereval.bench import types
from sovereval.bench.data import _record_to_item
from sovereval.bench.evaluate import items_digest
from sovereval.bench.judge.prompts import JudgePrompt, PromptSet
from sovereval.bench.spec import FieldMap, Item, Template
from sovereval.cli import app
from sovereval.program.load import load_program
from sovereval.program.records import (
    Approval,
    BenchmarkResult,
    GateDecision,
    Inputs,
    PublishedCell,
    PublishedOutcome,
    Rating,
    inputs_digest,
)
from sovereval.program.scope import Scope
from sovereval.scoring import engine
from sovereval.store import Store, StoreError, store
from sovereval.store.webdb import WebDB
from sovereval.web.sheet import SheetService
from tests.helpers import STAGE1, STAGE1_INPUTS

OBJ = {
    "b": [1, 2.5, True, None, -0.0, 1e-7, 10**20],
    "a": 'é 한글 \u2028 "q" \\ /',
    "c": {"z": 1, "y": {}},
    "emoji": "🙂",
}
UNICODE = '{"a":"é 한글 \u2028 \\"q\\" \\\\ /","b":[1,2.5,true,null,-0.0,1e-07,100000000000000000000],"c":{"y":{},"z":1},"emoji":"🙂"}'
ASCII = (
    '{"a":"\\u00e9 \\ud55c\\uae00 \\u2028 \\"q\\" \\\\ /","b":[1,2.5,true,null,-0.0,1e-07,100000000000000000000],'
    '"c":{"y":{},"z":1},"emoji":"\\ud83d\\ude42"}'
)
WEIGHTS = "sha256:" + "ab" * 32
AT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def sample_inputs() -> Inputs:
    return Inputs(
        program="prog", stage="s1", note="노트 ünïcode",
        benchmarks=(
            BenchmarkResult(team="b-team", benchmark="summary", n=200, mean=61.5, provenance="published"),
            BenchmarkResult(team="a-team", benchmark="items", item_ids=("q3", "q1", "q2"),
                            scores=(1.0, 0.0, 0.3333333333333333), clusters=("p1", "p1", "p2"), note="항목"),
            BenchmarkResult(team="a-team", benchmark="nonbinary", n=50, mean=40.25, binary=False, sd=12.5),
        ),
        ratings=(
            Rating(panel="users", rater="u1", team="b-team", item="ux", value=3.0, comment="좋아요"),
            Rating(panel="experts", rater="r1", team="a-team", item="design", value=7.5, comment="solid"),
        ),
        gates=(GateDecision(gate="independence", team="b-team", status="fail", reason="외국 모델"),
               GateDecision(gate="independence", team="a-team", status="pass")),
        approvals=(Approval(panel="experts", rater="r1", team="a-team", approve=True),),
        published=(PublishedCell(key="total", team="a-team", value=71.25),
                   PublishedCell(key="total", value=50.0, stat="mean")),
        outcome=PublishedOutcome(selected=("a-team",), eliminated={"b-team": "탈락"}),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# The two canonical-JSON byte formats
# --------------------------------------------------------------------------------------------------


def test_unicode_format_is_frozen() -> None:
    assert digest.canonical_json_unicode(OBJ) == UNICODE
    assert digest.canonical_json(OBJ, ascii=False) == UNICODE
    assert types.canonical(OBJ) == UNICODE  # the old name still gives the same bytes
    assert digest.canonical_json_unicode({"x": math.nan}) == '{"x":NaN}'  # json's default, as before


def test_ascii_format_is_frozen() -> None:
    assert digest.canonical_json_ascii(OBJ) == ASCII
    assert digest.canonical_json(OBJ, ascii=True) == ASCII
    assert store.canonical_json(OBJ) == ASCII
    with pytest.raises(ValueError):
        digest.canonical_json_ascii({"x": math.inf})
    with pytest.raises(StoreError, match="NaN"):
        store.canonical_json({"x": math.nan})


def test_sha256_hex_and_content_digest() -> None:
    assert digest.sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert digest.sha256_hex("한글") == digest.sha256_hex("한글".encode()) == store.sha256_text("한글")
    assert digest.content_digest(OBJ, ascii=True) == digest.sha256_hex(ASCII)
    assert digest.content_digest(OBJ, ascii=False) == digest.sha256_hex(UNICODE)
    assert digest.content_digest(OBJ, ascii=True) != digest.content_digest(OBJ, ascii=False)


# --------------------------------------------------------------------------------------------------
# Stored digests, pinned through the functions that compute them
# --------------------------------------------------------------------------------------------------


def test_ledger_keys_are_frozen() -> None:
    assert types.key_for is digest.key_for and types.request_key is digest.request_key
    gen = types.GenerationRequest(messages=(types.Message(role="user", content="안녕 🙂"),),
                                  sampling=types.Sampling(max_tokens=8, stop=("\n",)))  # fmt: skip
    loglik = types.LoglikRequest(context="하늘은", continuations=(" 파랗다", " 빨갛다"))
    identity = types.ModelIdentity(name="m", weights_sha256="ab" * 32)
    assert (
        types.key_for(WEIGHTS, "chat", gen, 0)
        == "82eedf014b502cf204e2ab87d544144695b8c4c3a1082bb9310377ce62119667"
    )
    assert (
        types.key_for(WEIGHTS, "chat", gen, 1)
        == "7aa29d60dbbcc187eb0f5ba3b2e777f3203995749f0b8d9fea10a37680c781ec"
    )
    assert (types.request_key(identity, "completions", loglik)
            == "5db60b0af61a9d483b06ab387933f67ab73e7853d2181bfb6a8ea949ae85f986")  # fmt: skip


def test_store_digests_are_frozen() -> None:
    x = sample_inputs()
    detail = {"note": "노트", "n": 2.5}
    assert (store.event_hash(7, AT, "alice", "import_inputs", "input_batch", "3", detail, "0" * 64)
            == "1f3eebfec94b28c037cc25d6a7df58b98aa6a88b1920f6a81fae22de67f7524e")  # fmt: skip
    assert (
        store.content_sha256(store.records_of(x))
        == "47444f8404af47d4f976ab655565d5f41ee9dd9a354514165bd7087185bde090"
    )
    assert (
        store.items_sha256(x.benchmarks[1])
        == "d629e1df817c6bfe3f2b374f48b93ec1f1a4c7ee86c278b558644a772d7883f4"
    )


INPUTS_DIGEST = "4e712e81c78e941624fa22b6df5b05ebc814d9dab55706ae997a7015dec9940b"


def test_inputs_digest_is_the_stores_format_and_order_free() -> None:
    x = sample_inputs()
    assert inputs_digest(x) == store.inputs_sha256(x) == engine.inputs_digest(x) == INPUTS_DIGEST
    shuffled = x.model_copy(update={f: tuple(reversed(getattr(x, f)))
                                    for f in ("benchmarks", "ratings", "gates", "published")})  # fmt: skip
    assert inputs_digest(shuffled) == INPUTS_DIGEST
    assert inputs_digest(x.model_copy(update={"note": "other"})) != INPUTS_DIGEST
    nan = x.model_copy(update={"ratings": (x.ratings[0].model_copy(update={"value": math.nan}),)})
    with pytest.raises(ValueError, match="NaN"):
        inputs_digest(nan)
    with pytest.raises(StoreError):
        store.inputs_sha256(nan)


def test_bench_and_arena_digests_are_frozen() -> None:
    assert items_digest([Item(id="a/1"), Item(id="항목-2")]) == (
        "c5be85b8795b0a43ec278dd5fd0533021ab4c42d211c9f75674a6cf03f50901e"
    )
    assert abuse.prompt_digest("  Hello \n  WÖRLD 안녕 ") == (
        "969af9e59a1f1169c18a7e51011b95f0fb8c9a3d22c8d0bb3c2bee1086b58a44"
    )
    assert Template(follows="본 시험", query="{question} 🙂").sha256 == (
        "d4631f926f3140099d09126a49be88f773c1f9a73a295c725d52f5128b4963d6"
    )
    prompts = PromptSet(
        protocol="p",
        follows="f",
        fragments={"k": "조각"},
        prompts=(
            JudgePrompt(name="n", kind="single", output_format="[[평점]]", system="시스템", template="{q}"),
        ),
    )
    assert prompts.sha256 == "06e2a04402cb1be23828e948ab1e0691e6607d368771d15f06d3f2c67877b5ec"
    item = _record_to_item({"question": "질문?", "answer": "네"}, FieldMap(), "data/x.jsonl", 3)
    assert item.id == "h07d6d6bc47404971"


# --------------------------------------------------------------------------------------------------
# The CLI and the web app record the same inputs digest for the same inputs
# --------------------------------------------------------------------------------------------------


def test_cli_and_web_record_the_same_inputs_digest(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'digest.db'}"
    result = CliRunner().invoke(app, ["score", "--program", str(STAGE1), "--inputs", str(STAGE1_INPUTS),
                                      "--db", db, "-r", "20", "--actor", "cli"])  # fmt: skip
    assert result.exit_code == 0, result.output
    loaded = load_program(STAGE1)
    stage = loaded.program.stages[0]
    with Store(db) as s:
        (cli_run,) = s.score_runs(loaded.program.id, stage.id)
        web = SheetService(
            WebDB(s), Scope(loaded.program, loaded.sha256, stage, "expert", "user"), replicates=20
        )
        view = web.current("web")
        assert view.sheet is not None, view.problem
        current = s.current_inputs(loaded.program.id, stage.id)
        runs = s.score_runs(loaded.program.id, stage.id)
    assert len(runs) == 2  # the web recorded its own run
    want = inputs_digest(current)
    assert cli_run.inputs_sha256 == view.inputs_sha256 == view.sheet.inputs_sha256 == want
    assert {r.inputs_sha256 for r in runs} == {want}
