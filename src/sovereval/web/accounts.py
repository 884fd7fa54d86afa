"""Accounts with one role each, one-time invitation links, and login sessions (all append-only rows).

Only SHA-256 digests of invitation and session tokens are stored; the raw token exists in the link or
the cookie alone.  An invitation is used once: its use is a row with a UNIQUE invitation id, written in
the same transaction as the account, so two simultaneous acceptances cannot both succeed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from sqlalchemy import Connection, func, insert, select

from sovereval.errors import SovereValError
from sovereval.store.web_schema import (
    WebAccount,
    WebInvitation,
    WebInvitationUse,
    WebSession,
    WebSessionEnd,
)
from sovereval.store.webdb import WebDB, now, utc
from sovereval.web.passwords import hash_password, password_problem, verify_password

Role = Literal["admin", "expert", "user", "juror"]
ROLES: tuple[Role, ...] = get_args(Role)
ROLE_NAMES: dict[str, str] = {
    "admin": "programme administrator",
    "expert": "expert panel member",
    "user": "expert user",
    "juror": "public juror",
}
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]{2,63}$")
#: roles that must set a password; jurors enter through their invitation link (a token), a password optional
PASSWORD_ROLES: frozenset[str] = frozenset({"admin", "expert", "user"})


class AccountError(SovereValError):
    """A refused account operation, with a message fit to show the person."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: Role
    display_name: str
    profile: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rater_id(self) -> str:
        """Pseudonymous id used in exported ratings (panel membership stays private)."""
        return f"{self.role}-{self.id}"


@dataclass(frozen=True)
class Invitation:
    id: int
    role: Role
    note: str
    profile: Mapping[str, Any]
    expires_at: datetime
    used: bool


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _account(r: Any) -> Account:
    return Account(r.id, r.username, r.role, r.display_name, dict(r.profile or {}))


QuotaCheck = Callable[[Connection, Mapping[str, Any]], str | None]


