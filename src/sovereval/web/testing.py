"""Helpers shared by the web tests and the load benchmark: stub sites, login, CSRF scraping."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sovereval.web.config import WebConfig
from sovereval.web.security import Limit, RateLimits
from sovereval.web.seed import DEMO_PROGRAM
from sovereval.web.sites import Site, SiteFactory, blind_labels
from sovereval.web.stub import StubBackend

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
GENEROUS = RateLimits(login=Limit(10_000, 60), write=Limit(10_000, 60), model=Limit(10_000, 60))


def stub_sites(teams: Sequence[str], replies: dict[str, str] | None = None, delay_s: float = 0.0) -> SiteFactory:
    async def build() -> dict[str, Site]:
        labels = blind_labels(tuple(teams))
        return {
            t: Site(t, labels[t], StubBackend(f"stubmodel{i}", reply=(replies or {}).get(t, ""), delay_s=delay_s),
                    cost_per_mtok=0.1 * (i + 1), params_b=1.0 + i)
            for i, t in enumerate(teams)
        }  # fmt: skip

    return build


def stub_config(db_url: str, *, program: Path = DEMO_PROGRAM, replies: dict[str, str] | None = None,
                limits: RateLimits = GENEROUS, **kw: Any) -> WebConfig:  # fmt: skip
    return WebConfig(program_path=program, db_url=db_url, secret=b"test-secret", limits=limits,
                     sites=stub_sites(("alpha", "beta", "gamma"), replies), sheet_replicates=200,
                     arena_replicates=50, **kw)  # fmt: skip


def csrf_from(html: str) -> str:
    m = CSRF.search(html)
    if not m:
        raise AssertionError("no CSRF token in the page")
    return m.group(1)


def login(client: Any, username: str, password: str) -> str:
    """Log ``client`` in; return the session's CSRF token."""
    page = client.get("/login")
    token = csrf_from(page.text)
    r = client.post("/login", data={"username": username, "password": password, "csrf": token},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, (r.status_code, r.text[:500])
    home = client.get(r.headers["location"])
    return csrf_from(home.text)


class Env:
    """An app on a fresh SQLite store, seeded with the demo accounts, and a client factory."""

    def __init__(self, db_url: str, **kw: Any) -> None:
        from fastapi.testclient import TestClient

        from sovereval.web.app import create_app
        from sovereval.web.seed import seed_demo

        self.app = create_app(stub_config(db_url, **kw))
        self._client_cls = TestClient
        self.main = TestClient(self.app)
        self.main.__enter__()  # runs the lifespan: opens the sites
        self.state = self.app.state.web
        self.seeded = seed_demo(self.state)
        self.password = self.seeded.password

    def client(self, username: str | None = None) -> tuple[Any, str]:
        """A new client (own cookies), logged in as ``username`` when given; returns (client, csrf)."""
        c = self._client_cls(self.app)
        if username is None:
            return c, csrf_from(c.get("/login").text)
        return c, login(c, username, self.password)

    def labels(self) -> dict[str, str]:
        return {t: s.label for t, s in self.state.sites.items()}

    def close(self) -> None:
        self.main.__exit__(None, None, None)


def stub_app() -> Any:
    """``uvicorn --factory sovereval.web.testing:stub_app``: the demo programme with stub models on
    ``$SOVEREVAL_DB`` (seeded).  For the no-lost-rating tests and the load benchmark only."""
    import os

    from sovereval.web.app import create_app
    from sovereval.web.state import build_state

    url = os.environ["SOVEREVAL_DB"]
    state = build_state(stub_config(url))
    try:
        from sovereval.web.seed import seed_demo

        seed_demo(state, juror_links=0, jurors=int(os.environ.get("SOVEREVAL_STUB_JURORS", "2")))
    finally:
        state.close()
    return create_app(stub_config(url))


class Server:
    """A real uvicorn process serving :func:`stub_app` (start, kill, restart) for end-to-end tests."""

    def __init__(self, db_url: str, port: int | None = None, workers_env: dict[str, str] | None = None) -> None:
        import socket

        self.db_url = db_url
        if port is None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.env = workers_env or {}
        self.proc: Any = None

    def start(self, timeout_s: float = 60.0) -> Server:
        import os
        import subprocess
        import sys
        import tempfile
        import time
        import urllib.request

        env = os.environ | {"SOVEREVAL_DB": self.db_url} | self.env
        self.log = tempfile.NamedTemporaryFile(prefix="sovereval-server-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "sovereval.web.testing:stub_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log", "--timeout-keep-alive", "30"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def log_tail(self, n: int = 3000) -> str:
        from pathlib import Path

        return Path(self.log.name).read_text(errors="replace")[-n:] if getattr(self, "log", None) else ""

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:  # noqa: BLE001
                self.proc.kill()
        self.proc = None
