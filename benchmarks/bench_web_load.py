"""Load benchmark of the web application: 49 concurrent expert users and 500 public jurors.

Model calls are stubbed here (and only here): the stub backend answers instantly, so what is measured
is the platform's own latency.  One uvicorn process serves the demo programme on SQLite; every virtual
person is an HTTP client (aiohttp) with its own cookies and think time between steps (2-6 s), and all start
within the ramp-up window (60 s).

* 49 raters: log in, then for each of the 3 chat sites: open it, start a conversation, send a prompt
  (streamed answer), rate the conversation on the 4 criteria (some submit twice: double clicks).
* 500 jurors, stratified to the planned quotas: accept their invitation link, open the arena, start
  a battle, stream both answers, vote.

Reported: p50/p95/p99/max latency per request class; the goal is p99 <= 100 ms for pages and
submissions, excluding model time (the streamed answers) and password login (scrypt is deliberately
slow).  Then zero lost ratings: every accepted rating and vote is counted in the database.

Usage: python benchmarks/bench_web_load.py [--raters 49] [--jurors 500] [--append BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import re
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import numpy as np
from sqlalchemy import create_engine, func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sovereval.store.web_schema import ArenaVote, ChatTurn, UserRating
from sovereval.web.config import WebConfig
from sovereval.web.seed import DEMO_PASSWORD, DEMO_PROGRAM
from sovereval.web.state import build_state
from sovereval.web.testing import Server

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
CRITERIA = ("usability", "quality", "speed", "cost_efficiency")
THINK = (2.0, 6.0)  # seconds between a person's steps (reading, typing: humans are slower still)
lat: dict[str, list[float]] = defaultdict(list)
errors: list[str] = []


def juror_profiles(n: int, seed: int = 0) -> list[dict[str, str]]:
    """n profiles whose margins match the quotas scaled to n (independent shuffles per dimension)."""
    rng = random.Random(seed)
    margins = {
        "gender": {"female": 0.5, "male": 0.5}, "region": {"capital": 0.5, "other": 0.5},
        "age": {a: 0.2 for a in ("20s", "30s", "40s", "50s", "60+")},
        "proficiency": {"advanced": 0.2, "intermediate": 0.5, "beginner": 0.3},
    }  # fmt: skip
    cols = {}
    for dim, shares in margins.items():
        vals = [c for c, s in shares.items() for _ in range(round(s * n))][:n]
        vals += [next(iter(shares))] * (n - len(vals))
        rng.shuffle(vals)
        cols[dim] = vals
    return [{d: cols[d][i] for d in margins} for i in range(n)]


def prepare(db_url: str, raters: int, jurors: int) -> list[str]:
    """Create the rater accounts and the juror invitations before the server starts; return juror tokens."""
    from sovereval.web.seed import seed_demo

    state = build_state(WebConfig(program_path=DEMO_PROGRAM, db_url=db_url))
    try:
        seed_demo(state, users=0, jurors=0, juror_links=0)
        for i in range(raters):
            tok = state.accounts.invite("bench", "user")
            state.accounts.accept(tok, username=f"rater{i:02d}", display_name="", password=DEMO_PASSWORD)
        return [state.accounts.invite("bench", "juror", profile=p) for p in juror_profiles(jurors)]
    finally:
        state.close()


ALERT = re.compile(r'role="alert">([^<]*)<')
server_ms: dict[str, list[float]] = defaultdict(list)


@dataclass
class Resp:
    status: int
    text: str
    headers: dict[str, str]


async def req(s: aiohttp.ClientSession, kind: str, method: str, path: str, *, data: dict | None = None,
              headers: dict | None = None) -> Resp:  # fmt: skip
    """One timed request (redirects not followed: the Location is what the flow needs)."""
    t = time.perf_counter()
    async with s.request(method, path, data=data, headers=headers, allow_redirects=False) as r:
        text = await r.text()
        out = Resp(r.status, text, dict(r.headers))
    lat[kind].append(time.perf_counter() - t)
    timing = out.headers.get("Server-Timing", "")
    if timing.startswith("app;dur="):
        server_ms[kind].append(float(timing[8:]))
    if out.status >= 400:
        m = ALERT.search(text)
        errors.append(f"{kind} {method} {path.split('?')[0]} {out.status}: {m.group(1) if m else text[:80]}")
    return out


async def think(rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(THINK[0], THINK[1]))


def csrf(text: str) -> str:
    m = CSRF.search(text)
    assert m, text[:200]
    return m.group(1)


def session(base: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True),
                                 timeout=aiohttp.ClientTimeout(total=120))  # fmt: skip


async def rater(base: str, i: int, ramp: float, submitted: list[int]) -> None:
    rng = random.Random(i)
    await asyncio.sleep(rng.uniform(0, ramp))
    async with session(base) as c:
        page = await req(c, "page", "GET", "/login")
        r = await req(c, "login (scrypt)", "POST", "/login",
                      data={"username": f"rater{i:02d}", "password": DEMO_PASSWORD, "csrf": csrf(page.text)})  # fmt: skip
        home = await req(c, "page", "GET", r.headers["Location"])
        token = csrf(home.text)
        labels = re.findall(r'href="/chat/([^"?]+)" data-testid="site"', home.text)
        for label in labels:
            await think(rng)
            await req(c, "page", "GET", f"/chat/{label}")
            r = await req(c, "submit", "POST", f"/chat/{label}/conversations", data={"csrf": token})
            cid = r.headers["Location"].split("c=")[1]
            page = await req(c, "page", "GET", f"/chat/{label}?c={cid}")
            await think(rng)
            await req(c, "model stream (stub)", "POST", f"/chat/{label}/turns",
                      data={"csrf": token, "c": cid, "prompt": f"task {i} {label}"})  # fmt: skip
            await req(c, "fragment", "GET", f"/chat/{label}/conversations/{cid}/turns")
            await think(rng)
            sub = re.search(r'id="submission" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            form = {"csrf": token, "c": cid, "submission": sub, "comment": "bench"}
            form |= {f"rate_{k}": str(rng.randint(1, 7)) for k in CRITERIA}
            tries = 2 if rng.random() < 0.2 else 1  # double clicks
            for _ in range(tries):
                r = await req(c, "submit", "POST", f"/chat/{label}/ratings", data=form, headers={"HX-Request": "true"})
            if r.status == 200:
                submitted[0] += 1


async def juror(base: str, i: int, token: str, ramp: float, voted: list[int]) -> None:
    rng = random.Random(10_000 + i)
    await asyncio.sleep(rng.uniform(0, ramp))
    async with session(base) as c:
        page = await req(c, "page", "GET", f"/invite/{token}")
        r = await req(c, "submit", "POST", f"/invite/{token}", data={"csrf": csrf(page.text), "username": f"juror{i:03d}"})
        home = await req(c, "page", "GET", r.headers["Location"])
        tok = csrf(home.text)
        await think(rng)
        r = await req(c, "submit", "POST", "/arena/battles", data={"csrf": tok, "prompt": f"question {i}: {uuid.uuid4()}"})
        bid = r.headers["Location"].rsplit("/", 1)[1]
        await req(c, "page", "GET", f"/arena/battles/{bid}")
        for side in ("a", "b"):
            await req(c, "model stream (stub)", "POST", f"/arena/battles/{bid}/answers/{side}", headers={"X-CSRF-Token": tok})
            await req(c, "fragment", "GET", f"/arena/battles/{bid}/answers/{side}")
        await think(rng)
        outcome = rng.choice(["a", "b", "tie", "bothbad"])
        r = await req(c, "submit", "POST", f"/arena/battles/{bid}/vote", data={"csrf": tok, "outcome": outcome},
                      headers={"HX-Request": "true"})  # fmt: skip
        if r.status == 200:
            voted[0] += 1


async def guarded(coro) -> None:
    try:
        await coro
    except Exception as e:  # noqa: BLE001 - a failed virtual person is an error in the report, not a crash
        errors.append(f"{type(e).__name__}: {e}")


async def run(base: str, raters: int, tokens: list[str], ramp: float) -> tuple[int, int, float]:
    submitted, voted = [0], [0]
    t = time.perf_counter()
    await asyncio.gather(*(guarded(rater(base, i, ramp, submitted)) for i in range(raters)),
                         *(guarded(juror(base, i, tok, ramp, voted)) for i, tok in enumerate(tokens)))  # fmt: skip
    return submitted[0], voted[0], time.perf_counter() - t


def count(db_url: str, table: type) -> int:
    e = create_engine(db_url)
    try:
        with e.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(table)) or 0)
    finally:
        e.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raters", type=int, default=49)
    ap.add_argument("--jurors", type=int, default=500)
    ap.add_argument("--ramp", type=float, default=60.0, help="seconds over which the virtual people start")
    ap.add_argument("--append", type=Path, default=None, help="append the result table to this Markdown file")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sovereval-load-"))
    db_url = f"sqlite:///{tmp / 'load.db'}"
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    tokens = prepare(db_url, args.raters, args.jurors)
    print(f"prepared {args.raters} raters and {len(tokens)} juror invitations in {time.perf_counter() - t0:.1f} s")
    server = Server(db_url, workers_env={"SOVEREVAL_WEB_SECRET": "bench", "SOVEREVAL_STUB_JURORS": "0"}).start()
    try:
        submitted, voted, wall = asyncio.run(run(server.base, args.raters, tokens, args.ramp))
    finally:
        tail = server.log_tail()
        server.stop()
    if tail.strip():
        print("server log (tail):\n" + tail)
    n_sites = 3
    want_ratings = args.raters * n_sites * len(CRITERIA)
    got_ratings, got_votes, turns = count(db_url, UserRating), count(db_url, ArenaVote), count(db_url, ChatTurn)
    rows = []
    for kind in ("page", "fragment", "submit", "login (scrypt)", "model stream (stub)"):
        xs = np.array(lat.get(kind, [0.0])) * 1000
        sv = np.array(server_ms.get(kind, [0.0]))
        rows.append((kind, len(lat.get(kind, [])), *np.percentile(xs, [50, 95, 99]), xs.max(),
                     *np.percentile(sv, [50, 99])))  # fmt: skip
    core = np.array(lat["page"] + lat["fragment"] + lat["submit"]) * 1000
    p99 = float(np.percentile(core, 99))
    requests = sum(len(v) for v in lat.values())
    lines = [
        (f"## Web load (benchmarks/bench_web_load.py) — {dt.date.today().isoformat()}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"),
        "",
        (f"{args.raters} expert users (3 chat sites each: conversation, streamed answer, rating; 20 % double-click the "
        f"rating) and {args.jurors} stratified jurors (invitation, battle, two streamed answers, vote), all started "
        f"within {args.ramp:.0f} s, think time {THINK[0]:g}-{THINK[1]:g} s; one uvicorn process, SQLite (WAL), model calls stubbed. "
        f"Load generator on the same machine, which other work shared (1-min load average {load_before:.1f} at the "
        f"start). {requests} requests in {wall:.1f} s."),
        "",
        "| request class | n | p50 ms | p95 ms | p99 ms | max ms | in-app p50 ms | in-app p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *[f"| {k} | {n} | {a:.1f} | {b:.1f} | {c:.1f} | {m:.1f} | {s50:.1f} | {s99:.1f} |"
          for k, n, a, b, c, m, s50, s99 in rows],
        "",
        ("Latency is measured by the client (request sent to response read); in-app is the app's own "
        "Server-Timing (request received to response head), so the difference is queueing in the server's "
        "event loop and the shared CPU."),
        "",
        (f"**p99 of pages, fragments and submissions (excluding model streams and password login): {p99:.1f} ms** "
        f"(goal <= 100 ms: {'met' if p99 <= 100 else 'NOT met'})."),
        "",
        f"Lost ratings: user ratings stored {got_ratings} / expected {want_ratings} "
        f"({submitted} rating submissions acknowledged); arena votes stored {got_votes} / acknowledged {voted} "
        f"/ jurors {args.jurors}; chat turns stored {turns}. HTTP errors: {len(errors)}"
        + (f" ({'; '.join(sorted(set(errors))[:5])})" if errors else "") + ".",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.append:
        with args.append.open("a", encoding="utf-8") as f:
            f.write("\n" + text)
    lost = (got_ratings != want_ratings) or (got_votes != voted) or voted != args.jurors
    return 1 if lost or errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
