"""Set the programme's independence gate from a verdict (evidence = verdict file and its sha256)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sovereval.program.records import GateDecision

from .decision import DERIVED_CLASSES, NO_EVIDENCE, Verdict


def gate_decision(v: Verdict, team: str, gate: str, verdict_path: Path, sha256: str) -> GateDecision:
    status = "fail" if v.verdict in DERIVED_CLASSES else "pass" if v.verdict == NO_EVIDENCE else "pending"
    return GateDecision(
        gate=gate, team=team, status=status, reason=f"independence audit vs {v.reference}: {v.summary}"[:2000],
        evidence=f"{verdict_path}#sha256={sha256}", decided_by="sovereval audit", date=date.today().isoformat(),
    )  # fmt: skip


def worst(decisions: list[GateDecision]) -> GateDecision:
    """One gate per team: any fail wins, then pending, then pass."""
    order = {"fail": 0, "pending": 1, "pass": 2}
    return min(decisions, key=lambda d: order[d.status])
