"""Render a scored :class:`~sovereval.scoring.result.Sheet`: console, Markdown, CSV, JSON, explanation.

Markers: ``*`` a cell the official release published (and the sheet reproduces); ``†`` a cell computed
from reconstructed inputs (not published).  Unmarked cells come from recorded inputs.
"""

from __future__ import annotations

import csv
import io

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sovereval.scoring.result import Cell, Sheet, TeamRow

MARK = {"published": "*", "reconstructed": "†", "recorded": ""}
LEGEND = (
    "* = published by the release and reproduced; † = reconstructed (not published: raw inputs invented to fit "
    "the published aggregates); [lo, hi] = {conf:.0%} bootstrap interval over items and raters ({reps:,} replicates, seed {seed})."
)
STATUS = {"selected": "SELECTED", "eliminated": "ELIMINATED", "not_selected": "not selected"}


def fmt(c: Cell, d: int, ci: bool = True, ci_d: int | None = None) -> str:
    s = f"{c.estimate:.{d}f}{MARK[c.provenance]}"
    if ci and c.hi - c.lo > 0:
        k = d if ci_d is None else ci_d
        s += f" [{c.lo:.{k}f}, {c.hi:.{k}f}]"
    return s


def legend(sheet: Sheet) -> str:
    return LEGEND.format(conf=sheet.confidence, reps=sheet.replicates, seed=sheet.seed)


def _status(r: TeamRow) -> str:
    return STATUS[r.status] + (" (provisional: gate pending)" if r.provisional else "")


def _gate_text(r: TeamRow, with_id: bool = True) -> str:
    out = []
    for gid, d in r.gates.items():
        status = d.status if d else "pending"
        out.append(f"{gid}: {status}" if with_id else (status.upper() if status == "fail" else status))
    return "; ".join(out) or "-"


def console_tables(sheet: Sheet) -> list[Table]:
    """Blocks and totals with intervals and outcome; then sub-blocks.  Headers use ids to stay narrow."""
    d = sheet.decimals
    main = Table(title=f"{sheet.program_name} — {sheet.stage_name}", header_style="bold")
    main.add_column("#", justify="right")
    main.add_column("Team", no_wrap=True)
    top = [c for c in sheet.columns if c.level != "subblock"]
    for c in top:
        main.add_column(f"{c.id}\n/{c.points:g}", justify="right", style="bold" if c.level == "total" else None,
                        no_wrap=True)
    gates = ", ".join(sheet.rows[0].gates) if sheet.rows and sheet.rows[0].gates else "gates"
    for h in ("P(rank)", "P(sel.)", f"gate:\n{gates}", "Outcome"):
        main.add_column(h, justify="right" if h.startswith("P") else "left", no_wrap=h == "Outcome")
    for r in sheet.rows:
        main.add_row(
            str(r.rank), r.name, *[fmt(r.cells[c.id], d) for c in top],
            f"{r.rank_probs[r.rank - 1]:.0%}", f"{r.p_selected:.0%}", _gate_text(r, with_id=False), _status(r),
            style="green" if r.status == "selected" else ("red" if r.status == "eliminated" else None),
        )
    main.add_row("", "mean of teams", *[fmt(sheet.means[c.id], d + 1, ci_d=d) for c in top], "", "", "", "",
                 style="italic")
    subs = Table(title="Sub-blocks", header_style="bold", caption=escape(legend(sheet)), caption_justify="left")
    subs.add_column("#", justify="right")
    subs.add_column("Team")
    cols = [c for c in sheet.columns if c.level == "subblock"]
    for c in cols:
        subs.add_column(f"{c.id}\n/{c.points:g}", justify="right", no_wrap=True)
    for r in sheet.rows:
        subs.add_row(str(r.rank), r.name, *[fmt(r.cells[c.id], d) for c in cols])
    return [main, subs]


