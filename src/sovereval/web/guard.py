"""Who may call what: every route declares its roles, and one dependency enforces, in order,
login -> role -> CSRF (state-changing methods) -> rate limit.

The declaration travels with the route (``openapi_extra["x-roles"]``) so the role-matrix test can
enumerate every route of the app and prove each refuses every other role.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request

from sovereval.errors import SovereValError
from sovereval.web.accounts import ROLES, Account
from sovereval.web.security import csrf_ok, csrf_token

SESSION_COOKIE = "sovereval_session"
ANON_CSRF_COOKIE = "sovereval_csrf"
PUBLIC = "public"
ANY = frozenset(ROLES)
Bucket = Literal["login", "write", "model"]


@dataclass(frozen=True)
class Principal:
    session_id: int
    account: Account
    token: str
    csrf: str


class LoginRequired(SovereValError):
    """Raised for anonymous requests to protected routes (GET: redirect to login; other: 401)."""


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def principal(request: Request) -> Principal | None:
    """The logged-in principal of this request, if any (looked up once per request)."""
    if "principal" in request.scope.get("state", {}):
        return request.state.principal
    state = request.app.state.web
    token = request.cookies.get(SESSION_COOKIE)
    found = state.accounts.session(token) if token else None
    p = None
    if found is not None and token:
        sid, account = found
        p = Principal(sid, account, token, csrf_token(state.secret, token))
    request.state.principal = p
    return p



def signed_in(request: Request) -> Principal:
    """The principal of a request a role guard let through (a guarded route always has one)."""
    p = principal(request)
    assert p is not None
    return p

async def _form_field(request: Request, name: str) -> str | None:
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(name)
        return value if isinstance(value, str) else None
    return None


def anon_csrf(request: Request) -> str:
    """The anonymous double-submit token (cookie value, set by the page that renders the form)."""
    return request.cookies.get(ANON_CSRF_COOKIE) or secrets.token_urlsafe(24)


def guard(roles: frozenset[str] | str, bucket: Bucket | None) -> Callable[..., Any]:
    async def dependency(request: Request) -> Principal | None:
        state = request.app.state.web
        unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
        if roles == PUBLIC:
            if unsafe:
                given = request.headers.get("x-csrf-token") or await _form_field(request, "csrf")
                cookie = request.cookies.get(ANON_CSRF_COOKIE)
                p = principal(request)
                anon_ok = bool(cookie and given and secrets.compare_digest(cookie, given))
                if not (anon_ok or (p is not None and csrf_ok(state.secret, p.token, given))):
                    raise HTTPException(403, "the form expired or did not come from this site; reload the page")
            if bucket is not None:
                _limit(state, bucket, "ip:" + client_key(request))
            return principal(request)
        p = principal(request)
        if p is None:
            raise LoginRequired()
        if p.account.role not in roles:
            raise HTTPException(403, f"this page is not open to a {p.account.role}")
        if unsafe:
            given = request.headers.get("x-csrf-token") or await _form_field(request, "csrf")
            if not csrf_ok(state.secret, p.token, given):
                raise HTTPException(403, "the form expired or did not come from this site; reload the page")
        if bucket is not None:
            _limit(state, bucket, f"account:{p.account.id}")
        return p

    return dependency


def _limit(state: Any, bucket: Bucket, key: str) -> None:
    wait = state.limiter.hit(bucket, key, getattr(state.config.limits, bucket))
    if wait > 0:
        raise HTTPException(429, f"too many requests; try again in {wait:.0f} s", headers={"Retry-After": str(int(wait) + 1)})


def route(router: APIRouter, method: str, path: str, roles: frozenset[str] | str, *,
          bucket: Bucket | None = None, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # fmt: skip
    """Register ``method path`` for ``roles`` (a set of roles, or PUBLIC); POSTs default to the write bucket."""
    if bucket is None and method != "GET" and roles != PUBLIC:
        bucket = "write"
    declared = sorted(roles) if roles != PUBLIC else [PUBLIC]
    extra = {"x-roles": declared}
    return router.api_route(path, methods=[method], dependencies=[Depends(guard(roles, bucket))],
                            openapi_extra=extra, **kw)  # fmt: skip
