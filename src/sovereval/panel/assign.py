"""Who scores which team: the admin assigns experts; a declared conflict of interest recuses for good.

An assignment is effective when its latest row is active and the expert has declared no conflict with
that team.  Conflicts are declared by the expert (self-recusal) or recorded by the admin; they cannot
be withdrawn.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from sovereval.errors import SovereValError
from sovereval.program.scope import Scope
from sovereval.store.web_schema import PanelAssignment, PanelConflict
from sovereval.store.webdb import WebDB, now


class PanelError(SovereValError):
    """A refused panel operation, with a message fit to show the person."""


@dataclass(frozen=True)
class Assignment:
    expert_id: int
    team: str
    recused: bool
    conflict: str  # the declared reason when recused


class Assignments:
    def __init__(self, db: WebDB, scope: Scope) -> None:
        self.db = db
        self.scope = scope
        self.panel = scope.expert_panel

    def _where(self, table: type[PanelAssignment | PanelConflict]):
        return (
            (table.program_id == self.scope.program_id)
            & (table.stage_id == self.scope.stage_id)
            & (table.panel == self.panel)
        )

    def assign(self, actor: str, expert_id: int, team: str, active: bool = True) -> None:
        if team not in self.scope.teams:
            raise PanelError(f"team {team!r} is not in stage {self.scope.stage_id!r}")
        at = now()
        with self.db.write() as conn:
            conn.execute(insert(PanelAssignment).values(
                program_id=self.scope.program_id, stage_id=self.scope.stage_id, panel=self.panel,
                account_id=expert_id, team=team, active=active, created_at=at, created_by=actor,
            ))  # fmt: skip
            WebDB.audit(conn, actor, "assign" if active else "unassign", "panel_assignment",
                        f"{self.panel}/{expert_id}/{team}", {"expert": expert_id, "team": team, "active": active},
                        at)  # fmt: skip

    def declare_conflict(self, actor: str, expert_id: int, team: str, reason: str) -> None:
        if team not in self.scope.teams:
            raise PanelError(f"team {team!r} is not in stage {self.scope.stage_id!r}")
        if not reason.strip():
            raise PanelError("a conflict of interest needs a reason (e.g. 'same institution')")
        at = now()
        with self.db.write() as conn:
            conn.execute(insert(PanelConflict).values(
                program_id=self.scope.program_id, stage_id=self.scope.stage_id, panel=self.panel,
                account_id=expert_id, team=team, reason=reason.strip(), created_at=at, created_by=actor,
            ))  # fmt: skip
            WebDB.audit(conn, actor, "declare_conflict", "panel_conflict", f"{self.panel}/{expert_id}/{team}",
                        {"expert": expert_id, "team": team, "reason": reason.strip()}, at)  # fmt: skip

    def list(self, conn: Connection | None = None, expert_id: int | None = None) -> list[Assignment]:
        """Every (expert, team) whose latest assignment row is active, with its recusal state."""
        if conn is None:
            with self.db.read() as c:
                return self.list(c, expert_id)
        stmt = select(PanelAssignment).where(self._where(PanelAssignment)).order_by(PanelAssignment.id)
        if expert_id is not None:
            stmt = stmt.where(PanelAssignment.account_id == expert_id)
        latest: dict[tuple[int, str], bool] = {}
        for r in conn.execute(stmt):
            latest[(r.account_id, r.team)] = r.active
        conflicts = self.conflicts(conn)
        return [
            Assignment(e, t, (e, t) in conflicts, conflicts.get((e, t), ""))
            for (e, t), active in sorted(latest.items())
            if active
        ]

    def conflicts(self, conn: Connection) -> dict[tuple[int, str], str]:
        stmt = select(PanelConflict).where(self._where(PanelConflict)).order_by(PanelConflict.id)
        out: dict[tuple[int, str], str] = {}
        for r in conn.execute(stmt):
            out.setdefault((r.account_id, r.team), r.reason)
        return out

    def effective(self, conn: Connection, expert_id: int, team: str) -> bool:
        return any(a.team == team and not a.recused for a in self.list(conn, expert_id))
