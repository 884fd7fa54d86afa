"""Template rendering: every page gets the principal, its CSRF token and the programme scope; and the
streamed, metered answer of a model."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
from fastapi import Request
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from sovereval.bench.metering import Meter, metered
from sovereval.bench.types import Backend, GenerationRequest
from sovereval.web.accounts import ROLE_NAMES
from sovereval.web.guard import ANON_CSRF_COOKIE, principal
from sovereval.web.markdown import render as markdown

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
TEMPLATES.env.filters["markdown"] = markdown
TEMPLATES.env.filters["num"] = lambda x, d=2: "-" if x is None else f"{x:.{d}f}"
TEMPLATES.env.globals["ROLE_NAMES"] = ROLE_NAMES


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:  # fmt: skip
    p = principal(request)
    anon = request.cookies.get(ANON_CSRF_COOKIE) or secrets.token_urlsafe(24)
    ctx = {"me": p.account if p else None, "csrf": p.csrf if p else anon, "scope": request.app.state.web.scope}
    response = TEMPLATES.TemplateResponse(request, template, ctx | (context or {}), status_code=status_code,
                                          headers=headers)  # fmt: skip
    if p is None and not request.cookies.get(ANON_CSRF_COOKIE):
        response.set_cookie(ANON_CSRF_COOKIE, anon, httponly=True, samesite="strict",
                            secure=request.app.state.web.config.cookie_secure)  # fmt: skip
    return response


def metered_stream(backend: Backend, request: GenerationRequest, save: Callable[[Meter], object]) -> StreamingResponse:
    """The model's answer streamed as plain text, metered; ``save(meter)`` runs (in a worker thread) once it
    ends, also when the client goes away (a closed tab still records what was generated)."""
    meter = Meter()

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in metered(backend, request, meter):
                yield chunk.encode("utf-8")
        finally:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(save, meter)

    return StreamingResponse(body(), media_type="text/plain; charset=utf-8", headers={"X-Accel-Buffering": "no"})