def selection_lines(sheet: Sheet) -> list[str]:
    lines = [f"Selected ({len(sheet.selected)}): " + ", ".join(sheet.row(t).name for t in sheet.selected)]
    for r in sheet.rows:
        lines.append(f"  {r.rank}. {r.name}: {_status(r)} — {r.reason}; P(selected) = {r.p_selected:.1%}")
    if sheet.vacated:
        lines.append(f"Vacated slots: {sheet.vacated}")
    rc = sheet.recompetition
    if rc:
        lines.append(f"Re-competition: {rc.slots_offered} slot(s) offered via {rc.call}")
        for t, desc in rc.candidates.items():
            lines.append(f"  candidate {t}: {desc}")
        lines.append("  filled by: " + (", ".join(rc.filled_by) or "nobody (no candidate approved)"))
    for w in sheet.warnings:
        lines.append(f"WARNING: {w}")
    return lines


def sensitivity_lines(sheet: Sheet) -> list[str]:
    s = sheet.sensitivity
    if s is None:
        return ["(sensitivity not computed)"]
    lines = []
    if s.flips:
        lines.append("Rule changes that would change the selection (nearest first):")
        for f in s.flips:
            lines.append(f"  - {f.change} => selected {', '.join(f.selected_after) or 'nobody'}")
    else:
        lines.append("No single change of a block's or sub-block's weight, and no normaliser swap, changes the selection.")
    lines.append(f"Checked and stable: {len(s.stable)} what-ifs" + (":" if s.stable else ""))
    lines += [f"  - {x}" for x in s.stable]
    return lines


def explain(sheet: Sheet, team: str) -> list[str]:
    """Every number of one team's points, line by line, from raw results to selection."""
    r = sheet.row(team)
    d = sheet.decimals
    lines = [f"{r.name} ({r.team}) — {sheet.program_name}, {sheet.stage_name}", ""]
    blocks = [c for c in sheet.columns if c.level == "block"]
    for b in blocks:
        lines.append(f"{b.name} (max {b.points:g}): {fmt(r.cells[b.id], d)}")
        for tr in (t for t in r.traces if t.block == b.id):
            sb = next(c for c in sheet.columns if c.id == tr.subblock)
            lines.append(f"  {sb.name} (max {sb.points:g}): {fmt(r.cells[sb.id], d)}")
            lines.append(f"    rule: {tr.normaliser}")
            for it in tr.items:
                pct = "missing" if it.percent is None else f"{it.percent:.2f}%"
                extra = ""
                if it.target is not None and it.ratio is not None:
                    extra = f" vs target {it.target:.2f}% -> ratio {it.ratio:.3f}" + (" (capped at 1)" if it.ratio > 1 else "")
                lines.append(f"    - {it.item}{' ' + repr(it.name) if it.name else ''}: {pct}{extra}; weight {it.weight:g}; "
                             f"{it.basis}{' †' if it.provenance == 'reconstructed' else ''}")
            unit = "mean ratio" if tr.raw_unit == "ratio" else "weighted mean"
            val = f"{tr.raw:.4f}" if tr.raw_unit == "ratio" else f"{tr.raw:.3f}%"
            lines.append(f"    {unit} = {val} -> {tr.points:.{d + 2}f} points")
    lines.append(f"Total (max {sheet.total_points:g}): {fmt(r.cells['total'], d)} = " +
                 " + ".join(f"{r.cells[b.id].estimate:.{d + 2}f}" for b in blocks))
    lines.append("")
    for gid, g in r.gates.items():
        if g is None:
            lines.append(f"Gate {gid}: pending (no decision recorded)")
        else:
            lines.append(f"Gate {gid}: {g.status.upper()} — {g.reason or 'no reason given'}"
                         + (f" (evidence: {g.evidence})" if g.evidence else "")
                         + (f" [{g.decided_by}, {g.date}]" if g.decided_by or g.date else ""))
    probs = ", ".join(f"P(rank {k + 1}) = {p:.1%}" for k, p in enumerate(r.rank_probs) if p > 0)
    lines.append(f"Rank {r.rank} of {len(sheet.rows)} ({probs}); outcome: {_status(r)} — {r.reason}; "
                 f"P(selected) = {r.p_selected:.1%}")
    if any(c.provenance == "reconstructed" for c in r.cells.values()):
        lines.append("† Some inputs for this team are reconstructed, not published: see the inputs file's note.")
    return lines


