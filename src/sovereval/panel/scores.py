"""Rubric scores with justifications, the panel lock, and the export of scores as store ratings.

Scores are private to their expert until the panel is locked.  Locking writes a lock row first (from
then on submissions are refused, inside the same serialised writer), then imports the current scores
of every effective (assigned, not recused) expert into the store as :class:`Rating` records, where the
scoring engine aggregates them as the programme declares.  Unlocking needs a reason; so does every
re-lock, and that reason is what the store records for ratings that changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from sovereval.panel.assign import Assignments, PanelError
from sovereval.program.records import Inputs, Rating
from sovereval.program.scope import Scope
from sovereval.store import StoreError, canonical_json, sha256_text
from sovereval.store.web_schema import PanelLock, PanelScore
from sovereval.store.webdb import WebDB, now, utc

MAX_JUSTIFICATION = 20_000


@dataclass(frozen=True)
class Score:
    expert_id: int
    team: str
    item: str
    value: float
    justification: str
    at: datetime


@dataclass(frozen=True)
class LockState:
    locked: bool
    reason: str
    batch_id: int | None
    at: datetime | None
    by: str
    ever_locked: bool


@dataclass(frozen=True)
class Saved:
    written: int  # rows written (0: this submission was already recorded)
    duplicate: bool


class PanelBook:
    def __init__(self, db: WebDB, scope: Scope, assignments: Assignments) -> None:
        self.db = db
        self.scope = scope
        self.assignments = assignments
        self.panel = scope.expert_panel
        self.items = {it.id: it for it in scope.items(self.panel)}

    def _scope(self, table: type[PanelScore | PanelLock]):
        return (
            (table.program_id == self.scope.program_id)
            & (table.stage_id == self.scope.stage_id)
            & (table.panel == self.panel)
        )

    # -- lock state --------------------------------------------------------------------------------

    def lock_state(self, conn: Connection | None = None) -> LockState:
        if conn is None:
            with self.db.read() as c:
                return self.lock_state(c)
        rows = conn.execute(select(PanelLock).where(self._scope(PanelLock)).order_by(PanelLock.id)).all()
        if not rows:
            return LockState(False, "", None, None, "", False)
        last = rows[-1]
        batch = next((r.batch_id for r in reversed(rows) if r.batch_id is not None), None)
        return LockState(last.locked, last.reason, batch, utc(last.created_at), last.created_by,
                         any(r.locked for r in rows))  # fmt: skip

    # -- scores ------------------------------------------------------------------------------------

    def submit(
        self, expert_id: int, actor: str, team: str, values: Mapping[str, tuple[float, str]], submission: str,
    ) -> Saved:  # fmt: skip
        """Record one expert's scores of ``team`` (item -> (value, justification)); idempotent per submission."""
        if not submission or len(submission) > 64:
            raise PanelError("the form has no valid submission id; reload the page")
        unknown = set(values) - set(self.items)
        if unknown:
            raise PanelError(f"unknown rubric section(s) {sorted(unknown)}")
        for item_id, (value, justification) in values.items():
            it = self.items[item_id]
            lo = it.min if it.min is not None else 0.0
            if not (lo <= value <= (it.max or 0)):
                raise PanelError(f"{it.name or item_id}: {value:g} is outside [{lo:g}, {it.max:g}]")
            if not justification.strip():
                raise PanelError(f"{it.name or item_id}: a written justification is required")
            if len(justification) > MAX_JUSTIFICATION:
                raise PanelError(f"{it.name or item_id}: the justification is longer than {MAX_JUSTIFICATION}")
        at = now()
        with self.db.write() as conn:
            done = conn.scalar(
                select(PanelScore.id).where(PanelScore.account_id == expert_id, PanelScore.submission == submission)
            )
            if done is not None:
                return Saved(0, True)
            if self.lock_state(conn).locked:
                raise PanelError("the panel is locked; scores can no longer change")
            if not self.assignments.effective(conn, expert_id, team):
                raise PanelError(f"you are not assigned to score {team!r} (or you are recused)")
            conn.execute(insert(PanelScore), [
                {"program_id": self.scope.program_id, "stage_id": self.scope.stage_id, "panel": self.panel,
                     "account_id": expert_id, "team": team, "item": item_id, "value": float(value),
                     "justification": justification.strip(), "submission": submission, "reason": None, "created_at": at}
                for item_id, (value, justification) in sorted(values.items())
            ])  # fmt: skip
            WebDB.audit(conn, actor, "panel_score", "panel_score", f"{self.panel}/{expert_id}/{team}",
                        {"team": team, "submission": submission,
                         "values": {k: v for k, (v, _) in sorted(values.items())},
                         "justifications_sha256": sha256_text(canonical_json(
                             {k: j for k, (_, j) in sorted(values.items())}))}, at)  # fmt: skip
        return Saved(len(values), False)

    def current(self, conn: Connection | None = None, expert_id: int | None = None) -> dict[tuple[int, str, str], Score]:
        """Latest score per (expert, team, item)."""
        if conn is None:
            with self.db.read() as c:
                return self.current(c, expert_id)
        stmt = select(PanelScore).where(self._scope(PanelScore)).order_by(PanelScore.id)
        if expert_id is not None:
            stmt = stmt.where(PanelScore.account_id == expert_id)
        out: dict[tuple[int, str, str], Score] = {}
        for r in conn.execute(stmt):
            out[(r.account_id, r.team, r.item)] = Score(r.account_id, r.team, r.item, r.value, r.justification,
                                                         utc(r.created_at))  # fmt: skip
        return out

    def effective_scores(self, conn: Connection) -> dict[tuple[int, str, str], Score]:
        """Current scores of effective assignments only (recused or unassigned experts are left out)."""
        live = {(a.expert_id, a.team) for a in self.assignments.list(conn) if not a.recused}
        return {k: s for k, s in self.current(conn).items() if (k[0], k[1]) in live}

    # -- lock / unlock -----------------------------------------------------------------------------

    def lock(self, actor: str, reason: str = "") -> int:
        """Lock the panel and export its scores to the store; return the input batch id."""
        at = now()
        with self.db.write() as conn:
            state = self.lock_state(conn)
            if state.locked:
                raise PanelError("the panel is already locked")
            if state.ever_locked and not reason.strip():
                raise PanelError("re-locking a panel that was unlocked needs a reason (recorded with the changes)")
            conn.execute(insert(PanelLock).values(
                program_id=self.scope.program_id, stage_id=self.scope.stage_id, panel=self.panel, locked=True,
                reason=reason.strip() or "lock", batch_id=None, created_at=at, created_by=actor,
            ))  # fmt: skip
            WebDB.audit(conn, actor, "panel_lock", "panel", self.panel, {"reason": reason.strip()}, at)
            scores = self.effective_scores(conn)
        ratings = tuple(
            Rating(panel=self.panel, rater=f"expert-{s.expert_id}", team=s.team, item=s.item, value=s.value,
                   comment=s.justification)
            for s in sorted(scores.values(), key=lambda s: (s.expert_id, s.team, s.item))
        )  # fmt: skip
        try:
            batch = export_ratings(self.db, self.scope, ratings, actor, f"web:panel-lock:{self.panel}",
                                   reason.strip() or None)  # fmt: skip
        except StoreError as e:
            with self.db.write() as conn:
                conn.execute(insert(PanelLock).values(
                    program_id=self.scope.program_id, stage_id=self.scope.stage_id, panel=self.panel,
                    locked=False, reason=f"lock failed: {e}"[:2000], batch_id=None, created_at=now(), created_by=actor,
                ))  # fmt: skip
                WebDB.audit(conn, actor, "panel_lock_failed", "panel", self.panel, {"error": str(e)[:2000]})
            raise PanelError(f"the scores could not be exported, the panel stays unlocked: {e}") from e
        with self.db.write() as conn:
            conn.execute(insert(PanelLock).values(
                program_id=self.scope.program_id, stage_id=self.scope.stage_id, panel=self.panel, locked=True,
                reason="exported to the store", batch_id=batch, created_at=now(), created_by=actor,
            ))  # fmt: skip
            WebDB.audit(conn, actor, "panel_export", "panel", self.panel, {"batch": batch, "ratings": len(ratings)})
        return batch

    def unlock(self, actor: str, reason: str) -> None:
        if not reason.strip():
            raise PanelError("unlocking a locked panel needs a reason")
        at = now()
        with self.db.write() as conn:
            if not self.lock_state(conn).locked:
                raise PanelError("the panel is not locked")
            conn.execute(insert(PanelLock).values(
                program_id=self.scope.program_id, stage_id=self.scope.stage_id, panel=self.panel, locked=False,
                reason=reason.strip(), batch_id=None, created_at=at, created_by=actor,
            ))  # fmt: skip
            WebDB.audit(conn, actor, "panel_unlock", "panel", self.panel, {"reason": reason.strip()}, at)


def export_ratings(db: WebDB, scope: Scope, ratings: tuple[Rating, ...], actor: str, source: str,
                   reason: str | None) -> int:  # fmt: skip
    """Import ratings into the store as one batch (the one way web data reaches the scoring engine)."""
    inputs = Inputs(program=scope.program_id, stage=scope.stage_id, provenance="recorded",
                    note=f"{source}: {len(ratings)} ratings", ratings=ratings)  # fmt: skip
    digest = sha256_text(canonical_json(inputs.model_dump(mode="json")))
    return db.store.import_inputs(inputs, program_sha256=scope.program_sha256, source_name=source,
                                  source_sha256=digest, actor=actor, reason=reason)  # fmt: skip
