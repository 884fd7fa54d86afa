"""Benchmark runs and the durable request ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Every table is append-only (see append_only.py): a completed request is written once and never
changed; how a run ended is its own row.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sovereval.store.migrations.append_only import protect, unprotect

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("eval_runs", "eval_run_ends", "ledger_entries", "ledger_failures")


def upgrade() -> None:
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("benchmark_id", sa.String(64), nullable=False),
        sa.Column("decl_version", sa.String(64), nullable=False),
        sa.Column("model_key", sa.String(200), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("endpoint", sa.String(500), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("n_items", sa.Integer(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_runs")),
    )
    op.create_index("ix_eval_runs_benchmark_model", "eval_runs", ["benchmark_id", "model_key"])
    op.create_table(
        "eval_run_ends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("cached", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Double(), nullable=False),
        sa.Column("entries_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["eval_runs.id"], name=op.f("fk_eval_run_ends_run_id_eval_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_run_ends")),
        sa.UniqueConstraint("run_id", name=op.f("uq_eval_run_ends_run_id")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("model_key", sa.String(200), nullable=False),
        sa.Column("endpoint", sa.String(500), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("response_sha256", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("latency_s", sa.Double(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('generate', 'loglik')", name=op.f("ck_ledger_entries_kind")),
        sa.ForeignKeyConstraint(["run_id"], ["eval_runs.id"], name=op.f("fk_ledger_entries_run_id_eval_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("key", name=op.f("uq_ledger_entries_key")),
    )
    op.create_index("ix_ledger_entries_model_key", "ledger_entries", ["model_key"])
    op.create_table(
        "ledger_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("error_kind", sa.String(32), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["eval_runs.id"], name=op.f("fk_ledger_failures_run_id_eval_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_failures")),
    )
    op.create_index("ix_ledger_failures_key", "ledger_failures", ["key"])
    for table in TABLES:
        protect(table)


def downgrade() -> None:
    for table in reversed(TABLES):
        unprotect(table)
    op.drop_index("ix_ledger_failures_key", table_name="ledger_failures")
    op.drop_table("ledger_failures")
    op.drop_index("ix_ledger_entries_model_key", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_table("eval_run_ends")
    op.drop_index("ix_eval_runs_benchmark_model", table_name="eval_runs")
    op.drop_table("eval_runs")
