"""The store: programmes, raw inputs, score runs and a hash-chained audit log, append-only.

Nothing is ever updated or deleted (database triggers reject it).  An import is a batch; a record's
*key* (e.g. gate + team) names the thing it measures, and the current value of a key is the one from
the latest batch that has it.  Changing a recorded value needs a reason, which is kept with the new
batch and in the audit log; the old value stays as history.  Every write appends one audit event in
the same transaction.

Concurrency: writers are serialised (SQLite ``BEGIN IMMEDIATE``; PostgreSQL a transaction-level
advisory lock), so conflict checks and the audit chain see a stable head.
"""

from __future__ import annotations

import itertools
import json
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Self, get_args

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    create_engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.engine import CursorResult, RowMapping, make_url
from sqlalchemy.exc import DBAPIError

from sovereval.digest import canonical_json_ascii, sha256_hex
from sovereval.errors import SovereValError
from sovereval.program.records import (
    RECORD_KEYS,
    Approval,
    BenchmarkResult,
    GateDecision,
    Inputs,
    PublishedCell,
    PublishedOutcome,
    Rating,
    inputs_digest,
    normalise_inputs,
    record_sort_key,
)
from sovereval.store.schema import (
    AuditEvent,
    Base,
    BenchmarkResultRow,
    InputBatch,
    ItemScore,
    Program,
    ScoreRun,
)

GENESIS_HASH = "0" * 64
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_WRITE_LOCK = 0x50E5_EA1  # pg_advisory_xact_lock key that serialises writers
_CHUNK = 5000

Kind = Literal["benchmark", "rating", "gate", "approval", "published", "outcome"]
KINDS: tuple[Kind, ...] = get_args(Kind)
Record = BenchmarkResult | Rating | GateDecision | Approval | PublishedCell | PublishedOutcome
Key = tuple[str | None, ...]

_FIELD: dict[Kind, str] = {
    "benchmark": "benchmarks",
    "rating": "ratings",
    "gate": "gates",
    "approval": "approvals",
    "published": "published",
    "outcome": "outcome",
}
#: the fields that name what a record measures; a second value for the same key is a change
KEY_FIELDS: dict[Kind, tuple[str, ...]] = {kind: RECORD_KEYS.get(_FIELD[kind], ()) for kind in KINDS}
_MODEL: dict[Kind, type[Record]] = {
    "benchmark": BenchmarkResult,
    "rating": Rating,
    "gate": GateDecision,
    "approval": Approval,
    "published": PublishedCell,
    "outcome": PublishedOutcome,
}
_TABLE: dict[Kind, Table] = {
    "benchmark": Base.metadata.tables["benchmark_results"],
    "rating": Base.metadata.tables["ratings"],
    "gate": Base.metadata.tables["gate_decisions"],
    "approval": Base.metadata.tables["approvals"],
    "published": Base.metadata.tables["published_cells"],
    "outcome": Base.metadata.tables["published_outcomes"],
}
_ACTION = {"import": "import_inputs", "gate": "record_gate"}
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
_BENCH_HEADER = ("team", "benchmark", "n", "mean", "binary", "sd", "provenance", "note")


class StoreError(SovereValError):
    """A request the store refuses (unknown programme, changed values without a reason, ...)."""


class ConflictError(StoreError):
    """An import would change recorded values; ``changed`` names their keys."""

    def __init__(self, program_id: str, stage_id: str, changed: Sequence[str]) -> None:
        self.changed = tuple(changed)
        shown = ", ".join(self.changed[:20]) + (
            f" (+{len(self.changed) - 20} more)" if len(changed) > 20 else ""
        )
        super().__init__(
            f"{len(self.changed)} value(s) already recorded for program {program_id!r} stage {stage_id!r} "
            f"differ from this import: {shown}. Nothing was written; to supersede them, import again "
            f"with a reason."
        )


