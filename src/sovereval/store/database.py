"""The database underneath the store: engine, serialised write transactions, read snapshots, migrations.

:class:`Database` opens (and migrates) the database; :class:`~sovereval.store.Store` composes the
mixins built on it.  Also the small helpers every write shares (the actor check, the id of an inserted
row) and the conversion of stored timestamps to aware UTC.

Concurrency: writers are serialised (SQLite ``BEGIN IMMEDIATE``; PostgreSQL a transaction-level
advisory lock), so conflict checks and the audit chain see a stable head.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.exc import DBAPIError

from sovereval.store.model import StoreError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_WRITE_LOCK = 0x50E5_EA1  # pg_advisory_xact_lock key that serialises writers


def _utc(at: datetime) -> datetime:
    """SQLite returns naive datetimes (stored UTC); PostgreSQL returns aware ones."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def default_url() -> str:
    return os.environ.get("SOVEREVAL_DB") or f"sqlite:///{Path.cwd() / '.sovereval' / 'sovereval.db'}"


class Database:
    """The engine and transactions of the store's database (see :class:`~sovereval.store.Store`)."""

    def __init__(self, url: str | None = None) -> None:
        u = make_url(url or default_url())
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        self.url = u
        self.dialect = u.get_backend_name()
        if self.dialect == "sqlite":
            if u.database and u.database != ":memory:":
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            self._engine = create_engine(u)
            _configure_sqlite(self._engine)
        elif self.dialect == "postgresql":
            self._engine = create_engine(u, pool_pre_ping=True)
        else:
            raise StoreError(
                f"unsupported database {u.drivername!r}; use sqlite:/// or postgresql+psycopg://"
            )
        self._writer = self._engine.execution_options(sovereval_write=True)
        # reads that take several queries see one snapshot (SQLite: a deferred BEGIN in WAL mode does)
        pg = self.dialect == "postgresql"
        self._reader = (
            self._engine.execution_options(isolation_level="REPEATABLE READ") if pg else self._engine
        )
        self._migrate()

    # -- lifecycle ---------------------------------------------------------------------------------

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self._write() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction, serialised against other writers; rolled back on any error."""
        try:
            with self._writer.begin() as conn:
                if self.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_WRITE_LOCK})
                yield conn
        except DBAPIError as e:
            raise StoreError(f"the database refused the write (nothing was written): {e.orig}") from e

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """One read-only transaction: a consistent snapshot across its queries."""
        with self._reader.connect() as conn:
            yield conn


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # transactions are begun below, not by the sqlite3 module
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000", "synchronous=NORMAL"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("sovereval_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _need_actor(actor: str) -> None:
    if not actor or not actor.strip():
        raise StoreError("every write needs an actor (who is doing this)")
