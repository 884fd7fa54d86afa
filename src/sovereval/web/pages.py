"""Template rendering: every page gets the principal, its CSRF token and the programme scope."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

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