class Accounts:
    def __init__(self, db: WebDB, *, session_ttl: timedelta = timedelta(hours=12)) -> None:
        self.db = db
        self.session_ttl = session_ttl

    # -- invitations -------------------------------------------------------------------------------

    def invite(
        self, actor: str, role: Role, *, note: str = "", profile: Mapping[str, Any] | None = None,
        ttl: timedelta = timedelta(days=14),
    ) -> str:  # fmt: skip
        """Create a one-time invitation; return its raw token (shown once, never stored)."""
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}")
        token = secrets.token_urlsafe(24)
        at = now()
        with self.db.write() as conn:
            inv_id = WebDB.insert_id(conn, insert(WebInvitation).values(
                token_sha256=token_sha256(token), role=role, note=note, profile=dict(profile or {}),
                expires_at=at + ttl, created_at=at, created_by=actor,
            ))  # fmt: skip
            WebDB.audit(conn, actor, "invite", "web_invitation", str(inv_id),
                        {"role": role, "note": note, "profile": dict(profile or {})}, at)  # fmt: skip
        return token

    def invitation(self, token: str) -> Invitation | None:
        with self.db.read() as conn:
            return self._invitation(conn, token)

    @staticmethod
    def _invitation(conn: Connection, token: str) -> Invitation | None:
        r = conn.execute(
            select(WebInvitation, WebInvitationUse.id.label("use_id"))
            .outerjoin(WebInvitationUse, WebInvitationUse.invitation_id == WebInvitation.id)
            .where(WebInvitation.token_sha256 == token_sha256(token))
        ).first()
        if r is None:
            return None
        return Invitation(r.id, r.role, r.note, dict(r.profile), utc(r.expires_at), r.use_id is not None)

    def accept(
        self, token: str, *, username: str, display_name: str, password: str | None,
        quota_check: QuotaCheck | None = None,
    ) -> Account:  # fmt: skip
        """Use an invitation: create the account.  Refused if used, expired, or a quota is full."""
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise AccountError("username: 3-64 characters, lower-case letters, digits, '.', '_' or '-'")
        at = now()
        with self.db.write() as conn:
            inv = self._invitation(conn, token)
            if inv is None:
                raise AccountError("this invitation link is not valid")
            if inv.used:
                raise AccountError("this invitation link has already been used")
            if inv.expires_at < at:
                raise AccountError("this invitation link has expired")
            pw_hash = None
            if inv.role in PASSWORD_ROLES or password:  # jurors may add a password to log in again later
                problem = password_problem(password or "")
                if problem:
                    raise AccountError(problem)
                pw_hash = hash_password(password or "")
            if conn.scalar(select(WebAccount.id).where(WebAccount.username == username)) is not None:
                raise AccountError(f"the username {username!r} is taken")
            if inv.role == "juror" and quota_check is not None:
                full = quota_check(conn, inv.profile)
                if full:
                    raise AccountError(full)
            acc_id = WebDB.insert_id(conn, insert(WebAccount).values(
                username=username, role=inv.role, display_name=display_name.strip() or username,
                password_hash=pw_hash, profile=dict(inv.profile), invitation_id=inv.id, created_at=at,
                created_by=username,
            ))  # fmt: skip
            conn.execute(insert(WebInvitationUse).values(invitation_id=inv.id, account_id=acc_id, created_at=at))
            WebDB.audit(conn, username, "accept_invitation", "web_account", str(acc_id),
                        {"invitation": inv.id, "role": inv.role, "username": username}, at)  # fmt: skip
        return Account(acc_id, username, inv.role, display_name.strip() or username, dict(inv.profile))

    def create_admin(self, username: str, password: str, actor: str = "system") -> Account:
        """Bootstrap an administrator without an invitation (command line / demo seeding only)."""
        problem = password_problem(password)
        if problem:
            raise AccountError(problem)
        at = now()
        with self.db.write() as conn:
            if conn.scalar(select(WebAccount.id).where(WebAccount.username == username)) is not None:
                raise AccountError(f"the username {username!r} is taken")
            acc_id = WebDB.insert_id(conn, insert(WebAccount).values(
                username=username, role="admin", display_name=username, password_hash=hash_password(password),
                profile={}, invitation_id=None, created_at=at, created_by=actor,
            ))  # fmt: skip
            WebDB.audit(conn, actor, "create_admin", "web_account", str(acc_id), {"username": username}, at)
        return Account(acc_id, username, "admin", username, {})

    # -- lookup ------------------------------------------------------------------------------------

    def by_username(self, username: str) -> Account | None:
        with self.db.read() as conn:
            r = conn.execute(select(WebAccount).where(WebAccount.username == username.strip().lower())).first()
        return _account(r) if r else None

    def by_id(self, account_id: int) -> Account | None:
        with self.db.read() as conn:
            r = conn.execute(select(WebAccount).where(WebAccount.id == account_id)).first()
        return _account(r) if r else None

    def all(self, role: Role | None = None) -> list[Account]:
        stmt = select(WebAccount).order_by(WebAccount.id)
        if role is not None:
            stmt = stmt.where(WebAccount.role == role)
        with self.db.read() as conn:
            return [_account(r) for r in conn.execute(stmt)]

    def count(self, role: Role) -> int:
        with self.db.read() as conn:
            return int(conn.scalar(select(func.count()).where(WebAccount.role == role)) or 0)

    def authenticate(self, username: str, password: str) -> Account | None:
        with self.db.read() as conn:
            r = conn.execute(select(WebAccount).where(WebAccount.username == username.strip().lower())).first()
        ok = verify_password(password, r.password_hash if r is not None else None)
        return _account(r) if (r is not None and ok) else None

    # -- sessions ----------------------------------------------------------------------------------

    def start_session(self, account: Account) -> str:
        token = secrets.token_urlsafe(32)
        at = now()
        with self.db.write() as conn:
            sid = WebDB.insert_id(conn, insert(WebSession).values(
                token_sha256=token_sha256(token), account_id=account.id, expires_at=at + self.session_ttl,
                created_at=at,
            ))  # fmt: skip
            WebDB.audit(conn, account.username, "login", "web_session", str(sid), {"account": account.id}, at)
        return token

    def session(self, token: str) -> tuple[int, Account] | None:
        """(session id, account) of a live session, else None."""
        with self.db.read() as conn:
            r = conn.execute(
                select(WebSession.id.label("sid"), WebSession.expires_at, WebSessionEnd.id.label("ended"), WebAccount)
                .join(WebAccount, WebAccount.id == WebSession.account_id)
                .outerjoin(WebSessionEnd, WebSessionEnd.session_id == WebSession.id)
                .where(WebSession.token_sha256 == token_sha256(token))
            ).first()
        if r is None or r.ended is not None or utc(r.expires_at) < now():
            return None
        return r.sid, _account(r)

    def end_session(self, session_id: int, actor: str) -> None:
        at = now()
        with self.db.write() as conn:
            if conn.scalar(select(WebSessionEnd.id).where(WebSessionEnd.session_id == session_id)) is not None:
                return
            conn.execute(insert(WebSessionEnd).values(session_id=session_id, created_at=at))
            WebDB.audit(conn, actor, "logout", "web_session", str(session_id), {}, at)