@dataclass(frozen=True)
class ProgramInfo:
    sha256: str
    program_id: str
    version: str
    source_name: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class Batch:
    id: int
    program_id: str
    program_sha256: str
    stage_id: str
    kind: Literal["import", "gate"]
    source_name: str
    source_sha256: str | None
    provenance: str
    note: str
    reason: str | None
    content_sha256: str
    inputs_sha256: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded value of a key; ``current`` is False once a later batch superseded it."""

    batch: Batch
    kind: Kind
    key: Key
    record: Record
    current: bool


@dataclass(frozen=True)
class ScoreRunInfo:
    id: int
    program_sha256: str
    program_id: str
    stage_id: str
    inputs_sha256: str
    seed: int
    replicates: int
    engine_version: str
    result: dict[str, Any]
    result_sha256: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


# --------------------------------------------------------------------------------------------------
# Canonical forms and digests
# --------------------------------------------------------------------------------------------------


def canonical_json(obj: Any) -> str:
    """:func:`sovereval.digest.canonical_json_ascii` (the form every store digest is taken over), refusing
    NaN/Infinity with a :class:`StoreError`."""
    try:
        return canonical_json_ascii(obj)
    except ValueError as e:
        raise StoreError(f"not storable as strict JSON (NaN or infinity?): {e}") from None


def sha256_text(s: str) -> str:
    """:func:`sovereval.digest.sha256_hex` of text (UTF-8)."""
    return sha256_hex(s)


def record_key(kind: Kind, rec: Record) -> Key:
    return tuple(getattr(rec, f) for f in KEY_FIELDS[kind])


def key_label(kind: Kind, key: Key) -> str:
    return f"{kind} {'/'.join('-' if k is None else k for k in key)}" if key else kind


def _sort_key(kind: Kind, rec: Record) -> tuple[str, ...]:
    return record_sort_key(KEY_FIELDS[kind], rec)


def records_of(inputs: Inputs) -> list[tuple[Kind, Record]]:
    out: list[tuple[Kind, Record]] = []
    for kind in KINDS:
        value = getattr(inputs, _FIELD[kind])
        if kind == "outcome":
            out.extend([(kind, value)] if value is not None else [])
        else:
            out.extend((kind, r) for r in value)
    return out


def inputs_sha256(inputs: Inputs) -> str:
    """:func:`sovereval.program.records.inputs_digest` (the one inputs digest), failing as a :class:`StoreError`."""
    try:
        return inputs_digest(inputs)
    except ValueError as e:
        raise StoreError(f"not storable as strict JSON: {e}") from None


def items_sha256(b: BenchmarkResult) -> str | None:
    if not b.scores:
        return None
    return sha256_text(canonical_json([list(b.item_ids), list(b.scores), list(b.clusters)]))


def _digest_form(kind: Kind, rec: Record) -> dict[str, Any]:
    if isinstance(rec, BenchmarkResult):  # items are represented by their digest
        form = {f: getattr(rec, f) for f in _BENCH_HEADER}
        return form | {"item_count": len(rec.scores), "items_sha256": items_sha256(rec)}
    return rec.model_dump(mode="json")


def content_sha256(records: Iterable[tuple[Kind, Record]]) -> str:
    """Digest of the records a batch stores (order-independent)."""
    ordered = sorted(records, key=lambda kr: (KINDS.index(kr[0]), _sort_key(*kr)))
    return sha256_text(canonical_json([[k, _digest_form(k, r)] for k, r in ordered]))


def _signature(kind: Kind, rec: Record) -> object:
    """What must be equal for two values of one key to count as the same value."""
    if isinstance(rec, BenchmarkResult):
        return tuple(getattr(rec, f) for f in _BENCH_HEADER) + (len(rec.scores), items_sha256(rec))
    return rec


def _bench_row_signature(r: RowMapping) -> object:
    return tuple(r[f] for f in _BENCH_HEADER) + (r["item_count"], r["items_sha256"])


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


def _utc(at: datetime) -> datetime:
    """SQLite returns naive datetimes (stored UTC); PostgreSQL returns aware ones."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def default_url() -> str:
    return os.environ.get("SOVEREVAL_DB") or f"sqlite:///{Path.cwd() / '.sovereval' / 'sovereval.db'}"


