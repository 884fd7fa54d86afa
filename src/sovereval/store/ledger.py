"""The durable request ledger: every completed model request and its response, keyed by request key.

It is the cache and the resume mechanism: the runner asks which keys are already here and sends only
the rest; completed work is written in small group commits, so a killed run loses at most the requests
that were in flight.  Rows are never updated (database triggers); a run's start and end are audit
events, and the end event carries a digest of every entry the run wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sovereval.store.canonical import canonical_json, sha256_text
from sovereval.store.chain import _append_event
from sovereval.store.database import _need_actor
from sovereval.store.schema import EvalRun, EvalRunEnd, LedgerEntry, LedgerFailure
from sovereval.store.store import Store

CHUNK = 500


@dataclass(frozen=True)
class Entry:
    key: str
    run_id: int | None
    model_key: str
    endpoint: str
    epoch: int
    kind: str
    request: dict[str, Any]
    response: dict[str, Any]
    attempts: int
    latency_s: float | None


@dataclass(frozen=True)
class Failure:
    key: str
    run_id: int | None
    error_kind: str
    status: int | None
    message: str
    attempts: int


@dataclass(frozen=True)
class RunInfo:
    id: int
    benchmark_id: str
    decl_version: str
    model_key: str
    model_name: str
    endpoint: str
    epoch: int
    n_items: int
    manifest: dict[str, Any]
    created_at: datetime
    created_by: str
    ended: bool
    completed: int | None
    cached: int | None
    failed: int | None


def _chunks(xs: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(xs), CHUNK):
        yield xs[i : i + CHUNK]


class Ledger:
    def __init__(self, store: Store) -> None:
        self.store = store

    def start_run(self, *, benchmark_id: str, decl_version: str, model_key: str, model_name: str, endpoint: str,
                  epoch: int, n_items: int, manifest: dict[str, Any], actor: str) -> int:
        _need_actor(actor)
        now = datetime.now(UTC)
        manifest = {**manifest}
        with self.store._write() as conn:
            run_id = conn.execute(insert(EvalRun).values(
                benchmark_id=benchmark_id, decl_version=decl_version, model_key=model_key, model_name=model_name,
                endpoint=endpoint, epoch=epoch, n_items=n_items, manifest=manifest, created_at=now, created_by=actor,
            )).inserted_primary_key[0]  # type: ignore[index]
            _append_event(conn, actor, "start_eval_run", "eval_run", str(run_id), {
                "benchmark_id": benchmark_id, "decl_version": decl_version, "model_key": model_key,
                "endpoint": endpoint, "epoch": epoch, "n_items": n_items,
                "manifest_sha256": sha256_text(canonical_json(manifest))}, now)
        return int(run_id)

    def end_run(self, run_id: int, *, completed: int, cached: int, failed: int, duration_s: float, actor: str) -> str:
        """Record how the run ended; returns the digest of the entries it wrote."""
        now = datetime.now(UTC)
        with self.store._write() as conn:
            rows = conn.execute(select(LedgerEntry.key, LedgerEntry.response_sha256)
                                .where(LedgerEntry.run_id == run_id).order_by(LedgerEntry.key)).all()
            digest = sha256_text("".join(f"{k}:{h}\n" for k, h in rows))
            conn.execute(insert(EvalRunEnd).values(run_id=run_id, completed=completed, cached=cached, failed=failed,
                                                   duration_s=duration_s, entries_sha256=digest, created_at=now))
            _append_event(conn, actor, "end_eval_run", "eval_run", str(run_id), {
                "completed": completed, "cached": cached, "failed": failed, "entries": len(rows),
                "entries_sha256": digest}, now)
        return digest

    def completed_keys(self, keys: Iterable[str]) -> set[str]:
        keys = list(keys)
        found: set[str] = set()
        with self.store._read() as conn:
            for part in _chunks(keys):
                found.update(conn.scalars(select(LedgerEntry.key).where(LedgerEntry.key.in_(part))))
        return found

    def write(self, entries: Sequence[Entry], failures: Sequence[Failure] = ()) -> None:
        """One transaction; an entry whose key is already present is skipped (another run got there first)."""
        if not entries and not failures:
            return
        now = datetime.now(UTC)
        ins = pg_insert if self.store.dialect == "postgresql" else sqlite_insert
        with self.store._write() as conn:
            if entries:
                rows = [{
                    "key": e.key, "run_id": e.run_id, "model_key": e.model_key, "endpoint": e.endpoint,
                    "epoch": e.epoch, "kind": e.kind, "request": e.request, "response": e.response,
                    "response_sha256": sha256_text(canonical_json(e.response)), "attempts": e.attempts,
                    "latency_s": e.latency_s, "created_at": now,
                } for e in entries]
                conn.execute(ins(LedgerEntry).on_conflict_do_nothing(index_elements=["key"]), rows)
            if failures:
                conn.execute(insert(LedgerFailure), [{
                    "key": f.key, "run_id": f.run_id, "error_kind": f.error_kind, "status": f.status,
                    "message": f.message[:4000], "attempts": f.attempts, "created_at": now} for f in failures])

    def responses(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(keys)
        out: dict[str, dict[str, Any]] = {}
        with self.store._read() as conn:
            for part in _chunks(keys):
                for k, r in conn.execute(select(LedgerEntry.key, LedgerEntry.response).where(LedgerEntry.key.in_(part))):
                    out[k] = r
        return out

    def failures(self, run_id: int) -> list[Failure]:
        with self.store._read() as conn:
            rows = conn.execute(select(LedgerFailure).where(LedgerFailure.run_id == run_id)
                                .order_by(LedgerFailure.id)).mappings().all()
        return [Failure(r["key"], r["run_id"], r["error_kind"], r["status"], r["message"], r["attempts"]) for r in rows]

    def count(self, model_key: str | None = None) -> int:
        from sqlalchemy import func

        stmt = select(func.count()).select_from(LedgerEntry)
        if model_key is not None:
            stmt = stmt.where(LedgerEntry.model_key == model_key)
        with self.store._read() as conn:
            return int(conn.scalar(stmt) or 0)

    def runs(self, benchmark_id: str | None = None) -> list[RunInfo]:
        stmt = (select(*EvalRun.__table__.c, EvalRunEnd.completed, EvalRunEnd.cached, EvalRunEnd.failed)
                .join(EvalRunEnd, EvalRunEnd.run_id == EvalRun.id, isouter=True).order_by(EvalRun.id))
        if benchmark_id is not None:
            stmt = stmt.where(EvalRun.benchmark_id == benchmark_id)
        out = []
        with self.store._read() as conn:
            for r in conn.execute(stmt).mappings():
                out.append(RunInfo(
                    id=r["id"], benchmark_id=r["benchmark_id"], decl_version=r["decl_version"], model_key=r["model_key"],
                    model_name=r["model_name"], endpoint=r["endpoint"], epoch=r["epoch"], n_items=r["n_items"],
                    manifest=r["manifest"], created_at=r["created_at"], created_by=r["created_by"],
                    ended=r["completed"] is not None, completed=r["completed"], cached=r["cached"], failed=r["failed"]))
        return out