def markdown(sheet: Sheet) -> str:
    d = sheet.decimals
    cols = sheet.columns
    out = [f"# {sheet.program_name} — {sheet.stage_name}", ""]
    out.append("| # | Team | " + " | ".join(f"{c.name} (/{c.points:g})" for c in cols) + " | P(selected) | Gate | Outcome |")
    out.append("|---|---|" + "---:|" * len(cols) + "---:|---|---|")
    for r in sheet.rows:
        out.append(f"| {r.rank} | {r.name} | " + " | ".join(fmt(r.cells[c.id], d) for c in cols)
                   + f" | {r.p_selected:.0%} | {_gate_text(r)} | {_status(r)} |")
    out.append("|  | *Mean of teams* | " + " | ".join(fmt(sheet.means[c.id], d + 1) for c in cols) + " |  |  |  |")
    out += ["", legend(sheet), "", "## Selection", ""] + [f"- {x}" for x in selection_lines(sheet)]
    out += ["", "## Rank probabilities", "", "| Team | " + " | ".join(f"rank {k + 1}" for k in range(len(sheet.rows))) + " |",
            "|---|" + "---:|" * len(sheet.rows)]
    for r in sheet.rows:
        out.append(f"| {r.name} | " + " | ".join(f"{p:.1%}" for p in r.rank_probs) + " |")
    out += ["", "## Sensitivity", ""] + [f"- {x.strip()}" for x in sensitivity_lines(sheet)]
    if sheet.reproduction:
        out += ["", "## Reproduction of the published numbers", ""] + [f"- `{x}`" for x in sheet.reproduction]
    out += ["", "## How the numbers were computed", ""] + [f"- {m}" for m in sheet.methods]
    out += ["", "## Reproducibility", "",
            f"- program `{sheet.program_id}` version {sheet.program_version}, sha256 `{sheet.program_sha256}`",
            f"- inputs sha256 `{sheet.inputs_sha256}`",
            (f"- engine sovereval {sheet.engine_version}; {sheet.replicates} replicates; seed {sheet.seed}; "
            f"lot order for exact ties: {', '.join(sheet.lot_order)}")]
    for r in sheet.rows:
        out += ["", f"## {r.name}: line by line", "", "```"] + explain(sheet, r.team) + ["```"]
    return "\n".join(out) + "\n"


def csv_text(sheet: Sheet) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["team", "name", "column", "level", "max_points", "estimate", "ci_lo", "ci_hi", "provenance",
                "published", "rank", "p_selected", "outcome"])
    for r in sheet.rows:
        for c in sheet.columns:
            cell = r.cells[c.id]
            w.writerow([r.team, r.name, c.id, c.level, c.points, f"{cell.estimate:.6f}", f"{cell.lo:.6f}", f"{cell.hi:.6f}",
                        cell.provenance, "" if cell.published is None else cell.published, r.rank, f"{r.p_selected:.6f}", r.status])
    for c in sheet.columns:
        cell = sheet.means[c.id]
        w.writerow(["_mean", "Mean of teams", c.id, c.level, c.points, f"{cell.estimate:.6f}", f"{cell.lo:.6f}",
                    f"{cell.hi:.6f}", cell.provenance, "" if cell.published is None else cell.published, "", "", ""])
    return buf.getvalue()


def print_sheet(sheet: Sheet, console: Console | None = None, blocks_only: bool = False) -> None:
    console = console or Console()
    tables = console_tables(sheet)
    for t in tables[:1] if blocks_only else tables:
        console.print(t)
    if blocks_only:
        console.print(escape(legend(sheet)))
    for line in selection_lines(sheet):
        console.print(line, markup=False)
