"""The hash-chained audit log: hashing and appending events, reading them, and verifying the chain.

Every write appends one event inside the write's transaction (:func:`_append_event`); each event's
hash covers its contents and the previous event's hash.  Verification checks the chain and that every
programme, input batch and score run still matches the digest its event recorded
(:func:`_recompute_digest`).  :class:`AuditLog` holds the store's audit methods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Table, insert, select
from sqlalchemy.engine import RowMapping

from sovereval.store.canonical import canonical_json, content_sha256, sha256_text
from sovereval.store.database import Database, _utc
from sovereval.store.model import AuditEntry
from sovereval.store.rows import _batch_records
from sovereval.store.schema import AuditEvent, Base

GENESIS_HASH = "0" * 64
#: per audited entity: its table, the columns its audit event's detail repeats, and its digest column
_AUDITED: dict[str, tuple[Table, tuple[str, ...], str]] = {
    "program": (Base.metadata.tables["programs"], ("program_id", "version", "sha256", "source_name"), "sha256"),
    "input_batch": (
        Base.metadata.tables["input_batches"],
        ("program_id", "stage_id", "program_sha256", "kind", "provenance", "note", "source_name",
         "source_sha256", "content_sha256", "inputs_sha256", "reason"),
        "content_sha256",
    ),
    "score_run": (
        Base.metadata.tables["score_runs"],
        ("program_id", "stage_id", "program_sha256", "inputs_sha256", "seed", "replicates", "engine_version",
         "result_sha256"),
        "result_sha256",
    ),
}  # fmt: skip


def event_hash(
    id: int, at: datetime, actor: str, action: str, entity_type: str, entity_id: str,
    detail: Mapping[str, Any], prev_hash: str,
) -> str:  # fmt: skip
    body = {
        "id": id,
        "at": _utc(at).isoformat(),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    return sha256_text(canonical_json(body))


def _append_event(
    conn: Connection,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    detail: Mapping[str, Any],
    at: datetime,
) -> None:
    last = conn.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    event_id, prev = (last.id + 1, last.hash) if last else (1, GENESIS_HASH)
    clean = json.loads(canonical_json(detail))  # exactly what reading it back will give
    h = event_hash(event_id, at, actor, action, entity_type, entity_id, clean, prev)
    conn.execute(
        insert(AuditEvent).values(
            id=event_id, at=at, actor=actor, action=action, entity_type=entity_type, entity_id=entity_id,
            detail=clean, prev_hash=prev, hash=h,
        )
    )  # fmt: skip


def _audit_entries(conn: Connection, stmt: Select[Any]) -> list[AuditEntry]:
    return [
        AuditEntry(**{f: r[f] for f in AuditEntry.__dataclass_fields__} | {"at": _utc(r["at"])})
        for r in conn.execute(stmt).mappings()
    ]


def _recompute_digest(conn: Connection, entity_type: str, row: RowMapping) -> str:
    if entity_type == "program":
        return sha256_text(row["toml_text"])
    if entity_type == "input_batch":
        return content_sha256(_batch_records(conn, row["id"]))
    return sha256_text(canonical_json(row["result"]))


def _verify(conn: Connection, events: list[AuditEntry]) -> tuple[bool, str]:
    """The checks of :meth:`Store.verify_audit_chain`, inside one read transaction."""
    prev = GENESIS_HASH
    for expected_id, ev in enumerate(events, start=1):
        if ev.id != expected_id:
            return False, f"audit event {expected_id} is missing (next is {ev.id})"
        if ev.prev_hash != prev:
            return False, f"audit event {ev.id}: prev_hash does not match the hash of event {ev.id - 1}"
        h = event_hash(
            ev.id, ev.at, ev.actor, ev.action, ev.entity_type, ev.entity_id, ev.detail, ev.prev_hash
        )
        if h != ev.hash:
            return False, f"audit event {ev.id} ({ev.action} {ev.entity_id}): contents do not match its hash"
        prev = ev.hash
    by_entity = {(e.entity_type, e.entity_id): e for e in events}
    counts: dict[str, int] = {}
    for entity_type, (table, fields, digest_column) in _AUDITED.items():
        rows = conn.execute(select(table).order_by(table.c.id)).mappings().all()
        counts[entity_type] = len(rows)
        for row in rows:
            entity_id = row["sha256"] if entity_type == "program" else str(row["id"])
            what = f"{entity_type.replace('_', ' ')} {entity_id[:12]}"
            found = by_entity.get((entity_type, entity_id))
            if found is None:
                return False, f"{what}: has no audit event (written behind the store's back?)"
            if (
                found.actor != row["created_by"]
                or found.at != _utc(row["created_at"])
                or any(found.detail.get(f) != row[f] for f in fields)
            ):
                return False, f"{what}: the row differs from what audit event {found.id} recorded"
            if _recompute_digest(conn, entity_type, row) != row[digest_column]:
                return False, f"{what}: the stored content does not match its recorded digest"
    return True, (
        f"{len(events)} audit events: chain intact; {counts['program']} programmes, "
        f"{counts['input_batch']} input batches and {counts['score_run']} score runs match their events"
    )


class AuditLog(Database):
    """The store's audit methods (a mixin of :class:`~sovereval.store.Store`)."""

    def audit_events(self, entity_type: str | None = None, entity_id: str | None = None) -> list[AuditEntry]:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if entity_type is not None:
            stmt = stmt.where(AuditEvent.entity_type == entity_type)
        if entity_id is not None:
            stmt = stmt.where(AuditEvent.entity_id == entity_id)
        with self._read() as conn:
            return _audit_entries(conn, stmt)

    def audit_head(self) -> tuple[int, str] | None:
        """(id, hash) of the latest event: publish it elsewhere to make truncation of the log detectable."""
        with self._read() as conn:
            row = conn.execute(
                select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
            ).first()
        return (row.id, row.hash) if row else None

    def verify_audit_chain(self) -> tuple[bool, str]:
        """Check the hash chain, and that every programme, batch and score run still matches the digest
        its audit event recorded (so altered rows are detected, not only altered events)."""
        with self._read() as conn:  # one snapshot for the events and the rows they describe
            return _verify(conn, _audit_entries(conn, select(AuditEvent).order_by(AuditEvent.id)))
