"""The scored sheet: typed, frozen, JSON-serialisable.  Reports render it; nothing recomputes it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sovereval.program.records import GateDecision, Provenance
from sovereval.program.spec import Frozen


class Cell(Frozen):
    estimate: float
    lo: float
    hi: float
    provenance: Provenance
    published: float | None = None


class ItemTrace(Frozen):
    item: str
    name: str = ""
    weight: float
    percent: float | None  # None: the team has no result (counted as missing)
    target: float | None = None
    ratio: float | None = None
    basis: str = ""  # e.g. "500 items", "10 raters, trimmed mean"
    provenance: Provenance = "recorded"


class SubblockTrace(Frozen):
    subblock: str
    block: str
    normaliser: str
    raw: float
    raw_unit: Literal["percent", "ratio"]
    points: float
    items: tuple[ItemTrace, ...]


class Column(Frozen):
    id: str
    name: str
    points: float
    level: Literal["subblock", "block", "total"]
    parent: str | None = None


class TeamRow(Frozen):
    team: str
    name: str
    cells: dict[str, Cell]
    rank: int
    rank_probs: tuple[float, ...]
    p_selected: float
    gates: dict[str, GateDecision | None]
    status: Literal["selected", "eliminated", "not_selected"]
    provisional: bool = False
    reason: str
    traces: tuple[SubblockTrace, ...]


class Flip(Frozen):
    """A change of the rules that would change the selection (point estimate)."""

    kind: Literal["weight", "normaliser"]
    target: str
    change: str
    magnitude: float  # |relative change| for weights; 0 for normaliser swaps
    selected_after: tuple[str, ...]


class Sensitivity(Frozen):
    flips: tuple[Flip, ...]
    stable: tuple[str, ...]  # what was tried and changed nothing


class RecompetitionResult(Frozen):
    slots_offered: int
    call: str
    candidates: dict[str, str]  # team -> "approved 8/10" etc.
    filled_by: tuple[str, ...]


class Sheet(Frozen):
    program_id: str
    program_name: str
    program_version: str
    program_sha256: str
    stage_id: str
    stage_name: str
    total_points: float
    decimals: int
    columns: tuple[Column, ...]
    rows: tuple[TeamRow, ...]
    means: dict[str, Cell]
    selected: tuple[str, ...]
    vacated: int
    recompetition: RecompetitionResult | None = None
    replicates: int
    seed: int
    confidence: float
    inputs_sha256: str
    engine_version: str
    methods: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    lot_order: tuple[str, ...] = ()
    sensitivity: Sensitivity | None = None
    reproduction: tuple[str, ...] = Field(default=(), description="published numbers checked against the sheet")

    def row(self, team: str) -> TeamRow:
        for r in self.rows:
            if r.team == team:
                return r
        raise KeyError(team)
