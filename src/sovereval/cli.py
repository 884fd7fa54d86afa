"""Command line: ``sovereval --help``.

Data flows one way: a programme (TOML) and raw inputs are imported into the store (append-only);
``score`` reads the store's current inputs, computes the sheet and records the run; reports render it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from sovereval import __version__
from sovereval.console import actor as _actor
from sovereval.console import err, out, write_export
from sovereval.console import fail as _fail
from sovereval.console import open_store as _store
from sovereval.program.load import SpecError, load_inputs, load_program, program_from_text, sha256_file
from sovereval.report import sheet as report
from sovereval.scoring.engine import DEFAULT_REPLICATES, DEFAULT_SEED, validate_inputs
from sovereval.scoring.engine import score as score_sheet
from sovereval.scoring.result import Sheet

app = typer.Typer(help="sovereval: evaluate a sovereign-AI foundation-model programme end to end.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
program_app = typer.Typer(help="Validate and show programme definitions.", no_args_is_help=True)
db_app = typer.Typer(help="The store: migrations, audit trail.", no_args_is_help=True)
gate_app = typer.Typer(help="Record gate decisions (e.g. the independence gate).", no_args_is_help=True)
app.add_typer(program_app, name="program")
app.add_typer(db_app, name="db")
app.add_typer(gate_app, name="gate")


def _mount_optional() -> None:
    """Sub-apps: benchmarks, and those whose heavy dependencies live in extras (audit, web)."""
    from sovereval.bench.cli import app as bench_app

    app.add_typer(bench_app, name="bench", help="Run a stage's benchmarks on real models, rescore from the ledger.")
    try:
        from sovereval.audit.cli import app as audit_app

        app.add_typer(audit_app, name="audit", help="Independence audit: weight and tokenizer provenance.")
    except ImportError:  # pragma: no cover - the audit extra is not installed
        pass
    try:
        from sovereval.web.cli import app as web_app

        app.add_typer(web_app, name="web", help="Expert panel, user evaluation and arena web application.")
    except ImportError:  # pragma: no cover - the web extra is not installed
        pass


_mount_optional()

ProgramOpt = Annotated[Path, typer.Option("--program", "-p", help="Programme TOML file.")]
DbOpt = Annotated[str | None, typer.Option("--db", help="Store URL (default: $SOVEREVAL_DB or sqlite .sovereval/sovereval.db).")]
StageOpt = Annotated[str | None, typer.Option("--stage", help="Stage id (default: the first stage).")]
InputsOpt = Annotated[Path | None, typer.Option("--inputs", "-i", help="Import this inputs file first (idempotent).")]
RepsOpt = Annotated[int, typer.Option("--replicates", "-r", min=0, help="Bootstrap replicates (0: point estimates only).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for the bootstrap and the lot order.")]
ActorOpt = Annotated[str | None, typer.Option("--actor", help="Who is acting (recorded in the audit trail).")]


@program_app.command("validate")
def program_validate(path: Path) -> None:
    """Check a programme TOML; exit 2 with file:line [field] and the reason if it is wrong."""
    try:
        loaded = load_program(path)
    except SpecError as e:
        raise _fail(e) from None
    p = loaded.program
    out.print(f"[green]ok[/] {path}: programme {p.id!r} version {p.version}, {len(p.stages)} stage(s), "
              f"{len(p.teams)} team(s); sha256 {loaded.sha256}")


@program_app.command("show")
def program_show(path: Path, stage: StageOpt = None) -> None:
    """Show a programme's stages, blocks, normalisers, gates, selection rule and teams."""
    from rich.tree import Tree

    from sovereval.scoring.normalise import describe

    try:
        p = load_program(path).program
    except SpecError as e:
        raise _fail(e) from None
    tree = Tree(f"[bold]{p.name}[/] ({p.id}, version {p.version})")
    for st in p.stages if stage is None else [p.stage(stage)]:
        s = tree.add(f"[bold]{st.name or st.id}[/] — {st.total_points:g} points, teams: {', '.join(st.teams)}")
        for b in st.blocks:
            bt = s.add(f"{b.name or b.id}: {b.points:g}")
            for sb in b.subblocks:
                sbt = bt.add(f"{sb.name or sb.id}: {sb.points:g} — {describe(sb.normaliser, sb.points)}")
                if sb.team_chosen:
                    sbt.add(f"each team's {sb.choose or ''} declared benchmarks")
                for it in sb.items:
                    sbt.add(f"{it.id} {it.name} (weight {it.effective_weight:g}{f', scale {it.min or 0:g}-{it.max:g}' if it.max else ''})")
        for g in st.gates:
            s.add(f"gate {g.id}: {g.name} — {g.description} (pending counts as {g.pending})")
        sel = st.selection
        rc = f"; {sel.recompetition.slots} re-competition slot(s): {sel.recompetition.call}" if sel.recompetition else ""
        s.add(f"selection: {sel.slots} slots, gate failure -> {sel.gate_failure}, tie-break {list(sel.tie_break)} then lot"
              f"{f', minimum total {sel.min_total:g}' if sel.min_total is not None else ''}{rc}")
    teams = tree.add("teams")
    for t in p.teams:
        tt = teams.add(f"{t.name} ({t.id})" + (f" — target {t.target.name}" if t.target else ""))
        for m in t.models:
            tt.add(f"model {m.name}" + (f" sha256 {m.weights_sha256}" if m.weights_sha256 else ""))
    out.print(tree)


