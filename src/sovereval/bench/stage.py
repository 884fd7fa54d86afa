"""A programme stage's benchmark block, run by sovereval itself: team models -> benchmark runs -> results.

:func:`plan` reads which benchmark items of a stage can run here (a sub-block item names its
declarations in ``benchmarks``, or is itself a catalogue id; a team-chosen individual benchmark is a
catalogue id) and which team models are reachable (``ModelRef.backend`` or a ``--model`` override).
:func:`run_stage` opens each team's model once, runs every planned declaration through
:func:`~sovereval.bench.evaluate.evaluate` (ledger first, so a killed run resumes), closes the model and
turns the outcomes into item-level :class:`~sovereval.program.records.BenchmarkResult` records for the
store and the scoring engine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sovereval.bench.catalog import build
from sovereval.bench.data import reads_data_root
from sovereval.bench.evaluate import BenchOutcome, FailurePolicy, IncompleteRun, evaluate, rescore, to_result
from sovereval.bench.runner import RunConfig
from sovereval.bench.spec import BenchmarkDecl, Generated, Limit, LocalFiles
from sovereval.program.records import BenchmarkResult
from sovereval.program.spec import Program, Stage


@dataclass(frozen=True)
class Planned:
    team: str
    subblock: str
    item: str  # the programme item id: BenchmarkResult.benchmark
    decls: tuple[BenchmarkDecl, ...]


@dataclass
class Plan:
    program_id: str
    stage: Stage
    runs: list[Planned] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)  # team -> backend spec
    skipped: list[str] = field(default_factory=list)  # what cannot run here, and why


def _stage(program: Program, stage_id: str | None) -> Stage:
    if stage_id is None:
        return program.stages[0]
    for s in program.stages:
        if s.id == stage_id:
            return s
    raise ValueError(f"programme {program.id!r} has no stage {stage_id!r}; stages: {[s.id for s in program.stages]}")


def _decls(ids: Sequence[str], data_root: str | os.PathLike[str] | None) -> tuple[BenchmarkDecl, ...] | str:
    out = []
    for bid in ids:
        if bid not in build().benchmarks:
            return f"no declaration {bid!r} in the catalogue"
        d = build().benchmarks[bid]
        if isinstance(d.source, Generated) and data_root is None and reads_data_root(d.source):
            return f"{bid} is generated from pinned benchmark data: give --data DIR (the layout of ../shared/benchmarks)"
        if isinstance(d.source, LocalFiles):
            if data_root is None:
                return f"{bid} needs benchmark data: give --data DIR (the layout of ../shared/benchmarks)"
            absent = [f.path for f in d.source.files if not (Path(data_root) / f.path).is_file()]
            if absent:
                return f"{bid}: {absent[0]} not found under {data_root}"
        out.append(d)
    return tuple(out)


def plan(program: Program, stage_id: str | None = None, *, teams: Sequence[str] | None = None,
         models: Mapping[str, str] | None = None, data_root: str | os.PathLike[str] | None = None) -> Plan:
    stage = _stage(program, stage_id)
    by_id = {t.id: t for t in program.teams}
    p = Plan(program_id=program.id, stage=stage)
    chosen = list(teams) if teams else list(stage.teams)
    for tid in chosen:
        if tid not in stage.teams:
            raise ValueError(f"team {tid!r} is not in stage {stage.id!r}; teams: {list(stage.teams)}")
        spec = (models or {}).get(tid) or next((m.backend for m in by_id[tid].models if m.backend), None)
        if spec is None:
            p.skipped.append(f"team {tid}: no model sovereval can reach (give a backend in the programme or --model)")
            continue
        p.models[tid] = spec
    for block in stage.blocks:
        for sb in block.subblocks:
            if sb.source != "benchmark":
                continue
            for tid in p.models:
                if sb.team_chosen:
                    entries = [(bid, (bid,)) for bid in by_id[tid].individual_benchmarks]
                else:
                    entries = [(it.id, it.benchmarks or (it.id,)) for it in sb.items]
                for item_id, ids in entries:
                    decls = _decls(ids, data_root)
                    if isinstance(decls, str):
                        p.skipped.append(f"{sb.id}/{item_id} for team {tid}: {decls}")
                        continue
                    p.runs.append(Planned(team=tid, subblock=sb.id, item=item_id, decls=decls))
    return p


def _needs_judge(d: BenchmarkDecl) -> bool:
    if d.mode != "episode":
        return False
    info = build().episodes[d.scorer.name]
    return info.needs_judge or info.needs_user


@dataclass
class StageRun:
    plan: Plan
    outcomes: dict[tuple[str, str], list[BenchOutcome]] = field(default_factory=dict)  # (team, item) -> outcomes
    results: list[BenchmarkResult] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)


async def run_stage(p: Plan, ledger, *, data_root: str | os.PathLike[str] | None = None,
                    limit: Limit | None = None, judge: str | None = None, user: str | None = None,
                    config: RunConfig | None = None, actor: str = "sovereval",
                    failures: FailurePolicy = "incomplete", backend_kwargs: Mapping[str, object] | None = None,
                    ) -> StageRun:
    """Run every planned benchmark, one team model loaded at a time; results for complete items only."""
    from sovereval.bench.backends import open_backend  # the HTTP client only when models are run

    out = StageRun(plan=p)
    needs_judge = any(d.mode == "episode" for r in p.runs for d in r.decls)
    jb = await open_backend(judge, **(backend_kwargs or {})) if judge and needs_judge else None
    ub = await open_backend(user, **(backend_kwargs or {})) if user and needs_judge else None
    try:
        for tid, spec in p.models.items():
            backend = await open_backend(spec, **(backend_kwargs or {}))
            try:
                for r in (r for r in p.runs if r.team == tid):
                    lacking = [d.id for d in r.decls if _needs_judge(d) and jb is None]
                    if lacking:
                        p.skipped.append(f"{r.subblock}/{r.item} for team {tid}: {', '.join(lacking)} need a judge "
                                         f"model (--judge)")
                        continue
                    tags = {"programme": p.program_id, "stage": p.stage.id, "team": tid, "item": r.item}
                    got = [await evaluate(d, backend, ledger, data_root=data_root, limit=limit, judge=jb, user=ub,
                                          config=config, actor=actor, tags=tags) for d in r.decls]
                    out.outcomes[(tid, r.item)] = got
                    try:
                        out.results.append(to_result(tid, r.item, got, failures=failures))
                    except IncompleteRun as e:
                        out.incomplete.append(str(e))
            finally:
                await backend.aclose()
    finally:
        for b in (jb, ub):
            if b is not None:
                await b.aclose()
    return out


def rescore_stage(program: Program, stage_id: str | None, ledger, *,
                  data_root: str | os.PathLike[str] | None = None, failures: FailurePolicy = "incomplete") -> StageRun:
    """The stage's benchmark results again, from the ledger alone, with the current declarations' scorers.

    For every (team, item, declaration) the latest recorded run tagged with this programme, stage, team
    and item is rescored; no model is loaded.  Items never run are listed in ``plan.skipped``.
    """
    stage = _stage(program, stage_id)
    latest: dict[tuple[str, str, str], object] = {}
    for run in ledger.runs():
        t = run.manifest.get("tags") or {}
        if t.get("programme") == program.id and t.get("stage") == stage.id and run.ended:
            latest[(t["team"], t["item"], run.benchmark_id)] = run  # runs come in id order: the last wins
    teams = sorted({k[0] for k in latest})
    p = plan(program, stage.id, teams=teams, models=dict.fromkeys(teams, "recorded"), data_root=data_root) if teams else \
        Plan(program_id=program.id, stage=stage)
    out = StageRun(plan=p)
    for r in p.runs:
        runs = [latest.get((r.team, r.item, d.id)) for d in r.decls]
        if any(x is None for x in runs):
            p.skipped.append(f"{r.subblock}/{r.item} for team {r.team}: never run")
            continue
        got = [rescore(d, run, ledger, data_root=data_root) for d, run in zip(r.decls, runs, strict=True)]  # type: ignore[arg-type]
        out.outcomes[(r.team, r.item)] = got
        try:
            out.results.append(to_result(r.team, r.item, got, failures=failures))
        except IncompleteRun as e:
            out.incomplete.append(str(e))
    return out
