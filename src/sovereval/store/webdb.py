"""Database access for the web-backed modules (web, panel, arena): one write transaction with its audit event, read snapshots.

Writes go through the :class:`~sovereval.store.Store`'s serialised writer, so web rows, imported
ratings and the hash-chained audit log share one transaction order.  Every write appends one audit
event (``_append_event`` of :mod:`sovereval.store.chain`) in the same transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Insert
from sqlalchemy.engine import CursorResult

import sovereval.store.web_schema  # noqa: F401 - registers the web tables on the shared metadata
from sovereval.store.chain import _append_event
from sovereval.store.store import Store


def now() -> datetime:
    return datetime.now(UTC)


def utc(at: datetime) -> datetime:
    """SQLite returns naive datetimes (stored UTC); PostgreSQL aware ones."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class WebDB:
    """The store plus the two operations every web module needs.

    Writers of this process queue on a lock before the database's own write lock: SQLite's busy
    handler would otherwise make a waiting writer sleep in growing steps (up to 100 ms) although the
    lock is free again within a millisecond.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._writer = threading.Lock()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self._writer, self.store._write() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.store._read() as conn:
            yield conn

    @staticmethod
    def audit(
        conn: Connection, actor: str, action: str, entity_type: str, entity_id: str,
        detail: Mapping[str, Any], at: datetime | None = None,
    ) -> None:  # fmt: skip
        _append_event(conn, actor, action, entity_type, entity_id, detail, at or now())

    @staticmethod
    def insert_id(conn: Connection, stmt: Insert) -> int:
        result: CursorResult[Any] = conn.execute(stmt)
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])
