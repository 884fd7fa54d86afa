"""``sovereval bench``: run a programme stage's benchmarks on real models, rescore from the ledger, list."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sovereval import console
from sovereval.store.store import StoreError

if TYPE_CHECKING:
    from sovereval.bench.stage import StageRun
    from sovereval.program.spec import Program

app = typer.Typer(help="Benchmarks: run a stage's benchmark block on real models, rescore, list.", no_args_is_help=True)

DataOpt = Annotated[Path | None, typer.Option("--data", help="Benchmark data root (layout of ../shared/benchmarks; "
                                                             "default: $SOVEREVAL_BENCH_DATA or a ../shared/benchmarks found upward).")]


def _models(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        team, sep, spec = p.partition("=")
        if not sep or not team or not spec:
            raise typer.BadParameter(f"--model {p!r}: write TEAM=openai:<url>[#model] or TEAM=llama:<model>")
        out[team] = spec
    return out


def _import_results(store, program: Program, psha: str, stage_id: str, run: StageRun, actor: str,
                    reason: str | None, what: str) -> int | None:
    from sovereval.program.records import Inputs
    from sovereval.scoring.engine import validate_inputs

    # a result identical item by item to the stored one (a resumed or repeated run) is not imported again:
    # the stored record keeps pointing at the ledger runs that first produced it
    try:
        stored = {(b.team, b.benchmark): b for b in store.current_inputs(program.id, stage_id).benchmarks}
    except StoreError:  # nothing recorded for this stage yet
        stored = {}
    fresh = tuple(r for r in run.results if (old := stored.get((r.team, r.benchmark))) is None
                  or old.item_ids != r.item_ids or old.scores != r.scores)
    if not fresh:
        return None
    inputs = Inputs(program=program.id, stage=stage_id, provenance="recorded", benchmarks=fresh,
                    note=f"{what}: item-level results measured by sovereval (ledger runs in each result's note)")
    validate_inputs(program, inputs, complete=False)
    body = inputs.model_dump_json().encode("utf-8")
    return store.import_inputs(inputs, program_sha256=psha, source_name=f"sovereval bench {what}",
                               source_sha256=hashlib.sha256(body).hexdigest(), actor=actor, reason=reason)


def _show(run: StageRun, replicates: int, seed: int) -> None:
    from sovereval.report.runs import differences_table, results_table
    from sovereval.scoring.runs import measured_results

    sources = {k: ", ".join(f"{o.decl.id} (run {o.run_id}" + (f", judge {o.judge.name})" if o.judge else ")")
                            for o in v) for k, v in run.outcomes.items()}
    measured = measured_results(run.results, replicates=replicates, seed=seed)
    console.out.print(results_table(measured.intervals, sources=sources))
    if measured.differences:
        console.out.print(differences_table(measured.differences))
    for line in run.plan.skipped:
        console.out.print(f"[yellow]not run[/]: {line}", highlight=False)
    for line in run.incomplete:
        console.out.print(f"[red]incomplete[/]: {line}", highlight=False)


def _sheet(store, program: Program, psha: str, stage_id: str, replicates: int, seed: int, actor: str,
           out_dir: Path | None) -> int:
    from sovereval import __version__
    from sovereval.program.load import SpecError
    from sovereval.report import sheet as report
    from sovereval.scoring.engine import score as score_sheet

    try:
        current = store.current_inputs(program.id, stage_id)
        sheet = score_sheet(program, current, replicates=replicates, seed=seed, program_sha256=psha)
    except (ValueError, SpecError, StoreError) as e:
        console.out.print(f"[yellow]no sheet yet[/] (the stage's other inputs are not all recorded): {e}", highlight=False)
        return 0
    store.record_score_run(program_sha256=psha, stage_id=stage_id, inputs_sha256=sheet.inputs_sha256, seed=seed,
                           replicates=replicates, engine_version=__version__,
                           result=json.loads(sheet.model_dump_json()), actor=actor)
    report.print_sheet(sheet, console.out)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for kind in ("md", "csv", "json", "png"):
            console.write_export(sheet, out_dir / f"{program.id}-{stage_id}-sheet.{kind}", kind)
        console.out.print(f"exports: {out_dir}/{program.id}-{stage_id}-sheet.{{md,csv,json,png}}", highlight=False)
    return 1 if sheet.warnings else 0


def measure(program: Path, *, stage: str | None = None, teams: list[str] | None = None,
            models: dict[str, str] | None = None, data: Path | None = None, limit: int | None = None,
            limit_seed: int = 0, judge: str | None = None, user: str | None = None, concurrency: int = 8,
            zero_failures: bool = False, db: str | None = None, reason: str | None = None, replicates: int = 2000,
            seed: int = 20260115, out_dir: Path | None = None, actor: str | None = None) -> int:
    """``bench run``'s work; returns the exit code (0: sheet complete; 1: warnings or incomplete runs)."""
    from sovereval.bench.data import find_data_root
    from sovereval.bench.runner import RunConfig
    from sovereval.bench.spec import Limit
    from sovereval.bench.stage import plan, run_stage
    from sovereval.program.load import load_program
    from sovereval.store.ledger import Ledger

    who = console.actor(actor)
    try:
        loaded = load_program(program)
        root = data or find_data_root()
        p = plan(loaded.program, stage, teams=teams, models=models or {}, data_root=root)
        store = console.open_store(db)
        psha = store.add_program(loaded.text, source_name=str(program), actor=who)
        console.out.rule(f"[bold]{loaded.program.name}[/] — stage {p.stage.id}")
        console.out.print(f"models: {p.models}\ndata: {root or '(none found: generated benchmarks only)'}\n"
                      f"items per benchmark: {limit or 'all'}", highlight=False)
        config = RunConfig(concurrency=concurrency, progress=True)
        result = asyncio.run(run_stage(p, Ledger(store), data_root=root,
                                       limit=Limit(n=limit, seed=limit_seed) if limit else None, judge=judge,
                                       user=user, config=config, actor=who,
                                       failures="zero" if zero_failures else "incomplete"))
        _import_results(store, loaded.program, psha, p.stage.id, result, who, reason, "run")
    except (ValueError, LookupError, OSError, StoreError) as e:
        raise console.fail(e) from None
    _show(result, replicates, seed)
    code = _sheet(store, loaded.program, psha, p.stage.id, replicates, seed, who, out_dir)
    return 1 if result.incomplete else code


