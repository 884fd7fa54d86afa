"""ORM tables of the store: an append-only audit trail.

Every table is insert-only; the migrations install database triggers that reject UPDATE and DELETE
(see :mod:`sovereval.store.migrations.append_only`).  A changed value is a new row in a newer
``input_batches`` row; the current value of a key is the one from the latest batch that has it.

The schema is owned by the Alembic migrations in ``store/migrations/versions``; these classes must
match them (``tests/test_store.py`` compares the two).  To change the schema: edit the classes here,
then add a migration (``alembic -c src/sovereval/store/migrations/alembic.ini revision --autogenerate``)
and call ``append_only.protect()`` for every new table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from sovereval.store.base import ID, SHA, Base

PROVENANCE_CHECK = "provenance IN ('recorded', 'published', 'reconstructed')"


class Program(Base):
    """A programme definition exactly as imported (the TOML text), identified by its SHA-256."""

    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[str] = mapped_column(ID, index=True)
    version: Mapped[str] = mapped_column(ID)
    sha256: Mapped[str] = mapped_column(SHA, unique=True)
    toml_text: Mapped[str]
    source_name: Mapped[str]
    created_at: Mapped[datetime]
    created_by: Mapped[str]


class InputBatch(Base):
    """One import (or one recorded gate decision): who brought which file, when, and why."""

    __tablename__ = "input_batches"
    __table_args__ = (
        CheckConstraint("kind IN ('import', 'gate')", name="kind"),
        CheckConstraint(PROVENANCE_CHECK, name="provenance"),
        Index("ix_input_batches_program_stage", "program_id", "stage_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_sha256: Mapped[str] = mapped_column(SHA, ForeignKey("programs.sha256"))
    program_id: Mapped[str] = mapped_column(ID)  # copied from programs: keys are scoped by programme + stage
    stage_id: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(16))
    source_name: Mapped[str]
    source_sha256: Mapped[str | None] = mapped_column(SHA)
    provenance: Mapped[str] = mapped_column(String(16))
    note: Mapped[str]
    reason: Mapped[str | None]  # why this batch supersedes earlier values (required for any change)
    content_sha256: Mapped[str] = mapped_column(SHA)  # digest of the records stored in this batch
    inputs_sha256: Mapped[str] = mapped_column(SHA)  # digest of the whole Inputs as submitted
    created_at: Mapped[datetime]
    created_by: Mapped[str]


def _batch_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("input_batches.id"), index=True)


class BenchmarkResultRow(Base):
    """A team's result on a benchmark: a summary (n/mean/binary/sd) or a header of item scores."""

    __tablename__ = "benchmark_results"
    __table_args__ = (
        UniqueConstraint("batch_id", "team", "benchmark"),
        CheckConstraint("n IS NULL OR n >= 1", name="n"),
        CheckConstraint("mean IS NULL OR (mean >= 0 AND mean <= 100)", name="mean"),
        CheckConstraint("sd IS NULL OR sd >= 0", name="sd"),
        CheckConstraint("item_count >= 0", name="item_count"),
        CheckConstraint(
            "(item_count > 0 AND items_sha256 IS NOT NULL AND n IS NULL AND mean IS NULL)"
            " OR (item_count = 0 AND items_sha256 IS NULL AND n IS NOT NULL AND mean IS NOT NULL)",
            name="items_or_summary",
        ),
        CheckConstraint(PROVENANCE_CHECK, name="provenance"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = _batch_fk()
    team: Mapped[str] = mapped_column(ID)
    benchmark: Mapped[str] = mapped_column(ID)
    n: Mapped[int | None]
    mean: Mapped[float | None]
    binary: Mapped[bool] = mapped_column(Boolean)
    sd: Mapped[float | None]
    item_count: Mapped[int]
    items_sha256: Mapped[str | None] = mapped_column(SHA)  # digest of (item_ids, scores, clusters)
    provenance: Mapped[str] = mapped_column(String(16))
    note: Mapped[str]


class ItemScore(Base):
    """Item-level scores of one benchmark result, in their original order (``pos``)."""

    __tablename__ = "item_scores"
    __table_args__ = (
        UniqueConstraint("result_id", "item_id"),
        CheckConstraint("score >= 0 AND score <= 1", name="score"),
    )

    result_id: Mapped[int] = mapped_column(ForeignKey("benchmark_results.id"), primary_key=True)
    pos: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[str]
    score: Mapped[float]
    cluster: Mapped[str | None]  # NULL when the result declares no clusters


class RatingRow(Base):
    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("batch_id", "panel", "rater", "team", "item"),
        CheckConstraint(PROVENANCE_CHECK, name="provenance"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = _batch_fk()
    panel: Mapped[str] = mapped_column(ID)
    rater: Mapped[str] = mapped_column(ID)
    team: Mapped[str] = mapped_column(ID)
    item: Mapped[str] = mapped_column(ID)
    value: Mapped[float]
    comment: Mapped[str]
    provenance: Mapped[str] = mapped_column(String(16))


class GateDecisionRow(Base):
    __tablename__ = "gate_decisions"
    __table_args__ = (
        UniqueConstraint("batch_id", "gate", "team"),
        CheckConstraint("status IN ('pass', 'fail', 'pending')", name="status"),
        CheckConstraint("status <> 'fail' OR length(trim(reason)) > 0", name="fail_has_reason"),
        CheckConstraint(PROVENANCE_CHECK, name="provenance"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = _batch_fk()
    gate: Mapped[str] = mapped_column(ID)
    team: Mapped[str] = mapped_column(ID)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str]
    evidence: Mapped[str]
    decided_by: Mapped[str]
    date: Mapped[str]  # as written in the decision (free text, e.g. 2025-03-01)
    provenance: Mapped[str] = mapped_column(String(16))


class ApprovalRow(Base):
    __tablename__ = "approvals"
    __table_args__ = (
        UniqueConstraint("batch_id", "panel", "rater", "team", "call"),
        CheckConstraint("call IN ('main', 'recompetition')", name="call"),
        CheckConstraint(PROVENANCE_CHECK, name="provenance"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = _batch_fk()
    panel: Mapped[str] = mapped_column(ID)
    rater: Mapped[str] = mapped_column(ID)
    team: Mapped[str] = mapped_column(ID)
    call: Mapped[str] = mapped_column(String(16))
    approve: Mapped[bool] = mapped_column(Boolean)
    provenance: Mapped[str] = mapped_column(String(16))


class PublishedCellRow(Base):
    __tablename__ = "published_cells"
    __table_args__ = (
        UniqueConstraint("batch_id", "key", "team", "stat"),
        CheckConstraint("stat IN ('value', 'mean')", name="stat"),
        CheckConstraint("decimals IS NULL OR (decimals >= 0 AND decimals <= 6)", name="decimals"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = _batch_fk()
    key: Mapped[str] = mapped_column(ID)
    team: Mapped[str | None] = mapped_column(ID)  # NULL: an aggregate over teams
    stat: Mapped[str] = mapped_column(String(16))
    value: Mapped[float]
    decimals: Mapped[int | None]  # the precision the release printed
    source: Mapped[str]


class PublishedOutcomeRow(Base):
    __tablename__ = "published_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("input_batches.id"), unique=True)
    selected: Mapped[list[Any]]  # JSON list of team ids
    eliminated: Mapped[dict[str, Any]]  # JSON object team id -> reason
    source: Mapped[str]


class ScoreRun(Base):
    """One run of the scoring engine: what it read (digests), how (seed, engine) and what it found."""

    __tablename__ = "score_runs"
    __table_args__ = (
        CheckConstraint("replicates >= 0", name="replicates"),
        Index("ix_score_runs_program_stage", "program_id", "stage_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_sha256: Mapped[str] = mapped_column(SHA, ForeignKey("programs.sha256"))
    program_id: Mapped[str] = mapped_column(ID)
    stage_id: Mapped[str] = mapped_column(ID)
    inputs_sha256: Mapped[str] = mapped_column(SHA)
    seed: Mapped[int] = mapped_column(BigInteger)
    replicates: Mapped[int]
    engine_version: Mapped[str] = mapped_column(ID)
    result: Mapped[dict[str, Any]]
    result_sha256: Mapped[str] = mapped_column(SHA)
    created_at: Mapped[datetime]
    created_by: Mapped[str]


class EvalRun(Base):
    """One benchmark run of one model: the manifest pins the declaration, template and model identity."""

    __tablename__ = "eval_runs"
    __table_args__ = (Index("ix_eval_runs_benchmark_model", "benchmark_id", "model_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    benchmark_id: Mapped[str] = mapped_column(ID)
    decl_version: Mapped[str] = mapped_column(SHA)
    model_key: Mapped[str] = mapped_column(String(200))
    model_name: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(500))
    epoch: Mapped[int]
    n_items: Mapped[int]
    manifest: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[str]


class EvalRunEnd(Base):
    """How a run ended (a separate row: runs are never updated)."""

    __tablename__ = "eval_run_ends"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("eval_runs.id"), unique=True)
    completed: Mapped[int]
    cached: Mapped[int]
    failed: Mapped[int]
    duration_s: Mapped[float]
    entries_sha256: Mapped[str] = mapped_column(SHA)
    created_at: Mapped[datetime]


class LedgerEntry(Base):
    """One completed model request and its response; ``key`` is :func:`sovereval.bench.types.request_key`.

    The ledger is the cache and the resume mechanism: a request whose key is here is never sent again.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('generate', 'loglik')", name="kind"),
        Index("ix_ledger_entries_model_key", "model_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(SHA, unique=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("eval_runs.id"))
    model_key: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(500))
    epoch: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]]
    response: Mapped[dict[str, Any]]
    response_sha256: Mapped[str] = mapped_column(SHA)
    attempts: Mapped[int]
    latency_s: Mapped[float | None]
    created_at: Mapped[datetime]


class LedgerFailure(Base):
    """A request that failed for good (a 4xx, or retries exhausted); retried on the next run."""

    __tablename__ = "ledger_failures"
    __table_args__ = (Index("ix_ledger_failures_key", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(SHA)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("eval_runs.id"))
    error_kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[int | None]
    message: Mapped[str]
    attempts: Mapped[int]
    created_at: Mapped[datetime]


class AuditEvent(Base):
    """The audit log: a SHA-256 hash chain.  ``id`` is assigned by the store (1, 2, ...), not the DB.

    ``hash = sha256(canonical JSON of id, at, actor, action, entity_type, entity_id, detail, prev_hash)``;
    the first event's ``prev_hash`` is 64 zeros.  ``prev_hash`` is UNIQUE, so the chain cannot fork.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str]
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(SHA, unique=True)
    hash: Mapped[str] = mapped_column(SHA, unique=True)


# the web tables share Base: registered here so that TABLES (and the migrations' metadata) name them all
import sovereval.store.web_schema  # noqa: F401

#: every table the store writes; all of them are append-only
TABLES: tuple[str, ...] = tuple(Base.metadata.tables)
