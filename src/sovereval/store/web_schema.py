"""ORM tables of the web application (accounts, expert panel, user chat sites, arena): append-only.

These share :class:`sovereval.store.base.Base` (one metadata, one migration chain; migration
``0003_web`` creates them and installs the append-only triggers).  Nothing here is ever updated or
deleted: a state change is a new row.  An invitation that has been used is a row in
``web_invitation_uses`` (UNIQUE on the invitation, so it can be used once), a logged-out session a row
in ``web_session_ends``, a changed panel score a newer ``panel_scores`` row (the latest row of a key is
the current value; after the panel is locked a change needs a ``reason``), an unassignment a newer
``panel_assignments`` row with ``active = false``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from sovereval.store.base import ID, SHA, Base

ROLES_CHECK = "role IN ('admin', 'expert', 'user', 'juror')"
SUBMISSION = String(64)  # a client-chosen idempotency key (one per rendered form)


def _account_fk(**kw: Any) -> Mapped[int]:
    return mapped_column(ForeignKey("web_accounts.id"), **kw)


# --------------------------------------------------------------------------------------------------
# Accounts, invitations, sessions
# --------------------------------------------------------------------------------------------------


class WebInvitation(Base):
    """A one-time invitation link: only the SHA-256 of its token is stored."""

    __tablename__ = "web_invitations"
    __table_args__ = (CheckConstraint(ROLES_CHECK, name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(SHA, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    note: Mapped[str]
    profile: Mapped[dict[str, Any]]  # juror strata (gender, region, age band, AI proficiency), else {}
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime]
    created_by: Mapped[str]


class WebAccount(Base):
    """A person with one role.  ``password_hash`` is NULL for token-only jurors."""

    __tablename__ = "web_accounts"
    __table_args__ = (CheckConstraint(ROLES_CHECK, name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(ID, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str]
    password_hash: Mapped[str | None]
    profile: Mapped[dict[str, Any]]
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("web_invitations.id"))
    created_at: Mapped[datetime]
    created_by: Mapped[str]


class WebInvitationUse(Base):
    """The single use of an invitation (UNIQUE: a second use is refused by the database)."""

    __tablename__ = "web_invitation_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("web_invitations.id"), unique=True)
    account_id: Mapped[int] = _account_fk()
    created_at: Mapped[datetime]


class WebSession(Base):
    """A login session; the cookie holds the token, the table its SHA-256."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(SHA, unique=True)
    account_id: Mapped[int] = _account_fk(index=True)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime]


class WebSessionEnd(Base):
    """A session ended by logout (expiry needs no row)."""

    __tablename__ = "web_session_ends"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("web_sessions.id"), unique=True)
    created_at: Mapped[datetime]


# --------------------------------------------------------------------------------------------------
# Expert panel
# --------------------------------------------------------------------------------------------------