@app.command("run")
def run(
    program: Annotated[Path, typer.Argument(help="Programme TOML.")],
    stage: Annotated[str | None, typer.Option(help="Stage id (default: the first).")] = None,
    team: Annotated[list[str] | None, typer.Option("--team", help="Only these teams (repeat).")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", help="TEAM=SPEC overriding the programme's backend "
                                                                    "(repeat).")] = None,
    data: DataOpt = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Seeded subset of N items per benchmark.")] = None,
    limit_seed: Annotated[int, typer.Option(help="Seed of the subset.")] = 0,
    judge: Annotated[str | None, typer.Option(help="Judge model spec for judge-scored benchmarks.")] = None,
    user: Annotated[str | None, typer.Option(help="Simulated-user model spec for agent benchmarks (default: judge).")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight per model (adaptive above this).")] = 8,
    zero_failures: Annotated[bool, typer.Option("--score-failures-as-zero", help="Score items whose requests failed "
                                                "for good as 0 (recorded) instead of leaving the result out.")] = False,
    db: Annotated[str | None, typer.Option(help="Store URL.")] = None,
    reason: Annotated[str | None, typer.Option(help="Required when results change values already stored.")] = None,
    replicates: Annotated[int, typer.Option("--replicates", "-r", min=0)] = 2000,
    seed: Annotated[int, typer.Option()] = 20260115,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write the sheet (md/csv/json/png) here.")] = None,
    actor: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Run a stage's benchmark block on the teams' models (ledger first: a rerun resumes), import the
    item-level results into the store and print them, the paired differences and the sheet."""
    raise typer.Exit(measure(program, stage=stage, teams=team, models=_models(model or []), data=data, limit=limit,
                             limit_seed=limit_seed, judge=judge, user=user, concurrency=concurrency,
                             zero_failures=zero_failures, db=db, reason=reason, replicates=replicates, seed=seed,
                             out_dir=out_dir, actor=actor))


@app.command("rescore")
def rescore(
    program: Annotated[Path, typer.Argument(help="Programme TOML.")],
    stage: Annotated[str | None, typer.Option(help="Stage id (default: the first).")] = None,
    data: DataOpt = None,
    db: Annotated[str | None, typer.Option(help="Store URL.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why the scores are replaced (required when any changes).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the rescored results; import nothing.")] = False,
    replicates: Annotated[int, typer.Option("--replicates", "-r", min=0)] = 2000,
    seed: Annotated[int, typer.Option()] = 20260115,
    actor: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Score the stage's recorded runs again from the ledger — no model is loaded or asked — with the
    current scorers; show what changed; import the new results (with --reason) and rescore the sheet."""
    from sovereval.bench.data import find_data_root
    from sovereval.bench.stage import rescore_stage
    from sovereval.program.load import load_program
    from sovereval.store.ledger import Ledger

    who = console.actor(actor)
    try:
        loaded = load_program(program)
        store = console.open_store(db)
        psha = store.add_program(loaded.text, source_name=str(program), actor=who)
        result = rescore_stage(loaded.program, stage, Ledger(store), data_root=data or find_data_root())
        stage_id = result.plan.stage.id
        before = {(b.team, b.benchmark): b for b in store.current_inputs(loaded.program.id, stage_id).benchmarks}
    except (ValueError, LookupError, OSError, StoreError) as e:
        raise console.fail(e) from None
    changed = 0
    for r in result.results:
        old = before.get((r.team, r.benchmark))
        if old is None or old.scores != r.scores or old.item_ids != r.item_ids:
            n_diff = sum(a != b for a, b in zip(old.scores, r.scores, strict=False)) if old and old.scores else len(r.scores)
            old_mean = f"{100 * sum(old.scores) / len(old.scores):.1f}" if old and old.scores else "—"
            console.out.print(f"changed: {r.team}/{r.benchmark}: {n_diff} item scores differ; mean {old_mean} -> "
                          f"{100 * sum(r.scores) / len(r.scores):.1f}", highlight=False)
            changed += 1
    console.out.print(f"{len(result.results)} results rescored from the ledger, {changed} changed", highlight=False)
    _show(result, replicates, seed)
    if dry_run or not changed:
        raise typer.Exit(0)
    try:
        _import_results(store, loaded.program, psha, stage_id, result, who, reason, "rescore")
    except (ValueError, LookupError, StoreError) as e:
        raise console.fail(e) from None
    raise typer.Exit(_sheet(store, loaded.program, psha, stage_id, replicates, seed, who, None))


@app.command("list")
def list_() -> None:
    """The benchmark declarations sovereval can run (the catalogue)."""
    from rich.table import Table

    from sovereval.bench.catalog import build

    benchmarks = build().benchmarks
    t = Table(title=f"{len(benchmarks)} benchmark declarations")
    for c in ("id", "name", "lang", "category", "mode", "scorer", "sub-block", "version"):
        t.add_column(c, overflow="fold")
    for d in benchmarks.values():
        t.add_row(d.id, d.name, d.language, d.category, d.mode, d.scorer.name, d.subblock or "", d.version[:12])
    console.out.print(t)
