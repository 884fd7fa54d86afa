"""Login, logout, invitations (public) and the role-based home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sovereval.web.accounts import Account
from sovereval.web.guard import ANY, PUBLIC, SESSION_COOKIE, Principal, principal, route
from sovereval.web.pages import render

router = APIRouter()
HOME = {"admin": "/admin", "expert": "/panel", "user": "/chat", "juror": "/arena"}


def _safe_next(nxt: str | None, account: Account) -> str:
    if nxt and nxt.startswith("/") and not nxt.startswith("//") and "\\" not in nxt:
        return nxt
    return HOME[account.role]


def _login_response(request: Request, account: Account, nxt: str | None) -> Response:
    state = request.app.state.web
    token = state.accounts.start_session(account)
    response = RedirectResponse(_safe_next(nxt, account), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=state.config.cookie_secure,
                        max_age=int(state.accounts.session_ttl.total_seconds()))  # fmt: skip
    return response


@route(router, "GET", "/", PUBLIC)
def home(request: Request) -> Response:
    p = principal(request)
    return RedirectResponse(HOME[p.account.role] if p else "/login", status_code=303)


@route(router, "GET", "/healthz", PUBLIC)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@route(router, "GET", "/login", PUBLIC)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", {"next": next or ""})


@route(router, "POST", "/login", PUBLIC, bucket="login")
def login(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()],
          next: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    account = request.app.state.web.accounts.authenticate(username, password)
    if account is None:
        return render(request, "login.html", {"next": next, "error": "wrong username or password"}, status_code=401)
    return _login_response(request, account, next)


@route(router, "POST", "/logout", ANY)
def logout(request: Request) -> Response:
    p: Principal | None = principal(request)
    if p is not None:
        request.app.state.web.accounts.end_session(p.session_id, p.account.username)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@route(router, "GET", "/invite/{token}", PUBLIC, bucket="login")
def invite_page(request: Request, token: str) -> HTMLResponse:
    inv = request.app.state.web.accounts.invitation(token)
    if inv is None or inv.used:
        return render(request, "error.html", {"status": 404, "message": "this invitation link is not valid or was used"},
                      status_code=404)  # fmt: skip
    return render(request, "invite.html", {"token": token, "invitation": inv})


@route(router, "POST", "/invite/{token}", PUBLIC, bucket="login")
def accept(request: Request, token: str, username: Annotated[str, Form()], display_name: Annotated[str, Form()] = "",
           password: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    state = request.app.state.web
    quota = state.arena.quota_check if state.arena is not None else None
    account = state.accounts.accept(token, username=username, display_name=display_name, password=password or None,
                                    quota_check=quota)  # fmt: skip
    return _login_response(request, account, None)
