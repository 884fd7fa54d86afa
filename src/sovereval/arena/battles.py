"""Arena battles in the store: pairing, answers, votes (one per battle), and the leaderboard input.

Pairing gives every pair of models equal sampling (the pair with the fewest battles so far, ties broken
at random), and a random left/right order.  Identities are revealed only in the answer to a vote.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, insert, select

from sovereval.arena import abuse, bt
from sovereval.arena.quotas import Quotas, rake
from sovereval.bench.metering import Meter
from sovereval.errors import SovereValError
from sovereval.program.scope import Scope
from sovereval.store.web_schema import ArenaAnswer, ArenaBattle, ArenaVote, WebAccount
from sovereval.store.webdb import WebDB, now, utc

OUTCOMES = ("a", "b", "tie", "bothbad")
MAX_PROMPT = 4000


class ArenaError(SovereValError):
    """A refused arena operation, with a message fit to show the person."""


@dataclass(frozen=True)
class BattleView:
    id: int
    public_id: str
    account_id: int
    team_a: str
    team_b: str
    prompt: str
    answers: dict[str, str]
    voted: str | None
    at: datetime


@dataclass(frozen=True)
class VoteResult:
    outcome: str
    flags: tuple[str, ...]
    team_a: str
    team_b: str
    duplicate_submit: bool


class Arena:
    def __init__(self, db: WebDB, scope: Scope, teams: tuple[str, ...], *, rules: abuse.Rules | None = None,
                 quotas: Quotas | None = None, seed: int | None = None) -> None:  # fmt: skip
        if len(teams) < 2:
            raise ValueError("the arena needs at least two models")
        self.db = db
        self.scope = scope
        self.teams = teams
        self.rules = rules or abuse.Rules()
        self.quotas = quotas or Quotas()
        self.rng = random.Random(seed)
        names = [t for team in teams for t in (team, scope.team_name(team))]
        names += [m.name for team in teams for m in scope.program.team(team).models]
        self.identity = abuse.identity_pattern(names)

    def _in_scope(self):
        return (ArenaBattle.program_id == self.scope.program_id) & (ArenaBattle.stage_id == self.scope.stage_id)

    # -- jurors ------------------------------------------------------------------------------------

    def quota_check(self, conn: Connection, profile: Mapping[str, str]) -> str | None:
        """Refuse a juror whose category is full in any quota dimension (counted in SQL, one query each)."""
        bad = self.quotas.check_profile(profile)
        if bad:
            return bad
        for dim, cats in self.quotas.targets.items():
            value = profile[dim]
            have = conn.scalar(select(func.count()).select_from(WebAccount).where(
                WebAccount.role == "juror", WebAccount.profile[dim].as_string() == value)) or 0  # fmt: skip
            if have >= cats[value]:
                return f"the jury quota for {dim} = {value} is full ({have}/{cats[value]})"
        return None

    # -- battles -----------------------------------------------------------------------------------

    def _pair(self, conn: Connection) -> tuple[str, str]:
        counts: Counter[frozenset[str]] = Counter()
        stmt = (select(ArenaBattle.team_a, ArenaBattle.team_b, func.count()).where(self._in_scope())
                .group_by(ArenaBattle.team_a, ArenaBattle.team_b))  # fmt: skip
        for a, b, n in conn.execute(stmt):
            counts[frozenset((a, b))] += n
        pairs = [frozenset(p) for p in itertools.combinations(self.teams, 2)]
        fewest = min(counts.get(p, 0) for p in pairs)
        a, b = sorted(self.rng.choice([p for p in pairs if counts.get(p, 0) == fewest]))
        return (a, b) if self.rng.random() < 0.5 else (b, a)

    def new_battle(self, account_id: int, actor: str, prompt: str) -> str:
        prompt = prompt.strip()
        if not prompt:
            raise ArenaError("write a prompt first")
        if len(prompt) > MAX_PROMPT:
            raise ArenaError(f"the prompt is longer than {MAX_PROMPT} characters")
        at = now()
        day_start = at.replace(hour=0, minute=0, second=0, microsecond=0)
        with self.db.write() as conn:
            today = conn.scalar(select(func.count()).where(
                ArenaBattle.account_id == account_id, ArenaBattle.created_at >= day_start,
                ArenaBattle.created_at < day_start + timedelta(days=1), self._in_scope(),
            )) or 0  # fmt: skip
            if today >= self.rules.max_votes_per_day:
                raise ArenaError(f"daily limit reached ({self.rules.max_votes_per_day} battles); thank you!")
            team_a, team_b = self._pair(conn)
            public_id = str(uuid.uuid4())
            bid = WebDB.insert_id(conn, insert(ArenaBattle).values(
                public_id=public_id, program_id=self.scope.program_id, stage_id=self.scope.stage_id,
                account_id=account_id, team_a=team_a, team_b=team_b, prompt=prompt,
                prompt_sha256=abuse.prompt_digest(prompt), created_at=at,
            ))  # fmt: skip
            WebDB.audit(conn, actor, "arena_battle", "arena_battle", str(bid),
                        {"team_a": team_a, "team_b": team_b, "prompt_sha256": abuse.prompt_digest(prompt)}, at)
        return public_id

    def battle(self, public_id: str, account_id: int) -> BattleView:
        with self.db.read() as conn:
            r = conn.execute(select(ArenaBattle).where(ArenaBattle.public_id == public_id,
                                                       ArenaBattle.account_id == account_id, self._in_scope())).first()
            if r is None:
                raise ArenaError("no such battle")
            answers = {a.side: a.answer for a in conn.execute(select(ArenaAnswer).where(ArenaAnswer.battle_id == r.id))}
            voted = conn.scalar(select(ArenaVote.outcome).where(ArenaVote.battle_id == r.id))
        return BattleView(r.id, r.public_id, r.account_id, r.team_a, r.team_b, r.prompt, answers, voted,
                          utc(r.created_at))  # fmt: skip

    def save_answer(self, battle: BattleView, side: str, meter: Meter) -> bool:
        """Store one side's answer once (a second stream of the same side is not stored)."""
        at = now()
        with self.db.write() as conn:
            exists = conn.scalar(select(ArenaAnswer.id).where(ArenaAnswer.battle_id == battle.id, ArenaAnswer.side == side))
            if exists is not None:
                return False
            conn.execute(insert(ArenaAnswer).values(
                battle_id=battle.id, side=side, answer=meter.answer, ttft_s=meter.ttft_s, tokens=meter.tokens,
                gen_s=meter.gen_s, error=meter.error, created_at=at,
            ))  # fmt: skip
        return True

    def vote(self, public_id: str, account_id: int, actor: str, outcome: str) -> VoteResult:
        if outcome not in OUTCOMES:
            raise ArenaError(f"unknown vote {outcome!r}")
        at = now()
        with self.db.write() as conn:
            b = conn.execute(select(ArenaBattle).where(ArenaBattle.public_id == public_id,
                                                       ArenaBattle.account_id == account_id, self._in_scope())).first()
            if b is None:
                raise ArenaError("no such battle")
            prior = conn.execute(select(ArenaVote).where(ArenaVote.battle_id == b.id)).first()
            if prior is not None:
                if prior.outcome != outcome:
                    raise ArenaError("you already voted in this battle")
                return VoteResult(prior.outcome, tuple(prior.flags), b.team_a, b.team_b, True)
            answers = conn.execute(select(ArenaAnswer).where(ArenaAnswer.battle_id == b.id)).all()
            if {a.side for a in answers} != {"a", "b"}:
                raise ArenaError("wait until both answers are complete")
            done = max(utc(a.created_at) for a in answers)
            elapsed = (at - done).total_seconds()
            dup = conn.scalar(
                select(func.count()).select_from(ArenaVote).join(ArenaBattle, ArenaBattle.id == ArenaVote.battle_id)
                .where(ArenaVote.account_id == account_id, ArenaBattle.prompt_sha256 == b.prompt_sha256,
                       self._in_scope())
            )  # fmt: skip
            text = {a.side: a.answer for a in answers}
            flags = abuse.vote_flags(text["a"], text["b"], elapsed, bool(dup), self.rules, self.identity)
            vid = WebDB.insert_id(conn, insert(ArenaVote).values(
                battle_id=b.id, account_id=account_id, outcome=outcome, elapsed_s=elapsed, flags=flags, created_at=at,
            ))  # fmt: skip
            WebDB.audit(conn, actor, "arena_vote", "arena_vote", str(vid),
                        {"battle": b.id, "outcome": outcome, "flags": flags, "elapsed_s": round(elapsed, 3)}, at)
        return VoteResult(outcome, tuple(flags), b.team_a, b.team_b, False)

    # -- analysis ----------------------------------------------------------------------------------

    def votes(self) -> list[tuple[abuse.VoteView, bt.Battle, dict]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(ArenaVote.id, ArenaVote.account_id, ArenaVote.outcome, ArenaVote.elapsed_s, ArenaVote.created_at,
                       ArenaBattle.id.label("bid"), ArenaBattle.team_a, ArenaBattle.team_b, ArenaBattle.prompt_sha256,
                       WebAccount.profile)
                .join(ArenaBattle, ArenaBattle.id == ArenaVote.battle_id)
                .join(WebAccount, WebAccount.id == ArenaVote.account_id)
                .where(self._in_scope()).order_by(ArenaVote.id)
            ).all()  # fmt: skip
            answers: dict[tuple[int, str], str] = {}
            ids = [r.bid for r in rows]
            for i in range(0, len(ids), 500):
                for a in conn.execute(select(ArenaAnswer).where(ArenaAnswer.battle_id.in_(ids[i : i + 500]))):
                    answers[(a.battle_id, a.side)] = a.answer
        out = []
        for r in rows:
            aa, ab = answers.get((r.bid, "a"), ""), answers.get((r.bid, "b"), "")
            view = abuse.VoteView(r.id, r.account_id, r.prompt_sha256, aa, ab, r.elapsed_s, utc(r.created_at))
            out.append((view, bt.Battle(r.team_a, r.team_b, r.outcome, 1.0, aa, ab), dict(r.profile or {})))
        return out

    def leaderboard(self, *, replicates: int = 200, style_control: bool = False,
                    weighted: bool = True) -> tuple[bt.Leaderboard, abuse.Filtered, dict[str, float]]:  # fmt: skip
        """BT over the votes kept by the anti-abuse rules, each weighted by its juror's raking weight."""
        votes = self.votes()
        filtered = abuse.apply([v for v, _, _ in votes], self.rules, self.identity)
        kept = set(filtered.kept)
        chosen = [(v, b, p) for v, b, p in votes if v.vote_id in kept]
        jurors = sorted({v.juror for v, _, _ in chosen})
        profiles = {v.juror: p for v, _, p in chosen}
        weights: dict[int, float] = dict.fromkeys(jurors, 1.0)
        if weighted and jurors and all(self.quotas.check_profile(profiles[j]) is None for j in jurors):
            w = rake([profiles[j] for j in jurors], self.quotas)
            weights = {j: float(x) for j, x in zip(jurors, w, strict=True)}
        battles = [bt.Battle(b.a, b.b, b.outcome, weights[v.juror], b.answer_a, b.answer_b) for v, b, _ in chosen]
        board = bt.leaderboard(battles, replicates=replicates, style_control=style_control)
        return board, filtered, {str(j): w for j, w in weights.items()}
