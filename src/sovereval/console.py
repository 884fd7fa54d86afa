"""What the command lines share: the consoles they print to, who is acting, the error exit, the store
they open and the sheet exports.

``sovereval.cli`` (the root command line) and ``sovereval.bench.cli`` (``sovereval bench``, which the root
mounts) both use these; neither imports the other for them.  Only front ends import this module (the
``protected`` import-linter contract in pyproject.toml).
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from sovereval.report import sheet as report

if TYPE_CHECKING:
    from sovereval.scoring.result import Sheet
    from sovereval.store import Store

# piped output (CI logs, files) gets a width that fits the sheet instead of rich's default 80 columns
out = Console(width=None if sys.stdout.isatty() else 170)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 170)


def actor(name: str | None) -> str:
    """Who is acting (recorded in the audit trail): ``name``, else $SOVEREVAL_ACTOR, else the login name."""
    if name:
        return name
    try:
        return os.environ.get("SOVEREVAL_ACTOR") or getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database in some containers
        return "unknown"


def fail(e: Exception, code: int = 2) -> typer.Exit:
    """Print ``error: <e>`` on stderr; return the exit to raise (``raise fail(e) from None``)."""
    err.print(f"[bold red]error:[/] {e}", highlight=False, markup=True)
    return typer.Exit(code)


def open_store(db: str | None) -> Store:
    from sovereval.store import Store

    return Store(db)


def write_export(sheet: Sheet, path: Path, kind: str) -> None:
    """The sheet as ``md``, ``csv``, ``json`` or ``png`` (written whole: a temporary file, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "png":
        from sovereval.report.figures import sheet_figure

        sheet_figure(sheet, path)
        return
    text = {"md": report.markdown, "csv": report.csv_text, "json": lambda s: s.model_dump_json(indent=2)}[kind](sheet)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
