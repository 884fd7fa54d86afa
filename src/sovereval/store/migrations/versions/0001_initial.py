"""Initial schema: programmes, input batches and their records, score runs, the audit log.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Every table is append-only: triggers reject UPDATE and DELETE (see append_only.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sovereval.store.migrations.append_only import drop_guard_function, install_guard_function, protect

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "audit_events",
    "programs",
    "input_batches",
    "score_runs",
    "approvals",
    "benchmark_results",
    "gate_decisions",
    "published_cells",
    "published_outcomes",
    "ratings",
    "item_scores",
)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_events_prev_hash")),
    )
    op.create_index("ix_audit_events_entity", "audit_events", ["entity_type", "entity_id"])

    op.create_table(
        "programs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("toml_text", sa.Text(), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
        sa.UniqueConstraint("sha256", name=op.f("uq_programs_sha256")),
    )
    op.create_index(op.f("ix_programs_program_id"), "programs", ["program_id"])

    op.create_table(
        "input_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_sha256", sa.String(length=64), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("stage_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("provenance", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('import', 'gate')", name=op.f("ck_input_batches_kind")),
        sa.CheckConstraint(
            "provenance IN ('recorded', 'published', 'reconstructed')",
            name=op.f("ck_input_batches_provenance"),
        ),
        sa.ForeignKeyConstraint(
            ["program_sha256"], ["programs.sha256"], name=op.f("fk_input_batches_program_sha256_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_input_batches")),
    )
    op.create_index("ix_input_batches_program_stage", "input_batches", ["program_id", "stage_id"])

    op.create_table(
        "score_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_sha256", sa.String(length=64), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("stage_id", sa.String(length=64), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("replicates", sa.Integer(), nullable=False),
        sa.Column("engine_version", sa.String(length=64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("result_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.CheckConstraint("replicates >= 0", name=op.f("ck_score_runs_replicates")),
        sa.ForeignKeyConstraint(
            ["program_sha256"], ["programs.sha256"], name=op.f("fk_score_runs_program_sha256_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_runs")),
    )
    op.create_index("ix_score_runs_program_stage", "score_runs", ["program_id", "stage_id"])

    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("panel", sa.String(length=64), nullable=False),
        sa.Column("rater", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("call", sa.String(length=16), nullable=False),
        sa.Column("approve", sa.Boolean(), nullable=False),
        sa.Column("provenance", sa.String(length=16), nullable=False),
        sa.CheckConstraint("call IN ('main', 'recompetition')", name=op.f("ck_approvals_call")),
        sa.CheckConstraint(
            "provenance IN ('recorded', 'published', 'reconstructed')", name=op.f("ck_approvals_provenance")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["input_batches.id"], name=op.f("fk_approvals_batch_id_input_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint(
            "batch_id",
            "panel",
            "rater",
            "team",
            "call",
            name=op.f("uq_approvals_batch_id_panel_rater_team_call"),
        ),
    )
    op.create_index(op.f("ix_approvals_batch_id"), "approvals", ["batch_id"])

    op.create_table(
        "benchmark_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("benchmark", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=True),
        sa.Column("mean", sa.Double(), nullable=True),
        sa.Column("binary", sa.Boolean(), nullable=False),
        sa.Column("sd", sa.Double(), nullable=True),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("items_sha256", sa.String(length=64), nullable=True),
        sa.Column("provenance", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "provenance IN ('recorded', 'published', 'reconstructed')",
            name=op.f("ck_benchmark_results_provenance"),
        ),
        sa.CheckConstraint(
            "(item_count > 0 AND items_sha256 IS NOT NULL AND n IS NULL AND mean IS NULL) OR (item_count = 0 AND items_sha256 IS NULL AND n IS NOT NULL AND mean IS NOT NULL)",
            name=op.f("ck_benchmark_results_items_or_summary"),
        ),
        sa.CheckConstraint("item_count >= 0", name=op.f("ck_benchmark_results_item_count")),
        sa.CheckConstraint(
            "mean IS NULL OR (mean >= 0 AND mean <= 100)", name=op.f("ck_benchmark_results_mean")
        ),
        sa.CheckConstraint("n IS NULL OR n >= 1", name=op.f("ck_benchmark_results_n")),
        sa.CheckConstraint("sd IS NULL OR sd >= 0", name=op.f("ck_benchmark_results_sd")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["input_batches.id"], name=op.f("fk_benchmark_results_batch_id_input_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benchmark_results")),
        sa.UniqueConstraint(
            "batch_id", "team", "benchmark", name=op.f("uq_benchmark_results_batch_id_team_benchmark")
        ),
    )
    op.create_index(op.f("ix_benchmark_results_batch_id"), "benchmark_results", ["batch_id"])

    op.create_table(
        "gate_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("gate", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=False),
        sa.Column("date", sa.Text(), nullable=False),
        sa.Column("provenance", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "provenance IN ('recorded', 'published', 'reconstructed')",
            name=op.f("ck_gate_decisions_provenance"),
        ),
        sa.CheckConstraint(
            "status <> 'fail' OR length(trim(reason)) > 0", name=op.f("ck_gate_decisions_fail_has_reason")
        ),
        sa.CheckConstraint("status IN ('pass', 'fail', 'pending')", name=op.f("ck_gate_decisions_status")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["input_batches.id"], name=op.f("fk_gate_decisions_batch_id_input_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_decisions")),
        sa.UniqueConstraint("batch_id", "gate", "team", name=op.f("uq_gate_decisions_batch_id_gate_team")),
    )
    op.create_index(op.f("ix_gate_decisions_batch_id"), "gate_decisions", ["batch_id"])

    op.create_table(
        "published_cells",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("stat", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("decimals", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint("stat IN ('value', 'mean')", name=op.f("ck_published_cells_stat")),
        sa.CheckConstraint(
            "decimals IS NULL OR (decimals >= 0 AND decimals <= 6)", name=op.f("ck_published_cells_decimals")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["input_batches.id"], name=op.f("fk_published_cells_batch_id_input_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_cells")),
        sa.UniqueConstraint(
            "batch_id", "key", "team", "stat", name=op.f("uq_published_cells_batch_id_key_team_stat")
        ),
    )
    op.create_index(op.f("ix_published_cells_batch_id"), "published_cells", ["batch_id"])

    op.create_table(
        "published_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("selected", sa.JSON(), nullable=False),
        sa.Column("eliminated", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["input_batches.id"], name=op.f("fk_published_outcomes_batch_id_input_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_outcomes")),
        sa.UniqueConstraint("batch_id", name=op.f("uq_published_outcomes_batch_id")),
    )
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("panel", sa.String(length=64), nullable=False),
        sa.Column("rater", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("provenance", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "provenance IN ('recorded', 'published', 'reconstructed')", name=op.f("ck_ratings_provenance")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["input_batches.id"], name=op.f("fk_ratings_batch_id_input_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint(
            "batch_id",
            "panel",
            "rater",
            "team",
            "item",
            name=op.f("uq_ratings_batch_id_panel_rater_team_item"),
        ),
    )
    op.create_index(op.f("ix_ratings_batch_id"), "ratings", ["batch_id"])

    op.create_table(
        "item_scores",
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("pos", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Text(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("cluster", sa.Text(), nullable=True),
        sa.CheckConstraint("score >= 0 AND score <= 1", name=op.f("ck_item_scores_score")),
        sa.ForeignKeyConstraint(
            ["result_id"], ["benchmark_results.id"], name=op.f("fk_item_scores_result_id_benchmark_results")
        ),
        sa.PrimaryKeyConstraint("result_id", "pos", name=op.f("pk_item_scores")),
        sa.UniqueConstraint("result_id", "item_id", name=op.f("uq_item_scores_result_id_item_id")),
    )

    install_guard_function()
    for table in TABLES:
        protect(table)


def downgrade() -> None:
    for table in reversed(TABLES):  # dropping a table drops its triggers
        op.drop_table(table)
    drop_guard_function()
