"""What the engine and the sensitivity analysis both compute from sub-block points: block totals, gate
eligibility, ranking and selection (and the arrays a sub-block is renormalised from).

:mod:`sovereval.scoring.engine` runs it on every bootstrap replicate; :mod:`sovereval.scoring.sensitivity`
on the point estimate under changed weights or normalisers.  Neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sovereval.program.records import GateDecision, Inputs, Provenance
from sovereval.program.spec import Program, Stage, SubBlock
from sovereval.scoring.select import Ranked, rank_and_select


@dataclass
class SubblockArrays:
    """Everything needed to (re)normalise one sub-block: item % per replicate, weights, targets."""

    sb: SubBlock
    item_ids: list[list[str]]  # per team
    pct: np.ndarray  # (R+1, T, I)
    weights: np.ndarray  # (T, I)
    targets: np.ndarray | None  # (T, I)
    basis: list[list[str]]
    provenance: list[list[Provenance]]
    points: np.ndarray = field(default_factory=lambda: np.empty(0))
    raw: np.ndarray = field(default_factory=lambda: np.empty(0))


def totals_from(stage: Stage, sub_points: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    blocks = {b.id: sum(sub_points[s.id] for s in b.subblocks) for b in stage.blocks}
    return blocks, sum(blocks.values())  # type: ignore[return-value]


def eligibility(program: Program, stage: Stage, inputs: Inputs) -> tuple[np.ndarray, np.ndarray, dict[str, dict[str, GateDecision | None]], dict[str, str]]:
    """(eligible (T,), provisional (T,), gate decisions per team, reason per ineligible team)."""
    teams = list(stage.teams)
    decisions = {(g.gate, g.team): g for g in inputs.gates}
    eligible = np.ones(len(teams), dtype=bool)
    provisional = np.zeros(len(teams), dtype=bool)
    per_team: dict[str, dict[str, GateDecision | None]] = {}
    reasons: dict[str, str] = {}
    for i, tid in enumerate(teams):
        per_team[tid] = {}
        for gate in stage.gates:
            d = decisions.get((gate.id, tid))
            per_team[tid][gate.id] = d
            status = d.status if d else "pending"
            if status == "fail":
                eligible[i] = False
                reasons[tid] = f"failed gate '{gate.name or gate.id}': {d.reason if d else ''}"
            elif status == "pending":
                if gate.pending == "exclude":
                    eligible[i] = False
                    reasons[tid] = f"gate '{gate.name or gate.id}' pending (excluded until decided)"
                else:
                    provisional[i] = True
    sel = stage.selection
    if sel.panel_majority:
        for i, tid in enumerate(teams):
            ok, desc = panel_majority(stage, inputs, sel.panel_majority, tid, "main")
            if not ok:
                eligible[i] = False
                reasons.setdefault(tid, f"no majority approval of panel {sel.panel_majority!r} ({desc})")
    return eligible, provisional, per_team, reasons


def panel_majority(stage: Stage, inputs: Inputs, panel_id: str, team: str, call: str) -> tuple[bool, str]:
    votes = [a for a in inputs.approvals if a.panel == panel_id and a.team == team and a.call == call]
    panel = next(p for p in stage.panels if p.id == panel_id)
    size = panel.size or len(votes)
    yes = sum(a.approve for a in votes)
    return (size > 0 and yes > size / 2), f"approved {yes}/{size}"


def rank_with(stage: Stage, sub_points: dict[str, np.ndarray], blocks: dict[str, np.ndarray], total: np.ndarray,
              eligible: np.ndarray, lot: np.ndarray) -> Ranked:
    keyed = {**sub_points, **blocks}
    tie = [keyed[k] for k in stage.selection.tie_break]
    return rank_and_select(stage.selection, total, tie, eligible, lot)