def _import(store, program_path: Path, inputs_path: Path | None, actor: str, reason: str | None) -> tuple:
    """Validate the programme and the inputs completely, then write: a bad file writes nothing."""
    loaded = load_program(program_path)
    inputs = None
    if inputs_path is not None:
        inputs = load_inputs(inputs_path)
        if inputs.program != loaded.program.id:
            raise SpecError(str(inputs_path), f"inputs are for programme {inputs.program!r}, not {loaded.program.id!r}",
                            field="program")
        validate_inputs(loaded.program, inputs, complete=False)
    psha = store.add_program(loaded.text, source_name=str(program_path), actor=actor)
    if inputs is None or inputs_path is None:
        return loaded, psha, None
    batch = store.import_inputs(inputs, program_sha256=psha, source_name=str(inputs_path),
                                source_sha256=sha256_file(inputs_path), actor=actor, reason=reason)
    return loaded, psha, batch


@app.command("import")
def import_(
    inputs: Path,
    program: ProgramOpt,
    db: DbOpt = None,
    actor: ActorOpt = None,
    reason: Annotated[str | None, typer.Option(help="Required when the import changes values already stored.")] = None,
) -> None:
    """Import raw results (benchmarks, ratings, gate decisions, approvals) into the store, all or nothing."""
    try:
        store = _store(db)
        _, psha, batch = _import(store, program, inputs, _actor(actor), reason)
    except Exception as e:  # noqa: BLE001 - every failure is reported with its reason and exit code 2
        raise _fail(e) from None
    out.print(f"[green]imported[/] {inputs} as batch {batch} (programme sha256 {psha[:12]}…)")


def _score(program: Path, inputs: Path | None, db: str | None, stage: str | None, replicates: int, seed: int,
           actor: str | None, record: bool = True) -> Sheet:
    store = _store(db)
    who = _actor(actor)
    loaded, psha, _ = _import(store, program, inputs, who, None)
    stage_id = stage or loaded.program.stages[0].id
    current = store.current_inputs(loaded.program.id, stage_id)
    with _progress(f"scoring {stage_id}: {replicates:,} bootstrap replicates"):
        sheet = score_sheet(loaded.program, current, replicates=replicates, seed=seed, program_sha256=psha)
    if record:
        store.record_score_run(program_sha256=psha, stage_id=stage_id, inputs_sha256=sheet.inputs_sha256, seed=seed,
                               replicates=replicates, engine_version=__version__,
                               result=json.loads(sheet.model_dump_json()), actor=who)
    return sheet


class _progress:
    def __init__(self, what: str) -> None:
        self.status = err.status(what)

    def __enter__(self) -> None:
        if sys.stderr.isatty():
            self.status.__enter__()

    def __exit__(self, *exc: object) -> None:
        if sys.stderr.isatty():
            self.status.__exit__(*exc)


def _run(fn):
    try:
        return fn()
    except (SpecError, KeyError, ValueError) as e:
        raise _fail(e) from None
    except Exception as e:
        from sovereval.store import StoreError

        if isinstance(e, StoreError):
            raise _fail(e) from None
        raise


@app.command()
def score(program: ProgramOpt, inputs: InputsOpt = None, db: DbOpt = None, stage: StageOpt = None,
          replicates: RepsOpt = DEFAULT_REPLICATES, seed: SeedOpt = DEFAULT_SEED, actor: ActorOpt = None,
          blocks_only: Annotated[bool, typer.Option("--blocks-only", help="Hide sub-block columns.")] = False) -> None:
    """Score a stage from the store (importing --inputs first) and print the sheet with intervals."""
    sheet = _run(lambda: _score(program, inputs, db, stage, replicates, seed, actor))
    report.print_sheet(sheet, out, blocks_only=blocks_only)