class PanelAssignment(Base):
    """The admin assigns (``active``) or unassigns (``not active``) an expert to a team; latest row wins."""

    __tablename__ = "panel_assignments"
    __table_args__ = (Index("ix_panel_assignments_scope", "program_id", "stage_id", "panel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[str] = mapped_column(ID)
    stage_id: Mapped[str] = mapped_column(ID)
    panel: Mapped[str] = mapped_column(ID)
    account_id: Mapped[int] = _account_fk()
    team: Mapped[str] = mapped_column(ID)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    created_by: Mapped[str]


class PanelConflict(Base):
    """A declared conflict of interest: the expert is recused from that team (for good)."""

    __tablename__ = "panel_conflicts"
    __table_args__ = (Index("ix_panel_conflicts_scope", "program_id", "stage_id", "panel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[str] = mapped_column(ID)
    stage_id: Mapped[str] = mapped_column(ID)
    panel: Mapped[str] = mapped_column(ID)
    account_id: Mapped[int] = _account_fk()
    team: Mapped[str] = mapped_column(ID)
    reason: Mapped[str]
    created_at: Mapped[datetime]
    created_by: Mapped[str]


class PanelScore(Base):
    """One expert's score of one rubric section of one team, with its written justification."""

    __tablename__ = "panel_scores"
    __table_args__ = (
        UniqueConstraint("account_id", "submission", "item"),
        Index("ix_panel_scores_scope", "program_id", "stage_id", "panel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[str] = mapped_column(ID)
    stage_id: Mapped[str] = mapped_column(ID)
    panel: Mapped[str] = mapped_column(ID)
    account_id: Mapped[int] = _account_fk()
    team: Mapped[str] = mapped_column(ID)
    item: Mapped[str] = mapped_column(ID)
    value: Mapped[float]
    justification: Mapped[str]
    submission: Mapped[str] = mapped_column(SUBMISSION)
    reason: Mapped[str | None]  # required for a change after the panel was locked
    created_at: Mapped[datetime]


class PanelLock(Base):
    """Lock (export to the store as ratings) or unlock (with a reason) of a panel; latest row wins."""

    __tablename__ = "panel_locks"
    __table_args__ = (Index("ix_panel_locks_scope", "program_id", "stage_id", "panel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[str] = mapped_column(ID)
    stage_id: Mapped[str] = mapped_column(ID)
    panel: Mapped[str] = mapped_column(ID)
    locked: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str]
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("input_batches.id"))
    created_at: Mapped[datetime]
    created_by: Mapped[str]


class DossierDocument(Base):
    """A document of a team's dossier (technical report, training-log summary, ...); latest per kind."""

    __tablename__ = "dossier_documents"
    __table_args__ = (Index("ix_dossier_documents_team", "program_id", "stage_id", "team"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[str] = mapped_column(ID)
    stage_id: Mapped[str] = mapped_column(ID)
    team: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str]
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(SHA)
    created_at: Mapped[datetime]
    created_by: Mapped[str]


# --------------------------------------------------------------------------------------------------
# User chat sites
# --------------------------------------------------------------------------------------------------


class ChatModelCard(Base):
    """A team's chat site: blind label and the declared cost and size shown beside the ratings."""

    __tablename__ = "chat_model_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[str] = mapped_column(ID)
    stage_id: Mapped[str] = mapped_column(ID)
    team: Mapped[str] = mapped_column(ID)
    label: Mapped[str] = mapped_column(ID)
    cost_per_mtok: Mapped[float | None]  # declared cost per 1M tokens
    params_b: Mapped[float | None]  # declared model size, billions of parameters
    endpoint: Mapped[str]
    created_at: Mapped[datetime]
    created_by: Mapped[str]


class ChatConversation(Base):
    __tablename__ = "chat_conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    program_id: Mapped[str] = mapped_column(ID)
    stage_id: Mapped[str] = mapped_column(ID)
    account_id: Mapped[int] = _account_fk(index=True)
    team: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime]


class ChatTurn(Base):
    """One prompt and the model's answer, with what the platform measured while it streamed."""

    __tablename__ = "chat_turns"
    __table_args__ = (UniqueConstraint("conversation_id", "idx"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("chat_conversations.id"))
    idx: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str]
    answer: Mapped[str]
    ttft_s: Mapped[float | None]
    tokens: Mapped[int]
    gen_s: Mapped[float]
    error: Mapped[str | None]
    created_at: Mapped[datetime]


class UserRating(Base):
    """A user's rating of a conversation on one criterion; a submission is idempotent."""

    __tablename__ = "user_ratings"
    __table_args__ = (
        UniqueConstraint("account_id", "submission", "item"),
        Index("ix_user_ratings_scope", "program_id", "stage_id", "panel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[str] = mapped_column(ID)
    stage_id: Mapped[str] = mapped_column(ID)
    panel: Mapped[str] = mapped_column(ID)
    account_id: Mapped[int] = _account_fk()
    conversation_id: Mapped[int] = mapped_column(ForeignKey("chat_conversations.id"))
    team: Mapped[str] = mapped_column(ID)
    item: Mapped[str] = mapped_column(ID)
    value: Mapped[float]
    comment: Mapped[str]
    submission: Mapped[str] = mapped_column(SUBMISSION)
    created_at: Mapped[datetime]


# --------------------------------------------------------------------------------------------------
# Arena
# --------------------------------------------------------------------------------------------------


class ArenaBattle(Base):
    """Two anonymous models asked the same prompt by one juror."""

    __tablename__ = "arena_battles"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    program_id: Mapped[str] = mapped_column(ID)
    stage_id: Mapped[str] = mapped_column(ID)
    account_id: Mapped[int] = _account_fk(index=True)
    team_a: Mapped[str] = mapped_column(ID)
    team_b: Mapped[str] = mapped_column(ID)
    prompt: Mapped[str]
    prompt_sha256: Mapped[str] = mapped_column(SHA)  # of the normalised prompt (duplicate check)
    created_at: Mapped[datetime]


class ArenaAnswer(Base):
    __tablename__ = "arena_answers"
    __table_args__ = (
        UniqueConstraint("battle_id", "side"),
        CheckConstraint("side IN ('a', 'b')", name="side"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    battle_id: Mapped[int] = mapped_column(ForeignKey("arena_battles.id"))
    side: Mapped[str] = mapped_column(String(1))
    answer: Mapped[str]
    ttft_s: Mapped[float | None]
    tokens: Mapped[int]
    gen_s: Mapped[float]
    error: Mapped[str | None]
    created_at: Mapped[datetime]


class ArenaVote(Base):
    """The juror's vote; one per battle (UNIQUE).  ``flags`` records anti-abuse findings at vote time."""

    __tablename__ = "arena_votes"
    __table_args__ = (CheckConstraint("outcome IN ('a', 'b', 'tie', 'bothbad')", name="outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    battle_id: Mapped[int] = mapped_column(ForeignKey("arena_battles.id"), unique=True)
    account_id: Mapped[int] = _account_fk(index=True)
    outcome: Mapped[str] = mapped_column(String(8))
    elapsed_s: Mapped[float]  # from the later answer's completion to the vote
    flags: Mapped[list[Any]]
    created_at: Mapped[datetime]


WEB_TABLES: tuple[str, ...] = (
    "web_invitations", "web_accounts", "web_invitation_uses", "web_sessions", "web_session_ends",
    "panel_assignments", "panel_conflicts", "panel_scores", "panel_locks", "dossier_documents",
    "chat_model_cards", "chat_conversations", "chat_turns", "user_ratings",
    "arena_battles", "arena_answers", "arena_votes",
)  # fmt: skip