# --------------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------------


class Store:
    """Open (and migrate to the latest schema) the database at ``url``.

    ``url`` defaults to ``$SOVEREVAL_DB``, else ``sqlite:///<cwd>/.sovereval/sovereval.db``.  PostgreSQL:
    ``postgresql+psycopg://user@host:port/db`` (a bare ``postgresql://`` is taken to mean psycopg).
    """

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

    # -- programmes --------------------------------------------------------------------------------

    def add_program(
        self,
        toml_text: str,
        source_name: str,
        actor: str,
        *,
        program_id: str | None = None,
        version: str | None = None,
    ) -> str:
        """Store a programme's TOML text; return its SHA-256.

        ``program_id`` and ``version`` default to the TOML's top-level ``id`` and ``version``.
        Idempotent: identical text returns the existing SHA-256 and writes nothing (no audit event).
        """
        _need_actor(actor)
        try:
            data = tomllib.loads(toml_text)
        except tomllib.TOMLDecodeError as e:
            raise StoreError(f"{source_name}: not valid TOML: {e}") from None
        program_id = program_id or data.get("id")
        version = version or (str(data["version"]) if "version" in data else None)
        if not isinstance(program_id, str) or not program_id or not version:
            raise StoreError(f"{source_name}: the programme needs top-level 'id' and 'version'")
        sha = sha256_text(toml_text)
        now = _now()
        with self._write() as conn:
            if conn.scalar(select(Program.id).where(Program.sha256 == sha)) is not None:
                return sha
            conn.execute(
                insert(Program).values(
                    program_id=program_id, version=version, sha256=sha, toml_text=toml_text,
                    source_name=source_name, created_at=now, created_by=actor,
                )
            )  # fmt: skip
            detail = {"program_id": program_id, "version": version, "sha256": sha, "source_name": source_name}
            _append_event(conn, actor, "add_program", "program", sha, detail, now)
        return sha

    def get_program_text(self, ref: str) -> str:
        """The TOML text by exact SHA-256, or the latest stored version of a programme id."""
        with self._read() as conn:
            found = conn.scalar(select(Program.toml_text).where(Program.sha256 == ref))
            if found is None:
                found = conn.scalar(
                    select(Program.toml_text)
                    .where(Program.program_id == ref)
                    .order_by(Program.id.desc())
                    .limit(1)
                )
        if found is None:
            raise StoreError(f"no programme with id or sha256 {ref!r} in the store")
        return found

    def programs(self, program_id: str | None = None) -> list[ProgramInfo]:
        stmt = select(Program).order_by(Program.id)
        if program_id is not None:
            stmt = stmt.where(Program.program_id == program_id)
        with self._read() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [
            ProgramInfo(r["sha256"], r["program_id"], r["version"], r["source_name"], _utc(r["created_at"]),
                        r["created_by"])
            for r in rows
        ]  # fmt: skip

    # -- inputs ------------------------------------------------------------------------------------

    def import_inputs(
        self,
        inputs: Inputs,
        *,
        program_sha256: str,
        source_name: str,
        source_sha256: str,
        actor: str,
        reason: str | None = None,
    ) -> int:
        """Record ``inputs`` as one batch, all or nothing; return the batch id.

        A record whose key is already recorded for this programme + stage with a different value is a
        change: refused with :class:`ConflictError` (naming the keys) unless ``reason`` is given.  Only
        new and changed records are stored; if there are none, nothing is written and the id of the
        latest batch holding these values is returned.
        """
        return self._import(inputs, "import", program_sha256, source_name, source_sha256, actor, reason)

    def record_gate(
        self,
        decision: GateDecision,
        program_id: str,
        stage_id: str,
        actor: str,
        reason: str | None = None,
        *,
        program_sha256: str | None = None,
    ) -> int:
        """Append one gate decision as its own batch (against the latest version of the programme unless
        ``program_sha256`` is given).  Changing a recorded decision needs ``reason``, as for imports."""
        if program_sha256 is None:
            with self._read() as conn:
                program_sha256 = conn.scalar(
                    select(Program.sha256)
                    .where(Program.program_id == program_id)
                    .order_by(Program.id.desc())
                    .limit(1)
                )
            if program_sha256 is None:
                raise StoreError(f"no programme {program_id!r} in the store; add it first")
        inputs = Inputs(program=program_id, stage=stage_id, provenance=decision.provenance, gates=(decision,))
        return self._import(inputs, "gate", program_sha256, "record_gate", None, actor, reason)

    def _import(
        self,
        inputs: Inputs,
        kind: Literal["import", "gate"],
        program_sha256: str,
        source_name: str,
        source_sha256: str | None,
        actor: str,
        reason: str | None,
    ) -> int:
        _need_actor(actor)
        reason = reason.strip() if reason and reason.strip() else None
        p, s = inputs.program, inputs.stage
        incoming = records_of(inputs)
        now = _now()
        with self._write() as conn:
            program_id = conn.scalar(select(Program.program_id).where(Program.sha256 == program_sha256))
            if program_id is None:
                raise StoreError(f"no programme with sha256 {program_sha256!r} in the store; add it first")
            if program_id != p:
                raise StoreError(
                    f"inputs are for program {p!r} but sha256 {program_sha256[:12]} is {program_id!r}"
                )
            current = _current_signatures(conn, _stage_filter(p, s))
            delta: list[tuple[Kind, Record]] = []
            changed: list[str] = []
            holders: list[int] = []
            for k, rec in incoming:
                held = current.get((k, record_key(k, rec)))
                if held is None:
                    delta.append((k, rec))
                elif held[1] != _signature(k, rec):
                    delta.append((k, rec))
                    changed.append(key_label(k, record_key(k, rec)))
                else:
                    holders.append(held[0])
            if changed and reason is None:
                raise ConflictError(p, s, changed)
            if not delta:  # nothing new: a no-op, unless this is the first (empty) batch of the stage
                latest = max(holders, default=None) or conn.scalar(
                    select(InputBatch.id).where(_stage_filter(p, s)).order_by(InputBatch.id.desc()).limit(1)
                )
                if latest is not None:
                    return int(latest)
            digest = content_sha256(delta)
            whole = inputs_sha256(inputs)
            batch_id = _new_id(conn.execute(
                insert(InputBatch).values(
                    program_sha256=program_sha256, program_id=p, stage_id=s, kind=kind, source_name=source_name,
                    source_sha256=source_sha256, provenance=inputs.provenance, note=inputs.note, reason=reason,
                    content_sha256=digest, inputs_sha256=whole, created_at=now, created_by=actor,
                )
            ))  # fmt: skip
            _insert_records(conn, batch_id, delta)
            detail = {
                "program_id": p,
                "stage_id": s,
                "program_sha256": program_sha256,
                "kind": kind,
                "provenance": inputs.provenance,
                "note": inputs.note,
                "source_name": source_name,
                "source_sha256": source_sha256,
                "content_sha256": digest,
                "inputs_sha256": whole,
                "counts": {k: n for k in KINDS if (n := sum(1 for kk, _ in delta if kk == k))},
                "unchanged": len(incoming) - len(delta),
                "superseded": changed,
                "reason": reason,
            }
            _append_event(conn, actor, _ACTION[kind], "input_batch", str(batch_id), detail, now)
            return batch_id

    def current_inputs(self, program_id: str, stage_id: str) -> Inputs:
        """For every key, the value from the latest batch that has it; records sorted by key.

        The inputs-level ``provenance`` and ``note`` are those of the latest import batch that stored
        anything (they are batch metadata, not keyed values: an import that changes only them is a no-op).
        """
        cond = _stage_filter(program_id, stage_id)
        with self._read() as conn:
            stmt = select(InputBatch.kind, InputBatch.provenance, InputBatch.note).where(cond)
            batches = conn.execute(stmt.order_by(InputBatch.id)).all()
            if not batches:
                raise StoreError(f"no inputs recorded for program {program_id!r} stage {stage_id!r}")
            latest: dict[Kind, dict[Key, Record]] = {k: {} for k in KINDS}
            for kind in KINDS:
                if kind == "benchmark":
                    headers = {(r["team"], r["benchmark"]): r for r in _bench_headers(conn, cond)}
                    for b in _with_items(conn, list(headers.values())):
                        latest[kind][record_key(kind, b)] = b
                else:
                    for _, rec in _load(conn, kind, cond):
                        latest[kind][record_key(kind, rec)] = rec
        imports = [b for b in batches if b.kind == "import"]
        top = {"provenance": imports[-1].provenance, "note": imports[-1].note} if imports else {}
        outcome = next(iter(latest["outcome"].values()), None)
        fields = {_FIELD[k]: tuple(latest[k].values()) for k in KINDS[:-1]}
        data = {"program": program_id, "stage": stage_id, "outcome": outcome} | top | fields
        return normalise_inputs(Inputs.model_validate(data))

    def batches(self, program_id: str | None = None, stage_id: str | None = None) -> list[Batch]:
        stmt = select(InputBatch).order_by(InputBatch.id)
        if program_id is not None:
            stmt = stmt.where(InputBatch.program_id == program_id)
        if stage_id is not None:
            stmt = stmt.where(InputBatch.stage_id == stage_id)
        with self._read() as conn:
            return [_batch(r) for r in conn.execute(stmt).mappings()]

    def history(self, program_id: str, stage_id: str, kind: Kind, *key: str | None) -> list[HistoryEntry]:
        """Every recorded value of ``kind`` records whose key starts with ``key``, oldest first.

        E.g. ``history(p, s, "gate", "independence", "team-a")`` or ``history(p, s, "rating", "panel-1")``.
        """
        if kind not in KINDS:
            raise StoreError(f"unknown record kind {kind!r}; one of {KINDS}")
        if len(key) > len(KEY_FIELDS[kind]):
            raise StoreError(f"{kind} keys have {len(KEY_FIELDS[kind])} parts {KEY_FIELDS[kind]}, got {key}")
        cond = _stage_filter(program_id, stage_id)
        with self._read() as conn:
            batches = {
                b.id: b for b in (_batch(r) for r in conn.execute(select(InputBatch).where(cond)).mappings())
            }
            loaded = _load(conn, kind, cond, key)
        last: dict[Key, int] = {}
        for i, (_, rec) in enumerate(loaded):
            last[record_key(kind, rec)] = i
        return [
            HistoryEntry(batches[bid], kind, record_key(kind, rec), rec, last[record_key(kind, rec)] == i)
            for i, (bid, rec) in enumerate(loaded)
        ]

    # -- score runs --------------------------------------------------------------------------------

    def record_score_run(
        self,
        *,
        program_sha256: str,
        stage_id: str,
        inputs_sha256: str,
        seed: int,
        replicates: int,
        engine_version: str,
        result: Mapping[str, Any],
        actor: str,
    ) -> int:
        """Record one scoring run (``result`` must be JSON: no NaN/infinity); return its id."""
        _need_actor(actor)
        result_json = canonical_json(result)
        result_sha = sha256_text(result_json)
        now = _now()
        with self._write() as conn:
            program_id = conn.scalar(select(Program.program_id).where(Program.sha256 == program_sha256))
            if program_id is None:
                raise StoreError(f"no programme with sha256 {program_sha256!r} in the store")
            run_id = _new_id(conn.execute(
                insert(ScoreRun).values(
                    program_sha256=program_sha256, program_id=program_id, stage_id=stage_id,
                    inputs_sha256=inputs_sha256, seed=seed, replicates=replicates, engine_version=engine_version,
                    result=json.loads(result_json), result_sha256=result_sha, created_at=now, created_by=actor,
                )
            ))  # fmt: skip
            detail = {
                "program_id": program_id,
                "stage_id": stage_id,
                "program_sha256": program_sha256,
                "inputs_sha256": inputs_sha256,
                "seed": seed,
                "replicates": replicates,
                "engine_version": engine_version,
                "result_sha256": result_sha,
            }
            _append_event(conn, actor, "record_score_run", "score_run", str(run_id), detail, now)
            return run_id

    def score_runs(self, program_id: str, stage_id: str) -> list[ScoreRunInfo]:
        stmt = select(ScoreRun).where(ScoreRun.program_id == program_id, ScoreRun.stage_id == stage_id)
        with self._read() as conn:
            rows = conn.execute(stmt.order_by(ScoreRun.id)).mappings().all()
        return [
            ScoreRunInfo(
                **{f: r[f] for f in ScoreRunInfo.__dataclass_fields__} | {"created_at": _utc(r["created_at"])}
            )
            for r in rows
        ]

    # -- audit -------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------