@app.command()
def select(program: ProgramOpt, inputs: InputsOpt = None, db: DbOpt = None, stage: StageOpt = None,
           replicates: RepsOpt = DEFAULT_REPLICATES, seed: SeedOpt = DEFAULT_SEED, actor: ActorOpt = None) -> None:
    """Selection: who advances, why, with the probability of selection and the sensitivity report."""
    sheet = _run(lambda: _score(program, inputs, db, stage, replicates, seed, actor))
    for line in report.selection_lines(sheet) + [""] + report.sensitivity_lines(sheet):
        out.print(line, markup=False, highlight=False)


@app.command()
def explain(team: str, program: ProgramOpt, inputs: InputsOpt = None, db: DbOpt = None, stage: StageOpt = None,
            replicates: RepsOpt = DEFAULT_REPLICATES, seed: SeedOpt = DEFAULT_SEED, actor: ActorOpt = None) -> None:
    """Explain one team's points line by line, from raw results to selection."""
    sheet = _run(lambda: _score(program, inputs, db, stage, replicates, seed, actor))
    try:
        lines = report.explain(sheet, team)
    except KeyError:
        raise _fail(ValueError(f"no team {team!r} in stage {sheet.stage_id} (teams: {[r.team for r in sheet.rows]})")) from None
    for line in lines:
        out.print(line, markup=False, highlight=False)


@app.command()
def export(program: ProgramOpt, out_path: Annotated[Path, typer.Option("--out", "-o", help="Output file.")],
           fmt: Annotated[str, typer.Option("--format", "-f", help="md, csv, json or png (by suffix if omitted).")] = "",
           inputs: InputsOpt = None, db: DbOpt = None, stage: StageOpt = None,
           replicates: RepsOpt = DEFAULT_REPLICATES, seed: SeedOpt = DEFAULT_SEED, actor: ActorOpt = None) -> None:
    """Export the sheet as Markdown, CSV, JSON or a PNG figure."""
    kind = (fmt or out_path.suffix.lstrip(".")).lower()
    if kind not in {"md", "csv", "json", "png"}:
        raise _fail(ValueError(f"unknown format {kind!r}: use md, csv, json or png"))
    sheet = _run(lambda: _score(program, inputs, db, stage, replicates, seed, actor))
    write_export(sheet, out_path, kind)
    out.print(f"wrote {out_path}")


@gate_app.command("set")
def gate_set(
    team: str, program: ProgramOpt,
    status: Annotated[str, typer.Option(help="pass, fail or pending")],
    reason: Annotated[str, typer.Option(help="Why (required for fail).")] = "",
    evidence: Annotated[str, typer.Option(help="Link or reference to the evidence.")] = "",
    gate: Annotated[str, typer.Option(help="Gate id.")] = "independence",
    stage: StageOpt = None, db: DbOpt = None, actor: ActorOpt = None,
) -> None:
    """Record a gate decision (appended; earlier decisions stay in the history)."""
    from sovereval.program.records import GateDecision

    def go() -> None:
        store = _store(db)
        who = _actor(actor)
        loaded, psha, _ = _import(store, program, None, who, None)
        st = loaded.program.stage(stage)
        if gate not in {g.id for g in st.gates}:
            raise ValueError(f"stage {st.id!r} has no gate {gate!r}")
        if team not in st.teams:
            raise ValueError(f"team {team!r} is not in stage {st.id!r}")
        d = GateDecision(gate=gate, team=team, status=status, reason=reason, evidence=evidence, decided_by=who)  # type: ignore[arg-type]
        store.record_gate(d, program_id=loaded.program.id, stage_id=st.id, program_sha256=psha, actor=who,
                          reason=reason or None)
        out.print(f"recorded: {gate} {team} -> {status}")

    _run(go)


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Create or migrate the store's schema to the latest version."""
    _run(lambda: _store(db))
    out.print("store is at the latest schema")


@db_app.command("audit")
def db_audit(db: DbOpt = None, limit: int = 30) -> None:
    """Show the latest audit events and verify the hash chain."""
    store = _run(lambda: _store(db))
    ok, msg = store.verify_audit_chain()
    for e in store.audit_events()[-limit:]:
        out.print(f"{e.at}  {e.actor:<12} {e.action:<18} {e.entity_type}:{e.entity_id}", markup=False, highlight=False)
    out.print(("[green]audit chain intact[/]: " if ok else "[bold red]audit chain BROKEN[/]: ") + msg)
    if not ok:
        raise typer.Exit(1)


