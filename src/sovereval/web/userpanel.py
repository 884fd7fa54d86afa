"""The user evaluation: conversations with each blind chat site, measured turns, ratings per criterion.

A user's rating of a team on a criterion, as exported to the store, is the mean of their latest rating
of each of their conversations with that team.  The export (admin action) imports these as
:class:`Rating` records of the user panel; the scoring engine normalises them as the programme
declares, with rater-bootstrap CIs.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from sovereval.bench.metering import Meter, tokens_per_s
from sovereval.errors import SovereValError
from sovereval.program.records import Rating
from sovereval.program.scope import Scope
from sovereval.store.web_schema import ChatConversation, ChatModelCard, ChatTurn, UserRating
from sovereval.store.webdb import WebDB, now, utc
from sovereval.web.sites import Site

MAX_PROMPT = 8000
MAX_COMMENT = 5000
HISTORY_TURNS = 4


class UserEvalError(SovereValError):
    """A refused operation, with a message fit to show the person."""


@dataclass(frozen=True)
class Turn:
    idx: int
    prompt: str
    answer: str
    ttft_s: float | None
    tokens: int
    gen_s: float
    error: str | None
    at: datetime

    @property
    def tokens_per_s(self) -> float | None:
        return tokens_per_s(self.tokens, self.ttft_s, self.gen_s)


@dataclass(frozen=True)
class Conversation:
    id: int
    public_id: str
    account_id: int
    team: str
    at: datetime


@dataclass(frozen=True)
class TeamSummary:
    team: str
    label: str
    n_turns: int
    ttft_s: float | None  # median
    tokens_per_s: float | None  # median
    cost_per_mtok: float | None
    params_b: float | None
    n_raters: int
    means: dict[str, float]  # criterion -> mean over raters


def _median(xs: list[float]) -> float | None:
    xs = sorted(xs)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


class UserPanel:
    def __init__(self, db: WebDB, scope: Scope, sites: Mapping[str, Site]) -> None:
        self.db = db
        self.scope = scope
        self.panel = scope.user_panel
        self.items = {it.id: it for it in scope.items(self.panel)}
        self.sites = dict(sites)  # team -> site
        self.by_label = {s.label: s for s in self.sites.values()}

    def _in_scope(self, t: type[ChatConversation | UserRating | ChatModelCard]):
        return (t.program_id == self.scope.program_id) & (t.stage_id == self.scope.stage_id)

    # -- model cards -------------------------------------------------------------------------------

    def record_cards(self, actor: str) -> None:
        """Record each site's blind label, declared cost and size, when they differ from the latest."""
        at = now()
        with self.db.write() as conn:
            latest: dict[str, tuple] = {}
            for r in conn.execute(select(ChatModelCard).where(self._in_scope(ChatModelCard)).order_by(ChatModelCard.id)):
                latest[r.team] = (r.label, r.cost_per_mtok, r.params_b, r.endpoint)
            for team, s in sorted(self.sites.items()):
                card = (s.label, s.cost_per_mtok, s.params_b, s.backend.endpoint)
                if latest.get(team) == card:
                    continue
                conn.execute(insert(ChatModelCard).values(
                    program_id=self.scope.program_id, stage_id=self.scope.stage_id, team=team, label=s.label,
                    cost_per_mtok=s.cost_per_mtok, params_b=s.params_b, endpoint=s.backend.endpoint,
                    created_at=at, created_by=actor,
                ))  # fmt: skip
                WebDB.audit(conn, actor, "chat_model_card", "chat_model_card", team,
                            {"label": s.label, "cost_per_mtok": s.cost_per_mtok, "params_b": s.params_b,
                             "endpoint": s.backend.endpoint}, at)  # fmt: skip

    # -- conversations -----------------------------------------------------------------------------

    def site(self, label: str) -> Site:
        s = self.by_label.get(label)
        if s is None:
            raise UserEvalError(f"no chat site {label!r}")
        return s

    def new_conversation(self, account_id: int, actor: str, team: str) -> str:
        public_id = str(uuid.uuid4())
        at = now()
        with self.db.write() as conn:
            cid = WebDB.insert_id(conn, insert(ChatConversation).values(
                public_id=public_id, program_id=self.scope.program_id, stage_id=self.scope.stage_id,
                account_id=account_id, team=team, created_at=at,
            ))  # fmt: skip
            WebDB.audit(conn, actor, "chat_start", "chat_conversation", str(cid), {"team": team}, at)
        return public_id

    def conversation(self, public_id: str, account_id: int) -> Conversation:
        """The account's own conversation (anyone else's is 'not found')."""
        with self.db.read() as conn:
            r = conn.execute(select(ChatConversation).where(
                ChatConversation.public_id == public_id, ChatConversation.account_id == account_id,
                self._in_scope(ChatConversation),
            )).first()  # fmt: skip
        if r is None:
            raise UserEvalError("no such conversation")
        return Conversation(r.id, r.public_id, r.account_id, r.team, utc(r.created_at))

    def conversations(self, account_id: int, team: str) -> list[Conversation]:
        with self.db.read() as conn:
            rows = conn.execute(select(ChatConversation).where(
                ChatConversation.account_id == account_id, ChatConversation.team == team,
                self._in_scope(ChatConversation),
            ).order_by(ChatConversation.id)).all()  # fmt: skip
        return [Conversation(r.id, r.public_id, r.account_id, r.team, utc(r.created_at)) for r in rows]

    def turns(self, conversation_id: int) -> list[Turn]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(ChatTurn).where(ChatTurn.conversation_id == conversation_id).order_by(ChatTurn.idx)
            ).all()
        return [Turn(r.idx, r.prompt, r.answer, r.ttft_s, r.tokens, r.gen_s, r.error, utc(r.created_at)) for r in rows]

    def save_turn(self, conv: Conversation, actor: str, prompt: str, meter: Meter) -> int:
        at = now()
        with self.db.write() as conn:
            idx = int(conn.scalar(select(func.count()).where(ChatTurn.conversation_id == conv.id)) or 0)
            conn.execute(insert(ChatTurn).values(
                conversation_id=conv.id, idx=idx, prompt=prompt, answer=meter.answer, ttft_s=meter.ttft_s,
                tokens=meter.tokens, gen_s=meter.gen_s, error=meter.error, created_at=at,
            ))  # fmt: skip
            WebDB.audit(conn, actor, "chat_turn", "chat_conversation", str(conv.id),
                        {"idx": idx, "tokens": meter.tokens, "ttft_s": meter.ttft_s, "gen_s": meter.gen_s,
                         "error": meter.error}, at)  # fmt: skip
        return idx

    # -- ratings -----------------------------------------------------------------------------------

    def rate(self, conv: Conversation, actor: str, values: Mapping[str, float], comment: str,
             submission: str) -> bool:  # fmt: skip
        """Record a rating of a conversation on every criterion; False when this submission was already saved."""
        if not submission or len(submission) > 64:
            raise UserEvalError("the form has no valid submission id; reload the page")
        if set(values) != set(self.items):
            missing = sorted(set(self.items) - set(values))
            raise UserEvalError(f"rate every criterion (missing: {', '.join(missing)})")
        for item_id, v in values.items():
            it = self.items[item_id]
            lo = it.min if it.min is not None else 0.0
            if not (lo <= v <= (it.max or 0)):
                raise UserEvalError(f"{it.name or item_id}: {v:g} is outside [{lo:g}, {it.max:g}]")
        if len(comment) > MAX_COMMENT:
            raise UserEvalError(f"the comment is longer than {MAX_COMMENT} characters")
        at = now()
        with self.db.write() as conn:
            if conn.scalar(select(UserRating.id).where(UserRating.account_id == conv.account_id,
                                                       UserRating.submission == submission)) is not None:  # fmt: skip
                return False
            if not conn.scalar(select(func.count()).where(ChatTurn.conversation_id == conv.id)):
                raise UserEvalError("chat with the model before rating the conversation")
            conn.execute(insert(UserRating), [
                {"program_id": self.scope.program_id, "stage_id": self.scope.stage_id, "panel": self.panel,
                     "account_id": conv.account_id, "conversation_id": conv.id, "team": conv.team, "item": item_id,
                     "value": float(v), "comment": comment.strip(), "submission": submission, "created_at": at}
                for item_id, v in sorted(values.items())
            ])  # fmt: skip
            WebDB.audit(conn, actor, "user_rating", "chat_conversation", str(conv.id),
                        {"team": conv.team, "submission": submission, "values": dict(sorted(values.items()))},
                        at)  # fmt: skip
        return True

    def latest_ratings(self, conn: Connection) -> dict[tuple[int, int, str], tuple[str, float, str]]:
        """(account, conversation, item) -> (team, value, comment), latest submission wins."""
        out: dict[tuple[int, int, str], tuple[str, float, str]] = {}
        stmt = select(UserRating).where(self._in_scope(UserRating), UserRating.panel == self.panel)
        for r in conn.execute(stmt.order_by(UserRating.id)):
            out[(r.account_id, r.conversation_id, r.item)] = (r.team, r.value, r.comment)
        return out

    def my_rating(self, conv: Conversation) -> dict[str, float]:
        with self.db.read() as conn:
            rows = self.latest_ratings(conn)
        return {item: v for (a, c, item), (_, v, _) in rows.items() if a == conv.account_id and c == conv.id}

    def ratings(self) -> tuple[Rating, ...]:
        """One :class:`Rating` per (user, team, criterion): the mean over the user's conversations."""
        with self.db.read() as conn:
            rows = self.latest_ratings(conn)
        acc: dict[tuple[int, str, str], list[float]] = defaultdict(list)
        comments: dict[tuple[int, str], list[str]] = defaultdict(list)
        for (a, _c, item), (team, v, comment) in rows.items():
            acc[(a, team, item)].append(v)
            if comment and comment not in comments[(a, team)]:
                comments[(a, team)].append(comment)
        return tuple(
            Rating(panel=self.panel, rater=f"user-{a}", team=team, item=item, value=sum(vs) / len(vs),
                   comment=" | ".join(comments[(a, team)])[:2000])
            for (a, team, item), vs in sorted(acc.items())
        )  # fmt: skip

    def summary(self) -> list[TeamSummary]:
        """Per team: measured TTFT and tokens/s (medians over turns), declared cost and size, mean ratings."""
        with self.db.read() as conn:
            turns = conn.execute(
                select(ChatConversation.team, ChatTurn.ttft_s, ChatTurn.tokens, ChatTurn.gen_s)
                .join(ChatConversation, ChatConversation.id == ChatTurn.conversation_id)
                .where(self._in_scope(ChatConversation), ChatTurn.error.is_(None))
            ).all()
        ratings = self.ratings()
        out = []
        for team in self.scope.teams:
            site = self.sites.get(team)
            tt = [t for t in turns if t.team == team]
            rs = [r for r in ratings if r.team == team]
            means = {}
            for item in self.items:
                vals = [r.value for r in rs if r.item == item]
                if vals:
                    means[item] = sum(vals) / len(vals)
            rates = [x for t in tt if (x := tokens_per_s(t.tokens, t.ttft_s, t.gen_s)) is not None]
            out.append(TeamSummary(
                team, site.label if site else "-", len(tt), _median([t.ttft_s for t in tt if t.ttft_s is not None]),
                _median(rates), site.cost_per_mtok if site else None, site.params_b if site else None,
                len({r.rater for r in rs}), means,
            ))  # fmt: skip
        return out