# Helpers (all take an open connection inside the caller's transaction)
# --------------------------------------------------------------------------------------------------


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


def _stage_filter(program_id: str, stage_id: str) -> ColumnElement[bool]:
    return (InputBatch.program_id == program_id) & (InputBatch.stage_id == stage_id)


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


def _insert_records(conn: Connection, batch_id: int, records: Sequence[tuple[Kind, Record]]) -> None:
    for kind, group in itertools.groupby(
        sorted(records, key=lambda kr: KINDS.index(kr[0])), key=lambda kr: kr[0]
    ):
        recs = [r for _, r in group]
        if kind == "benchmark":
            _insert_benchmarks(conn, batch_id, recs)  # type: ignore[arg-type]
        else:
            conn.execute(insert(_TABLE[kind]), [r.model_dump() | {"batch_id": batch_id} for r in recs])


def _insert_benchmarks(conn: Connection, batch_id: int, results: Sequence[BenchmarkResult]) -> None:
    items: list[dict[str, Any]] = []
    for b in results:
        header = {f: getattr(b, f) for f in _BENCH_HEADER}
        row = header | {"batch_id": batch_id, "item_count": len(b.scores), "items_sha256": items_sha256(b)}
        rid = _new_id(conn.execute(insert(BenchmarkResultRow).values(**row)))
        clusters: Sequence[str | None] = b.clusters or [None] * len(b.scores)
        items.extend(
            {"result_id": rid, "pos": i, "item_id": item, "score": score, "cluster": cluster}
            for i, (item, score, cluster) in enumerate(zip(b.item_ids, b.scores, clusters, strict=True))
        )
    if items:
        _bulk_insert_items(conn, items)


