"""The arena: Bradley-Terry recovers known strengths with honest bootstrap CIs, style control absorbs
a length bias, anti-abuse rules drop what they should, quotas and raking, and the blind battle flow
(identities revealed only after the vote, one vote per battle)."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from sovereval.arena import abuse
from sovereval.arena.bt import Battle, leaderboard
from sovereval.arena.quotas import Quotas, rake
from sovereval.web.testing import Env

TRUE = {"m1": 0.0, "m2": 0.5, "m3": 1.0, "m4": 1.6}


def simulate(n: int, seed: int = 0, tie: float = 0.1) -> list[Battle]:
    rng = np.random.default_rng(seed)
    names = list(TRUE)
    out = []
    for _ in range(n):
        a, b = rng.choice(names, 2, replace=False)
        p = 1 / (1 + math.exp(-(TRUE[a] - TRUE[b])))
        u = rng.random()
        out.append(Battle(str(a), str(b), "tie" if u < tie else ("a" if rng.random() < p else "b")))
    return out


def test_bt_recovers_order_and_scale() -> None:
    board = leaderboard(simulate(3000), replicates=100)
    assert [r.model for r in board.rows] == ["m4", "m3", "m2", "m1"]
    r = {row.model: row for row in board.rows}
    scale = 400 / math.log(10)
    assert r["m4"].rating - r["m1"].rating == pytest.approx(1.6 * scale, rel=0.15)
    assert np.mean([row.rating for row in board.rows]) == pytest.approx(1000, abs=1e-6)
    for row in board.rows:
        assert row.lo < row.rating < row.hi
    assert [row.rank for row in board.rows] == [1, 2, 3, 4]  # CIs separate at this size


def test_bt_ci_covers_truth_and_ranks_overlap_when_small() -> None:
    board = leaderboard(simulate(60, seed=5), replicates=200)
    ranks = [row.rank for row in board.rows]
    assert min(ranks) == 1 and len(set(ranks)) < 4  # overlapping CIs share ranks
    big = leaderboard(simulate(60, seed=5), replicates=200)
    assert [r.rating for r in big.rows] == [r.rating for r in board.rows]  # seeded: reproducible


def test_weights_act_like_repeated_votes() -> None:
    base = [Battle("x", "y", "a"), Battle("x", "y", "b")]
    heavy = leaderboard(base + [Battle("x", "y", "a", weight=2.0)], replicates=10)
    dup = leaderboard(base + [Battle("x", "y", "a"), Battle("x", "y", "a")], replicates=10)
    assert heavy.rows[0].rating == pytest.approx(dup.rows[0].rating, abs=1e-3)


def test_style_control_absorbs_length_bias() -> None:
    """Equal quality, but 'verbose' writes long answers 80 % of the time and jurors prefer length."""
    rng = np.random.default_rng(2)
    battles = []
    p_long = {"verbose": 0.8, "terse": 0.2}
    for _ in range(2000):
        a, b = ("verbose", "terse") if rng.random() < 0.5 else ("terse", "verbose")
        la = 200 if rng.random() < p_long[a] else 20
        lb = 200 if rng.random() < p_long[b] else 20
        p_a = 0.8 if la > lb else (0.2 if la < lb else 0.5)
        battles.append(Battle(a, b, "a" if rng.random() < p_a else "b", 1.0, "word " * la, "word " * lb))
    raw = leaderboard(battles, replicates=20)
    styled = leaderboard(battles, replicates=20, style_control=True)
    gap = {lb.style_control: abs(lb.rows[0].rating - lb.rows[1].rating) for lb in (raw, styled)}
    assert gap[False] > 100 and gap[True] < 30, gap
    assert styled.style_coefficients["length"] > 0.5


def test_abuse_rules() -> None:
    ident = abuse.identity_pattern(["Team Alpha", "Alpha-1"])
    t0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
    rules = abuse.Rules(min_read_s=2.0, max_votes_per_day=3)
    votes = [
        abuse.VoteView(1, 7, "p1", "I am ChatGPT, made by OpenAI.", "hi", 10, t0),
        abuse.VoteView(2, 7, "p2", "fine", "fine", 0.4, t0 + timedelta(minutes=1)),
        abuse.VoteView(3, 7, "p3", "fine", "fine", 9, t0 + timedelta(minutes=2)),
        abuse.VoteView(4, 7, "p3", "fine", "fine", 9, t0 + timedelta(minutes=3)),
        abuse.VoteView(5, 7, "p5", "fine", "fine", 9, t0 + timedelta(minutes=4)),
        abuse.VoteView(6, 8, "p3", "As Alpha-1 I think", "x", 9, t0),
        abuse.VoteView(7, 8, "p7", "alphabet soup", "x", 9, t0),  # 'alpha' alone is not an identity word
    ]
    f = abuse.apply(votes, rules, ident)
    assert f.dropped == {1: "identity", 2: "too_fast", 4: "duplicate_prompt", 5: "over_limit", 6: "identity"}
    assert set(f.kept) == {3, 7}
    assert abuse.prompt_digest("  Hello   World ") == abuse.prompt_digest("hello world")


def test_quotas_and_raking() -> None:
    q = Quotas()
    assert q.size == 500
    p = {"gender": "female", "region": "capital", "age": "20s", "proficiency": "advanced"}
    assert q.full(p, []) is None
    assert "full" in (q.full(p, [p] * 100) or "")  # 100 advanced already
    assert "needs age" in (q.check_profile(p | {"age": "teen"}) or "")
    # a sample with too many men: weights restore 50/50 and keep the other margins on target
    rng = np.random.default_rng(0)
    profiles = []
    for _ in range(400):
        profiles.append({
            "gender": "male" if rng.random() < 0.75 else "female",
            "region": "capital" if rng.random() < 0.5 else "other",
            "age": str(rng.choice(["20s", "30s", "40s", "50s", "60+"])),
            "proficiency": str(rng.choice(["advanced", "intermediate", "beginner"], p=[0.2, 0.5, 0.3])),
        })  # fmt: skip
    w = rake(profiles, q)
    assert w.mean() == pytest.approx(1.0)
    men = sum(wi for wi, p in zip(w, profiles, strict=True) if p["gender"] == "male") / w.sum()
    adv = sum(wi for wi, p in zip(w, profiles, strict=True) if p["proficiency"] == "advanced") / w.sum()
    assert men == pytest.approx(0.5, abs=0.01) and adv == pytest.approx(0.2, abs=0.01)


# -- the battle flow over HTTP ----------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    from sovereval.arena.abuse import Rules

    e = Env(f"sqlite:///{tmp_path / 'web.db'}", replies={"gamma": "I am Gamma-1, made by Team Gamma."},
            arena_rules=Rules(min_read_s=0.0, max_votes_per_day=50))  # fmt: skip
    yield e
    e.close()


def _battle(c, csrf: str, prompt: str) -> str:
    r = c.post("/arena/battles", data={"csrf": csrf, "prompt": prompt}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    return r.headers["location"].rsplit("/", 1)[1]


def test_blind_battle_vote_reveal(env: Env) -> None:
    c, csrf = env.client("juror1")
    bid = _battle(c, csrf, "What is the capital of Korea?")
    page = c.get(f"/arena/battles/{bid}").text
    for t in env.state.scope.teams:
        assert env.state.scope.team_name(t) not in page and t not in re.sub(r"/arena/battles/[^\"]+", "", page)
    r = c.post(f"/arena/battles/{bid}/vote", data={"csrf": csrf, "outcome": "a"})
    assert r.status_code == 400 and "both answers" in r.text
    hdr = {"X-CSRF-Token": csrf}
    for side in ("a", "b"):
        s = c.post(f"/arena/battles/{bid}/answers/{side}", headers=hdr)
        assert s.status_code == 200 and s.text
    assert c.post(f"/arena/battles/{bid}/answers/a", headers=hdr).status_code == 400  # stored once
    r = c.post(f"/arena/battles/{bid}/vote", data={"csrf": csrf, "outcome": "tie"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'data-testid="reveal"' in r.text
    battle = env.state.arena.battle(bid, env.state.accounts.by_username("juror1").id)  # type: ignore[union-attr]
    assert env.state.scope.team_name(battle.team_a) in r.text
    # a double submit of the same vote is harmless; a different vote is refused
    again = c.post(f"/arena/battles/{bid}/vote", data={"csrf": csrf, "outcome": "tie"}, headers={"HX-Request": "true"})
    assert again.status_code == 200
    assert c.post(f"/arena/battles/{bid}/vote", data={"csrf": csrf, "outcome": "a"}).status_code == 400
    # another juror cannot see or vote on this battle
    other, ocsrf = env.client("juror2")
    assert other.get(f"/arena/battles/{bid}").status_code == 400
    assert other.post(f"/arena/battles/{bid}/vote", data={"csrf": ocsrf, "outcome": "a"}).status_code == 400


def test_votes_feed_the_leaderboard_with_abuse_filters(env: Env) -> None:
    for j, juror in enumerate(("juror1", "juror2")):
        c, csrf = env.client(juror)
        for k in range(9):
            bid = _battle(c, csrf, f"question {k} from {j}")
            for side in ("a", "b"):
                c.post(f"/arena/battles/{bid}/answers/{side}", headers={"X-CSRF-Token": csrf})
            c.post(f"/arena/battles/{bid}/vote", data={"csrf": csrf, "outcome": "a" if k % 3 else "b"})
        dup = _battle(c, csrf, "QUESTION 0 from " + str(j))  # same prompt again (normalised)
        for side in ("a", "b"):
            c.post(f"/arena/battles/{dup}/answers/{side}", headers={"X-CSRF-Token": csrf})
        c.post(f"/arena/battles/{dup}/vote", data={"csrf": csrf, "outcome": "a"})
    board, filtered, weights = env.state.arena.leaderboard(replicates=20)
    # every battle with gamma leaks its identity ("I am Gamma-1"): all dropped
    assert filtered.counts.get("identity", 0) >= 1
    votes = env.state.arena.votes()
    for juror in ("juror1", "juror2"):
        jid = env.state.accounts.by_username(juror).id  # type: ignore[union-attr]
        last = max(v.vote_id for v, _, _ in votes if v.juror == jid)
        assert last in filtered.dropped  # the repeated prompt (or an identity leak) never counts
    assert sum(filtered.counts.values()) + len(filtered.kept) == 20
    assert {r.model for r in board.rows} <= {"alpha", "beta"}
    assert sorted(weights) == sorted(str(env.state.accounts.by_username(j).id) for j in ("juror1", "juror2"))  # type: ignore[union-attr]
    admin, _ = env.client("admin")
    page = admin.get("/admin/arena").text
    assert 'data-testid="leaderboard"' in page and "identity" in page
    assert admin.get("/admin/arena?style=1").status_code == 200


def test_daily_limit_and_quota_refusal(tmp_path: Path) -> None:
    from sovereval.arena.abuse import Rules
    from sovereval.arena.quotas import Quotas

    e = Env(f"sqlite:///{tmp_path / 'web.db'}", arena_rules=Rules(min_read_s=0, max_votes_per_day=2),
            quotas=Quotas({"gender": {"female": 1, "male": 5}, "region": {"capital": 5, "other": 5},
                           "age": {"20s": 5, "30s": 5, "40s": 5, "50s": 5, "60+": 5},
                           "proficiency": {"advanced": 5, "intermediate": 5, "beginner": 5}}))  # fmt: skip
    try:
        c, csrf = e.client("juror1")
        _battle(c, csrf, "one")
        _battle(c, csrf, "two")
        r = c.post("/arena/battles", data={"csrf": csrf, "prompt": "three"})
        assert r.status_code == 400 and "daily limit" in r.text
        # juror1 (female) filled the one female seat: a second female invitation cannot be accepted
        token = e.state.accounts.invite("t", "juror", profile={"gender": "female", "region": "other", "age": "30s",
                                                                "proficiency": "beginner"})  # fmt: skip
        anon, acsrf = e.client()
        r = anon.post(f"/invite/{token}", data={"csrf": acsrf, "username": "juror9"})
        assert r.status_code == 400 and "quota" in r.text
    finally:
        e.close()


def test_pairing_is_balanced(env: Env) -> None:
    c, csrf = env.client("juror1")
    for k in range(9):
        _battle(c, csrf, f"balance {k} {time.time()}")
    from sqlalchemy import select

    from sovereval.store.web_schema import ArenaBattle

    with env.state.db.read() as conn:
        pairs = [frozenset(p) for p in conn.execute(select(ArenaBattle.team_a, ArenaBattle.team_b))]
    counts = {p: pairs.count(p) for p in set(pairs)}
    assert len(counts) == 3 and set(counts.values()) == {3}