def _longctx_showcase(db: str, data_root: Path) -> None:
    """One Korean long-context item of each task type, sized in SmolLM2's own tokens, answered by SmolLM2."""
    import asyncio

    from sovereval.bench.backends import open_backend
    from sovereval.bench.catalog import build
    from sovereval.bench.evaluate import evaluate
    from sovereval.bench.runner import RunConfig
    from sovereval.bench.spec import Limit
    from sovereval.bench.suites import core_ii
    from sovereval.bench.types import Sampling
    from sovereval.store.ledger import Ledger

    decl = core_ii.for_tokenizer(build().benchmarks["ko-longctx-4k"], "gguf:smollm2-135m-instruct",
                                 target_tokens=1536)
    decl = decl.with_(generation=Sampling(max_tokens=48), limit=Limit(n=3, seed=0))

    async def go():
        b = await open_backend("llama:smollm2-135m-instruct", n_ctx=2048)
        try:
            return await evaluate(decl, b, Ledger(_store(db)), data_root=data_root,
                                  config=RunConfig(concurrency=1, progress=False), actor="demo")
        finally:
            await b.aclose()

    o = asyncio.run(go())
    for it, sc in zip(o.items, o.scores, strict=True):
        f = it.fields
        got = "no response" if sc is None else f"score {sc.value:.2f}"
        gold = ", ".join(str(a) for a in f.get("answers") or ()) or str(it.answer or "")
        out.print(f"  {f.get('task', '?'):<16} {f.get('n_tokens', '?'):>5} tokens  gold: {gold:<28.28} {got}",
                  markup=False, highlight=False)
    out.print(f"  ({decl.name}; ledger run {o.run_id}; scored exactly, see README 'Benchmark suites')",
              markup=False, highlight=False)


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Where the demo writes its store and exports.")] = Path("out/demo"),
    replicates: RepsOpt = DEFAULT_REPLICATES,
    seed: SeedOpt = DEFAULT_SEED,
    limit: Annotated[int, typer.Option(min=1, help="Items per benchmark in the measured part (seeded subset).")] = 8,
    data: Annotated[Path | None, typer.Option(help="Benchmark data root (default: $SOVEREVAL_BENCH_DATA or a "
                                                   "../shared/benchmarks found upward).")] = None,
    models: Annotated[bool, typer.Option("--models/--no-models", help="Run the measured part on the embedded "
                                                                      "models (needs `make llama`).")] = True,
) -> None:
    """Two real models measured on real items into points (programs/demo-embedded.toml), then the real
    stage-1 programme scored from recorded (reconstructed) inputs, end to end."""
    import importlib.util

    from sovereval.bench.data import find_data_root

    root = Path(__file__).resolve().parents[2]
    program = root / "programs" / "k-ai-2026-stage1.toml"
    inputs = root / "programs" / "k-ai-2026-stage1.inputs.toml"
    out_dir.mkdir(parents=True, exist_ok=True)
    code = 0
    if models and importlib.util.find_spec("llama_cpp") is None:
        out.print("[yellow]llama-cpp-python is not installed (make llama): skipping the measured part[/]")
        models = False
    if models:
        from sovereval.bench.cli import measure

        measured = out_dir / "measured.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(measured) + suffix).unlink(missing_ok=True)
        mdb = f"sqlite:///{measured.resolve()}"
        data_root = data or find_data_root()
        out.rule("[bold]Part 1[/]: two embedded models measured on real items (programs/demo-embedded.toml)")
        code = measure(root / "programs" / "demo-embedded.toml", data=data_root, limit=limit, db=mdb,
                       replicates=min(replicates, 2000), seed=seed, out_dir=out_dir / "measured", actor="demo")
        if data_root is not None:
            out.rule("Korean long context: SmolLM2 on generated documents (RULER-style tasks)")
            _longctx_showcase(mdb, data_root)
        out.print(f"measured store (ledger, results, sheet): {measured}", highlight=False)
    db_path = out_dir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    db = f"sqlite:///{db_path.resolve()}"
    out.rule(("[bold]Part 2[/]: " if models else "") + "stage 1 of the 독자 AI 파운데이션 모델 programme")
    out.print(f"programme: {program.relative_to(root)}\ninputs:    {inputs.relative_to(root)} "
              "(reconstructed to fit the 2026-01-15 release)\nstore:     " + db, highlight=False)
    sheet = _run(lambda: _score(program, inputs, db, None, replicates, seed, "demo"))
    report.print_sheet(sheet, out)
    out.rule("Sensitivity")
    for line in report.sensitivity_lines(sheet)[:8]:
        out.print(line, markup=False, highlight=False)
    out.rule("Reproduction of the release")
    for line in sheet.reproduction:
        out.print(line, markup=False, highlight=False)
    out.rule("LG AI Research, line by line")
    for line in report.explain(sheet, "lg"):
        out.print(line, markup=False, highlight=False)
    for kind in ("md", "csv", "json", "png"):
        write_export(sheet, out_dir / f"stage1-sheet.{kind}", kind)
    out.rule()
    out.print(f"exports: {out_dir}/stage1-sheet.{{md,csv,json,png}}; store with audit trail: {db_path}")
    if sheet.warnings or code:
        raise typer.Exit(1)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


__all__ = ["app", "program_from_text"]