def _bulk_insert_items(conn: Connection, items: list[dict[str, Any]]) -> None:
    if conn.dialect.name == "postgresql":  # COPY is several times faster than executemany here
        cols = ("result_id", "pos", "item_id", "score", "cluster")
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY item_scores ({', '.join(cols)}) FROM STDIN") as copy:
            for it in items:
                copy.write_row([it[c] for c in cols])
        return
    for i in range(0, len(items), _CHUNK):
        conn.execute(insert(ItemScore), items[i : i + _CHUNK])


def _load(conn: Connection, kind: Kind, cond: ColumnElement[bool], key: Key = ()) -> list[tuple[int, Record]]:
    """Records of ``kind`` in batches matching ``cond`` (and key prefix ``key``), oldest batch first."""
    t = _TABLE[kind]
    stmt = select(t).join(InputBatch, t.c.batch_id == InputBatch.id).where(cond)
    for field, value in zip(KEY_FIELDS[kind], key):
        stmt = stmt.where(t.c[field].is_(None) if value is None else t.c[field] == value)
    rows = conn.execute(stmt.order_by(t.c.batch_id, t.c.id)).mappings().all()
    if kind == "benchmark":
        return [(r["batch_id"], b) for r, b in zip(rows, _with_items(conn, rows), strict=True)]
    model = _MODEL[kind]
    return [(r["batch_id"], model.model_validate({f: r[f] for f in model.model_fields})) for r in rows]


