"""Set the programme's independence gate from verdicts, with the evidence linked.

The evidence of a gate decision names every verdict file (absolute path) with the sha256 of its bytes,
so anyone holding the file can check that the recorded decision rests on exactly that evidence.
:func:`resolve_target` checks the programme, stage, gate and team *before* the audit runs (a typo must
not cost a full scan); :func:`record` writes the decision through :meth:`Store.record_gate` (append-only,
hash-chained audit event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sovereval.program.records import GateDecision

from .decision import DERIVED_CLASSES, NO_EVIDENCE, Verdict
from .errors import AuditError

MAX_TEXT = 2000
_ORDER = {"fail": 0, "pending": 1, "pass": 2}


def gate_status(v: Verdict) -> str:
    """DERIVED classes fail the gate; NO EVIDENCE (with its power statement) passes; INCONCLUSIVE is pending."""
    return "fail" if v.verdict in DERIVED_CLASSES else "pass" if v.verdict == NO_EVIDENCE else "pending"


def evidence_link(verdict_path: Path, sha256: str) -> str:
    return f"{Path(verdict_path).resolve()}#sha256={sha256}"


def gate_decision(v: Verdict, team: str, gate: str, verdict_path: Path, sha256: str,
                  decided_by: str = "sovereval audit") -> GateDecision:  # fmt: skip
    return GateDecision(
        gate=gate, team=team, status=gate_status(v),  # type: ignore[arg-type]
        reason=f"independence audit vs {v.reference}: {v.verdict} — {v.summary}"[:MAX_TEXT],
        evidence=evidence_link(verdict_path, sha256), decided_by=decided_by, date=date.today().isoformat(),
    )  # fmt: skip


def combine(decisions: list[GateDecision]) -> GateDecision:
    """One gate per team from one decision per reference: any fail wins, then pending, then pass.

    The reason starts with the deciding verdict(s); the evidence links every verdict file."""
    if not decisions:
        raise AuditError("no verdict to set the gate from")
    ranked = sorted(decisions, key=lambda d: _ORDER[d.status])
    worst = ranked[0]
    reason = " | ".join(d.reason for d in ranked)
    evidence = "; ".join(d.evidence for d in ranked)
    return worst.model_copy(update={"reason": reason[:MAX_TEXT], "evidence": evidence})


def worst(decisions: list[GateDecision]) -> GateDecision:
    """Kept for callers of the first version: same as :func:`combine`."""
    return combine(decisions)


@dataclass(frozen=True)
class GateTarget:
    """Where a verdict is recorded: a store, a programme version, a stage, a gate and a team."""

    db: str | None
    program_id: str
    program_sha256: str
    program_text: str | None  # set when the programme came from a TOML file (added to the store on record)
    program_source: str
    stage: str
    gate: str
    team: str


def resolve_target(db: str | None, program: str, stage: str | None, team: str, gate: str) -> GateTarget:
    """Check the gate target before any scan: ``program`` is a programme TOML file or the id (or sha256) of
    a programme already in the store; the stage (default: the first), gate and team must exist."""
    from sovereval.program.load import SpecError, load_program, program_from_text, sha256_text
    from sovereval.store.store import Store, StoreError

    text: str | None = None
    try:
        if Path(program).is_file():
            loaded = load_program(program)
            prog, psha, text = loaded.program, loaded.sha256, loaded.text
        else:
            with Store(db) as s:
                stored = s.get_program_text(program)
            prog, psha = program_from_text(stored, program), sha256_text(stored)
        st = prog.stage(stage)
    except (SpecError, StoreError, KeyError, OSError) as e:
        raise AuditError(f"cannot set the gate: {e}") from e
    if gate not in {g.id for g in st.gates}:
        raise AuditError(f"cannot set the gate: stage {st.id!r} of programme {prog.id!r} has no gate {gate!r} "
                         f"(gates: {', '.join(g.id for g in st.gates) or 'none'})")  # fmt: skip
    if team not in st.teams:
        raise AuditError(f"cannot set the gate: team {team!r} is not in stage {st.id!r} "
                         f"(teams: {', '.join(st.teams)})")  # fmt: skip
    return GateTarget(db, prog.id, psha, text, program, st.id, gate, team)


def record(target: GateTarget, decision: GateDecision, actor: str) -> int:
    """Append ``decision`` to the store (adding the programme first when it came from a file); batch id."""
    from sovereval.store.store import Store, StoreError

    change = f"independence audit {decision.date}: {decision.status}; evidence {decision.evidence}"[:MAX_TEXT]
    try:
        with Store(target.db) as s:
            psha = target.program_sha256
            if target.program_text is not None:
                psha = s.add_program(target.program_text, source_name=target.program_source, actor=actor)
            return s.record_gate(decision, target.program_id, target.stage, actor, reason=change,
                                 program_sha256=psha)  # fmt: skip
    except StoreError as e:
        raise AuditError(f"the gate was not recorded: {e}") from e
