"""Browser tests: Playwright driving Debian's Chromium (``scripts/install-browser.sh``) against the app
served by uvicorn in-process, with a real embedded model (SmolLM2-135M via llama-cpp-python).

Missing Chromium, Playwright or llama-cpp-python skips these tests with the reason, except under
``CI=true``, where it fails them.  Screenshots go to ``tests/browser/artifacts/`` (git-ignored) or
``$SOVEREVAL_BROWSER_ARTIFACTS``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("SOVEREVAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(os.environ.get("SOVEREVAL_BROWSER_ARTIFACTS", Path(__file__).parent / "artifacts"))
MODEL = os.environ.get("SOVEREVAL_BROWSER_MODEL", "llama:smollm2-135m-instruct")


def _missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return f"Chromium not found at {CHROMIUM}: run scripts/install-browser.sh"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed: run scripts/install-browser.sh"
    if MODEL.startswith("llama:") and importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (the real model): run scripts/install-llama.sh"
    try:
        from sovereval.bench.models import resolve_model

        resolve_model(MODEL.partition(":")[2])
    except Exception as e:  # noqa: BLE001
        return f"model {MODEL} is not available: {e}"
    return None


def require_browser() -> None:
    reason = _missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true requires the browser tests to run)")
        pytest.skip(reason)


class LiveApp:
    """The app on a free port in a background thread (uvicorn), seeded with the demo accounts."""

    def __init__(self, db_url: str, config: Any) -> None:
        import socket

        import uvicorn

        from sovereval.web.app import create_app

        self.app = create_app(config)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    access_log=False))  # fmt: skip
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def state(self) -> Any:
        return self.app.state.web

    def start(self) -> LiveApp:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


# Module scope, not session: the sync Playwright loop counts as "running" on the main thread until it
# stops, so a session-scoped browser broke every later asyncio.run() (CI run of session 1).
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    require_browser()
    from sovereval.arena.abuse import Rules
    from sovereval.web.cli import make_config
    from sovereval.web.seed import DEMO_PROGRAM, seed_demo
    from sovereval.web.testing import GENEROUS

    db = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'web.db'}"
    config = replace(make_config(DEMO_PROGRAM, db, model=MODEL, max_tokens=24), limits=GENEROUS,
                     sheet_replicates=300, arena_rules=Rules(min_read_s=0.0))  # fmt: skip
    app = LiveApp(db, config).start()
    app.seeded = seed_demo(app.state)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield app
    app.stop()


@pytest.fixture
def page(browser: Any, live: LiveApp) -> Iterator[Any]:
    context = browser.new_context(base_url=live.base, viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(120_000)
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs  # type: ignore[attr-defined]
    yield pg
    context.close()


def shot(page: Any, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page: Any, username: str, password: str = "demo-password") -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