def _bench_headers(conn: Connection, cond: ColumnElement[bool]) -> Sequence[RowMapping]:
    t = _TABLE["benchmark"]
    stmt = select(t).join(InputBatch, t.c.batch_id == InputBatch.id).where(cond)
    return conn.execute(stmt.order_by(t.c.batch_id, t.c.id)).mappings().all()


def _with_items(conn: Connection, headers: Sequence[RowMapping]) -> list[BenchmarkResult]:
    """Benchmark records from header rows, with their item scores attached (in stored order)."""
    wanted = [r["id"] for r in headers if r["item_count"] > 0]
    items: dict[int, list[Any]] = {}
    for i in range(0, len(wanted), 500):
        stmt = (
            select(ItemScore.result_id, ItemScore.item_id, ItemScore.score, ItemScore.cluster)
            .where(ItemScore.result_id.in_(wanted[i : i + 500]))
            .order_by(ItemScore.result_id, ItemScore.pos)
        )
        for rid, group in itertools.groupby(conn.execute(stmt), key=lambda row: row[0]):
            items[rid] = list(group)
    out = []
    for r in headers:
        rows = items.get(r["id"], [])
        if len(rows) != r["item_count"]:
            raise StoreError(
                f"benchmark result {r['id']}: {len(rows)} item scores stored, {r['item_count']} expected"
            )
        fields: dict[str, Any] = {f: r[f] for f in _BENCH_HEADER}
        if rows:
            _, ids, scores, clusters = zip(*rows, strict=True)
            fields |= {
                "item_ids": ids,
                "scores": scores,
                "clusters": clusters if clusters[0] is not None else (),
            }
        out.append(BenchmarkResult.model_validate(fields))
    return out


