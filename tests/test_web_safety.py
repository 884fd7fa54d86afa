"""Safety of the page and of the data: model output is sanitised Markdown, and no rating is ever
lost - concurrent submissions, double submits, and a server killed (SIGKILL) and restarted in the
middle of a session, all against a real uvicorn process."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from sovereval.store.web_schema import PanelScore, UserRating
from sovereval.web.markdown import render
from sovereval.web.testing import Env, Server, csrf_from

XSS = [
    "<script>window.__xss = 1</script>",
    "<img src=x onerror=\"window.__xss=1\">",
    "[click](javascript:window.__xss=1)",
    "<a href=\"javascript:alert(1)\">a</a>",
    "<svg onload=alert(1)>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "![x](https://evil.example/p.png \"t\")",
    "<details open ontoggle=alert(1)>",
    "`<script>`",
    "<style>body{display:none}</style>",
]


@pytest.mark.parametrize("payload", XSS)
def test_markdown_is_sanitised(payload: str) -> None:
    html = str(render(payload))
    low = html.lower()
    assert "<script" not in low and "<img" not in low and "<svg" not in low and "<iframe" not in low
    assert "onerror" not in low.replace("&quot;", "") or "&lt;" in low
    assert not re.search(r"<a\s[^>]*href=\"javascript", low) and "<style" not in low and "<details" not in low


def test_markdown_keeps_formatting() -> None:
    html = str(render("# T\n\n**b** and `c`\n\n- x\n- y\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[ok](https://ok.example)"))
    for tag in ("<h1>", "<strong>", "<code>", "<ul>", "<table>", 'href="https://ok.example"', "noopener"):
        assert tag in html


def test_model_answer_is_rendered_sanitised(tmp_path: Path) -> None:
    e = Env(f"sqlite:///{tmp_path / 'w.db'}", replies={"alpha": "Hi <script>window.__xss=1</script> **bold**"})
    try:
        c, csrf = e.client("user1")
        label = e.labels()["alpha"]
        cid = c.post(f"/chat/{label}/conversations", data={"csrf": csrf}, follow_redirects=False).headers["location"]
        cid = cid.split("c=")[1]
        streamed = c.post(f"/chat/{label}/turns", data={"csrf": csrf, "c": cid, "prompt": "hi"})
        assert streamed.headers["content-type"].startswith("text/plain")  # raw text never parsed as HTML
        frag = c.get(f"/chat/{label}/conversations/{cid}/turns").text
        assert "<script>" not in frag and "&lt;script&gt;" in frag and "<strong>bold</strong>" in frag
        assert re.search(r"time to first token [0-9.]+ s", frag)
    finally:
        e.close()


# -- no lost ratings against a real server ----------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(f"sqlite:///{tmp_path / 'live.db'}").start()
    yield s
    s.stop()


def _login(base: str, username: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=base, timeout=30, follow_redirects=True)
    token = csrf_from(c.get("/login").text)
    r = c.post("/login", data={"username": username, "password": "demo-password", "csrf": token})
    assert r.status_code == 200 and "/login" not in str(r.url), r.text[:300]
    return c, csrf_from(r.text)


def _count(db_url: str, table: type) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(table)) or 0)
    finally:
        engine.dispose()


def _conversation(c: httpx.Client, csrf: str, label: str) -> str:
    r = c.post(f"/chat/{label}/conversations", data={"csrf": csrf})
    cid = str(r.url).split("c=")[1]
    r = c.post(f"/chat/{label}/turns", data={"csrf": csrf, "c": cid, "prompt": "hello"})
    assert r.status_code == 200 and r.text
    return cid


def _labels(c: httpx.Client) -> list[str]:
    return re.findall(r'href="/chat/([^"?]+)" data-testid="site"', c.get("/chat").text)


@pytest.mark.slow
def test_concurrent_and_double_submits_lose_nothing(server: Server) -> None:
    users = [_login(server.base, f"user{i}") for i in (1, 2, 3)]
    labels = _labels(users[0][0])
    jobs = []
    for c, csrf in users:
        for label in labels:
            for _ in range(4):
                cid = _conversation(c, csrf, label)
                sub = str(uuid.uuid4())
                form = {"csrf": csrf, "c": cid, "submission": sub, "comment": "concurrent"}
                form |= {f"rate_{k}": "5" for k in ("usability", "quality", "speed", "cost_efficiency")}
                jobs += [(c, label, form)] * 3  # every submission sent three times at once
    experts = [_login(server.base, f"expert{i}") for i in (1, 2, 3, 4)]
    for c, csrf in experts:
        for team in ("alpha", "beta", "gamma"):
            form = {"csrf": csrf, "submission": str(uuid.uuid4())}
            for k, mx in (("strategy_technology", 14), ("results_plans", 10.5), ("impact_contribution", 10.5)):
                form |= {f"score_{k}": str(mx / 2), f"why_{k}": "fine"}
            jobs += [(c, f"__panel__{team}", form)] * 2

    def send(job: tuple) -> int:
        c, target, form = job
        url = f"/panel/teams/{target[9:]}/scores" if target.startswith("__panel__") else f"/chat/{target}/ratings"
        return c.post(url, data=form, headers={"HX-Request": "true"}).status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        codes = list(pool.map(send, jobs))
    assert set(codes) == {200}, codes
    n_conv = 3 * len(labels) * 4
    assert _count(server.db_url, UserRating) == n_conv * 4  # one row per criterion per submission, no more
    assert _count(server.db_url, PanelScore) == 4 * 3 * 3


@pytest.mark.slow
def test_server_killed_mid_session_loses_nothing(server: Server) -> None:
    c, csrf = _login(server.base, "user2")
    label = _labels(c)[0]
    cid = _conversation(c, csrf, label)
    page = c.get(f"/chat/{label}?c={cid}").text
    submission = re.search(r'id="submission" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    server.kill()  # crash: the user's form is still open in the browser
    server.start()
    form = {"csrf": csrf, "c": cid, "submission": submission, "comment": "after restart"}
    form |= {f"rate_{k}": "6" for k in ("usability", "quality", "speed", "cost_efficiency")}
    r = c.post(f"/chat/{label}/ratings", data=form, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Rating saved" in r.text  # same session, same CSRF token, same form
    # the restart also kept the conversation and its measured turn
    page = c.get(f"/chat/{label}?c={cid}").text
    assert "time to first token" in page and "You rated this conversation" in page
    # a retry of that submission after yet another crash is recognised as a duplicate
    server.kill()
    server.start()
    r = c.post(f"/chat/{label}/ratings", data=form, headers={"HX-Request": "true"})
    assert "duplicate" in r.text
    assert _count(server.db_url, UserRating) == 4
