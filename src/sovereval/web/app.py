"""The FastAPI application factory: server-rendered pages (Jinja2, HTMX), streaming model answers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sovereval.arena.battles import ArenaError
from sovereval.panel.assign import PanelError
from sovereval.web.accounts import AccountError
from sovereval.web.config import WebConfig
from sovereval.web.guard import LoginRequired
from sovereval.web.pages import render
from sovereval.web.routes import admin, arena, auth, chat, panel
from sovereval.web.state import build_state
from sovereval.web.userpanel import UserEvalError

HERE = Path(__file__).resolve().parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)


class SecurityHeaders:
    """Pure ASGI middleware (streaming responses pass through untouched): CSP and friends on every response,
    and ``Server-Timing: app;dur=<ms>`` (time to the response head, measured inside the app)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                took = f"app;dur={(time.perf_counter() - started) * 1000:.2f}".encode()
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in present
                ] + [(b"server-timing", took)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(config: WebConfig) -> FastAPI:
    state = build_state(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # few worker threads: page handlers are short and share two cores and a small connection pool
        anyio.to_thread.current_default_thread_limiter().total_tokens = config.threads
        await state.attach_sites()
        try:
            yield
        finally:
            await state.detach_sites()
            state.close()

    app = FastAPI(title="sovereval web", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = state
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (auth, admin, panel, chat, arena):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if request.method == "GET" and "hx-request" not in request.headers:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return JSONResponse({"detail": "log in first"}, status_code=401)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return _problem(request, exc.status_code, str(exc.detail), exc.headers)

    for err in (AccountError, PanelError, UserEvalError, ArenaError):
        app.add_exception_handler(err, _domain_error)
    return app


async def _domain_error(request: Request, exc: Exception) -> Response:
    return _problem(request, 400, str(exc), None)


def _problem(request: Request, status: int, message: str, headers: dict[str, str] | None) -> Response:
    if "hx-request" in request.headers:
        return HTMLResponse(f'<p class="error" role="alert">{_esc(message)}</p>', status_code=status,
                            headers={**(headers or {}), "HX-Reswap": "innerHTML"})  # fmt: skip
    return render(request, "error.html", {"status": status, "message": message}, status_code=status,
                  headers=headers)  # fmt: skip


def _esc(s: str) -> str:
    from markupsafe import escape

    return str(escape(s))


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route of the app (FastAPI >= 0.160 wraps included routers; this walks into them)."""
    out: list[APIRoute] = []

    def walk(routes: list) -> None:
        for r in routes:
            if isinstance(r, APIRoute):
                out.append(r)
            elif hasattr(r, "original_router"):
                walk(r.original_router.routes)

    walk(app.routes)
    return out