def _current_signatures(
    conn: Connection, cond: ColumnElement[bool]
) -> dict[tuple[Kind, Key], tuple[int, object]]:
    """(batch id, signature) of the current value of every key (later batches overwrite earlier)."""
    out: dict[tuple[Kind, Key], tuple[int, object]] = {}
    for r in _bench_headers(conn, cond):
        out[("benchmark", (r["team"], r["benchmark"]))] = (r["batch_id"], _bench_row_signature(r))
    for kind in KINDS[1:]:
        for bid, rec in _load(conn, kind, cond):
            out[(kind, record_key(kind, rec))] = (bid, rec)
    return out


def _batch_records(conn: Connection, batch_id: int) -> list[tuple[Kind, Record]]:
    cond = InputBatch.id == batch_id
    return [(k, rec) for k in KINDS for _, rec in _load(conn, k, cond)]


def _recompute_digest(conn: Connection, entity_type: str, row: RowMapping) -> str:
    if entity_type == "program":
        return sha256_text(row["toml_text"])
    if entity_type == "input_batch":
        return content_sha256(_batch_records(conn, row["id"]))
    return sha256_text(canonical_json(row["result"]))


def _batch(r: RowMapping) -> Batch:
    return Batch(**{f: r[f] for f in Batch.__dataclass_fields__} | {"created_at": _utc(r["created_at"])})


def _audit_entries(conn: Connection, stmt: Select[Any]) -> list[AuditEntry]:
    return [
        AuditEntry(**{f: r[f] for f in AuditEntry.__dataclass_fields__} | {"at": _utc(r["at"])})
        for r in conn.execute(stmt).mappings()
    ]


__all__ = [
    "GENESIS_HASH",
    "KEY_FIELDS",
    "KINDS",
    "AuditEntry",
    "Batch",
    "ConflictError",
    "HistoryEntry",
    "Kind",
    "ProgramInfo",
    "Record",
    "ScoreRunInfo",
    "Store",
    "StoreError",
    "canonical_json",
    "content_sha256",
    "inputs_sha256",
    "normalise_inputs",
    "sha256_text",
]
