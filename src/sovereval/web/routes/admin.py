"""The programme administrator: invitations, assignments, dossiers, panel lock, exports, sheet, arena."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sovereval.panel.reliability import reliability
from sovereval.panel.scores import export_ratings
from sovereval.store import ConflictError
from sovereval.web.accounts import ROLES
from sovereval.web.guard import route, signed_in
from sovereval.web.pages import render
from sovereval.web.userpanel import UserEvalError

router = APIRouter()
ADMIN = frozenset({"admin"})
PROFILE_FIELDS = ("gender", "region", "age", "proficiency")


def _back(anchor: str = "", note: str = "") -> RedirectResponse:
    return RedirectResponse(f"/admin?note={note}#{anchor}" if note else f"/admin#{anchor}", status_code=303)


def panel_overview(request: Request) -> dict:
    state = request.app.state.web
    book = state.book
    with state.db.read() as conn:
        scores = book.effective_scores(conn)
        assignments = state.assignments.list(conn)
        lock = book.lock_state(conn)
    items = book.items
    values = {(f"expert-{e}", f"{t}/{i}"): 100.0 * s.value / (items[i].max or 1.0)
              for (e, t, i), s in scores.items()}  # fmt: skip
    return {"assignments": assignments, "scores": scores, "lock": lock, "irr": reliability(values)}


@route(router, "GET", "/admin", ADMIN)
def dashboard(request: Request, note: str = "", invite: str = "") -> HTMLResponse:
    state = request.app.state.web
    ctx = {
        "note": note, "invite_url": f"{request.base_url}invite/{invite}" if invite else "",
        "accounts": state.accounts.all(), "roles": ROLES, "experts": state.accounts.all("expert"),
        "names": {a.id: a.username for a in state.accounts.all("expert")},
        "summary": state.users.summary(), "user_items": state.users.items, "sites": state.sites,
        "documents": {t: state.dossiers.documents(t) for t in state.scope.teams},
        "quota_fill": state.arena.quotas.fill([a.profile for a in state.accounts.all("juror")]) if state.arena else {},
    } | panel_overview(request)  # fmt: skip
    return render(request, "admin.html", ctx)


@route(router, "POST", "/admin/invitations", ADMIN)
def invite(request: Request, role: Annotated[str, Form()], note: Annotated[str, Form()] = "",
           gender: Annotated[str, Form()] = "", region: Annotated[str, Form()] = "",
           age: Annotated[str, Form()] = "", proficiency: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    state = request.app.state.web
    profile = {}
    if role == "juror":
        profile = {"gender": gender, "region": region, "age": age, "proficiency": proficiency}
        if state.arena is not None:
            bad = state.arena.quotas.check_profile(profile)
            if bad:
                raise UserEvalError(bad)
    token = state.accounts.invite(signed_in(request).account.username, role, note=note, profile=profile)  # type: ignore[arg-type]
    return RedirectResponse(f"/admin?invite={token}#invitations", status_code=303)


@route(router, "POST", "/admin/assignments", ADMIN)
def assign(request: Request, expert: Annotated[int, Form()], team: Annotated[str, Form()],
           active: Annotated[str, Form()] = "1") -> Response:  # fmt: skip
    state = request.app.state.web
    acc = state.accounts.by_id(expert)
    if acc is None or acc.role != "expert":
        raise UserEvalError("choose an expert account")
    state.assignments.assign(signed_in(request).account.username, expert, team, active == "1")
    return _back("panel")


@route(router, "POST", "/admin/conflicts", ADMIN)
def conflict(request: Request, expert: Annotated[int, Form()], team: Annotated[str, Form()],
             reason: Annotated[str, Form()]) -> Response:  # fmt: skip
    request.app.state.web.assignments.declare_conflict(signed_in(request).account.username, expert, team, reason)
    return _back("panel")


@route(router, "POST", "/admin/dossier", ADMIN)
async def upload(request: Request, team: Annotated[str, Form()], kind: Annotated[str, Form()],
                 file: Annotated[UploadFile, File()]) -> Response:  # fmt: skip
    from starlette.concurrency import run_in_threadpool

    content = await file.read()
    state = request.app.state.web
    await run_in_threadpool(state.dossiers.upload, signed_in(request).account.username, team, kind, file.filename or "", content)
    return _back("dossiers")


@route(router, "POST", "/admin/panel/lock", ADMIN)
def lock(request: Request, reason: Annotated[str, Form()] = "") -> Response:
    batch = request.app.state.web.book.lock(signed_in(request).account.username, reason)
    return _back("panel", f"panel locked; scores imported as input batch {batch}")


@route(router, "POST", "/admin/panel/unlock", ADMIN)
def unlock(request: Request, reason: Annotated[str, Form()] = "") -> Response:
    request.app.state.web.book.unlock(signed_in(request).account.username, reason)
    return _back("panel", "panel unlocked")


@route(router, "POST", "/admin/users/export", ADMIN)
def export_users(request: Request, reason: Annotated[str, Form()] = "") -> Response:
    state = request.app.state.web
    ratings = state.users.ratings()
    try:
        batch = export_ratings(state.db, state.scope, ratings, signed_in(request).account.username,
                               f"web:user-export:{state.scope.user_panel}", reason.strip() or None)  # fmt: skip
    except ConflictError as e:
        raise UserEvalError(f"{len(e.changed)} user rating(s) changed since the last export; give a reason") from e
    return _back("users", f"{len(ratings)} user ratings imported (input batch {batch})")


@route(router, "GET", "/admin/sheet", ADMIN)
def sheet(request: Request) -> HTMLResponse:
    state = request.app.state.web
    view = state.sheets.current(signed_in(request).account.username)
    return render(request, "sheet.html", {"view": view, "summary": state.users.summary()} | panel_overview(request))


@route(router, "GET", "/admin/arena", ADMIN)
def arena_board(request: Request, style: int = 0) -> HTMLResponse:
    state = request.app.state.web
    if state.arena is None:
        return render(request, "error.html", {"status": 404, "message": "no arena: fewer than two chat sites"},
                      status_code=404)  # fmt: skip
    board, filtered, weights = state.arena.leaderboard(replicates=state.config.arena_replicates, style_control=bool(style))
    names = {t: state.scope.team_name(t) for t in state.scope.teams}
    fill = state.arena.quotas.fill([a.profile for a in state.accounts.all("juror")])
    return render(request, "arena_admin.html", {"board": board, "filtered": filtered, "weights": weights,
                                                "names": names, "style": bool(style), "fill": fill})  # fmt: skip


@route(router, "GET", "/admin/audit", ADMIN)
def audit(request: Request, limit: int = 200) -> HTMLResponse:
    store = request.app.state.web.store
    events = store.audit_events()
    ok, message = store.verify_audit_chain()
    return render(request, "audit.html", {"events": events[-limit:][::-1], "total": len(events), "ok": ok,
                                          "message": message})  # fmt: skip
