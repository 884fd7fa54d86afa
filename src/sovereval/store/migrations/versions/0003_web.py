"""The web application's tables: accounts, expert panel, user chat sites and the arena.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Every table is append-only (see append_only.py): a state change (an invitation used, a session
ended, a score revised, a panel locked) is a new row, never an UPDATE.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sovereval.store.migrations.append_only import protect, unprotect

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "chat_model_cards", "dossier_documents", "web_invitations", "web_accounts", "arena_battles",
    "chat_conversations", "panel_assignments", "panel_conflicts", "panel_locks", "panel_scores",
    "web_invitation_uses", "web_sessions", "arena_answers", "arena_votes", "chat_turns", "user_ratings",
    "web_session_ends",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "chat_model_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("stage_id", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("cost_per_mtok", sa.Double(), nullable=True),
        sa.Column("params_b", sa.Double(), nullable=True),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_model_cards")),
    )
    op.create_table(
        "dossier_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("stage_id", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_documents")),
    )
    op.create_index(
        "ix_dossier_documents_team", "dossier_documents", ["program_id", "stage_id", "team"], unique=False
    )
    op.create_table(
        "web_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'expert', 'user', 'juror')", name=op.f("ck_web_invitations_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_invitations")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_web_invitations_token_sha256")),
    )
    op.create_table(
        "web_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'expert', 'user', 'juror')", name=op.f("ck_web_accounts_role")),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["web_invitations.id"],
            name=op.f("fk_web_accounts_invitation_id_web_invitations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_web_accounts_username")),
    )
    op.create_table(
        "arena_battles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("stage_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("team_a", sa.String(length=64), nullable=False),
        sa.Column("team_b", sa.String(length=64), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("prompt_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["web_accounts.id"], name=op.f("fk_arena_battles_account_id_web_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arena_battles")),
        sa.UniqueConstraint("public_id", name=op.f("uq_arena_battles_public_id")),
    )
    op.create_index(op.f("ix_arena_battles_account_id"), "arena_battles", ["account_id"], unique=False)
    op.create_table(
        "chat_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("stage_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["web_accounts.id"], name=op.f("fk_chat_conversations_account_id_web_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_conversations")),
        sa.UniqueConstraint("public_id", name=op.f("uq_chat_conversations_public_id")),
    )
    op.create_index(
        op.f("ix_chat_conversations_account_id"), "chat_conversations", ["account_id"], unique=False
    )
    op.create_table(
        "panel_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("stage_id", sa.String(length=64), nullable=False),
        sa.Column("panel", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["web_accounts.id"], name=op.f("fk_panel_assignments_account_id_web_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_assignments")),
    )
    op.create_index(
        "ix_panel_assignments_scope", "panel_assignments", ["program_id", "stage_id", "panel"], unique=False
    )
    op.create_table(
        "panel_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("stage_id", sa.String(length=64), nullable=False),
        sa.Column("panel", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["web_accounts.id"], name=op.f("fk_panel_conflicts_account_id_web_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_conflicts")),
    )
    op.create_index(
        "ix_panel_conflicts_scope", "panel_conflicts", ["program_id", "stage_id", "panel"], unique=False
    )
    op.create_table(
        "panel_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("stage_id", sa.String(length=64), nullable=False),
        sa.Column("panel", sa.String(length=64), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["input_batches.id"], name=op.f("fk_panel_locks_batch_id_input_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_locks")),
    )
    op.create_index("ix_panel_locks_scope", "panel_locks", ["program_id", "stage_id", "panel"], unique=False)
    op.create_table(
        "panel_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("stage_id", sa.String(length=64), nullable=False),
        sa.Column("panel", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("submission", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["web_accounts.id"], name=op.f("fk_panel_scores_account_id_web_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_scores")),
        sa.UniqueConstraint(
            "account_id", "submission", "item", name=op.f("uq_panel_scores_account_id_submission_item")
        ),
    )
    op.create_index(
        "ix_panel_scores_scope", "panel_scores", ["program_id", "stage_id", "panel"], unique=False
    )
    op.create_table(
        "web_invitation_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["web_accounts.id"], name=op.f("fk_web_invitation_uses_account_id_web_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["web_invitations.id"],
            name=op.f("fk_web_invitation_uses_invitation_id_web_invitations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_invitation_uses")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_web_invitation_uses_invitation_id")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["web_accounts.id"], name=op.f("fk_web_sessions_account_id_web_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_web_sessions_token_sha256")),
    )
    op.create_index(op.f("ix_web_sessions_account_id"), "web_sessions", ["account_id"], unique=False)
    op.create_table(
        "arena_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("battle_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=1), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("ttft_s", sa.Double(), nullable=True),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("gen_s", sa.Double(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("side IN ('a', 'b')", name=op.f("ck_arena_answers_side")),
        sa.ForeignKeyConstraint(
            ["battle_id"], ["arena_battles.id"], name=op.f("fk_arena_answers_battle_id_arena_battles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arena_answers")),
        sa.UniqueConstraint("battle_id", "side", name=op.f("uq_arena_answers_battle_id_side")),
    )
    op.create_table(
        "arena_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("battle_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("elapsed_s", sa.Double(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome IN ('a', 'b', 'tie', 'bothbad')", name=op.f("ck_arena_votes_outcome")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["web_accounts.id"], name=op.f("fk_arena_votes_account_id_web_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["battle_id"], ["arena_battles.id"], name=op.f("fk_arena_votes_battle_id_arena_battles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arena_votes")),
        sa.UniqueConstraint("battle_id", name=op.f("uq_arena_votes_battle_id")),
    )
    op.create_index(op.f("ix_arena_votes_account_id"), "arena_votes", ["account_id"], unique=False)
    op.create_table(
        "chat_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("ttft_s", sa.Double(), nullable=True),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("gen_s", sa.Double(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["chat_conversations.id"],
            name=op.f("fk_chat_turns_conversation_id_chat_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_turns")),
        sa.UniqueConstraint("conversation_id", "idx", name=op.f("uq_chat_turns_conversation_id_idx")),
    )
    op.create_table(
        "user_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("stage_id", sa.String(length=64), nullable=False),
        sa.Column("panel", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("submission", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["web_accounts.id"], name=op.f("fk_user_ratings_account_id_web_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["chat_conversations.id"],
            name=op.f("fk_user_ratings_conversation_id_chat_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_ratings")),
        sa.UniqueConstraint(
            "account_id", "submission", "item", name=op.f("uq_user_ratings_account_id_submission_item")
        ),
    )
    op.create_index(
        "ix_user_ratings_scope", "user_ratings", ["program_id", "stage_id", "panel"], unique=False
    )
    op.create_table(
        "web_session_ends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["web_sessions.id"], name=op.f("fk_web_session_ends_session_id_web_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session_ends")),
        sa.UniqueConstraint("session_id", name=op.f("uq_web_session_ends_session_id")),
    )
    for table in TABLES:
        protect(table)


def downgrade() -> None:
    for table in reversed(TABLES):
        unprotect(table)
    for table in reversed(TABLES):
        op.drop_table(table)
