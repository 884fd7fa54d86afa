"""The expert's pages: assignments and conflict declarations, a team's dossier and the rubric form."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sovereval.panel.assign import PanelError
from sovereval.web.guard import route, signed_in
from sovereval.web.pages import render

router = APIRouter()
EXPERT = frozenset({"expert"})


def next_submission() -> str:
    """An out-of-band swap giving the open form a fresh submission id: a later edit is a new submission,
    while a retry of the request just answered is still recognised as a duplicate."""
    return f'<input type="hidden" name="submission" id="submission" value="{uuid.uuid4()}" hx-swap-oob="true">'


@route(router, "GET", "/panel", EXPERT)
def my_panel(request: Request) -> HTMLResponse:
    state = request.app.state.web
    me = signed_in(request).account
    with state.db.read() as conn:
        assignments = state.assignments.list(conn, me.id)
        mine = state.book.current(conn, me.id)
        lock = state.book.lock_state(conn)
    done = {t for (_, t, _) in mine}
    return render(request, "panel.html", {"assignments": assignments, "done": done, "lock": lock})


@route(router, "POST", "/panel/conflicts", EXPERT)
def declare(request: Request, team: Annotated[str, Form()], reason: Annotated[str, Form()]) -> Response:
    me = signed_in(request).account
    request.app.state.web.assignments.declare_conflict(me.username, me.id, team, reason)
    return RedirectResponse("/panel", status_code=303)


def _assigned(request: Request, team: str) -> None:
    state = request.app.state.web
    me = signed_in(request).account
    with state.db.read() as conn:
        if not state.assignments.effective(conn, me.id, team):
            raise HTTPException(403, "you are not assigned to this team, or you are recused")


@route(router, "GET", "/panel/teams/{team}", EXPERT)
def team_page(request: Request, team: str, saved: int = 0) -> HTMLResponse:
    _assigned(request, team)
    state = request.app.state.web
    me = signed_in(request).account
    with state.db.read() as conn:
        lock = state.book.lock_state(conn)
        mine = {i: s for (_, t, i), s in state.book.current(conn, me.id).items() if t == team}
        # other experts' scores only after the panel is locked
        others = ({(e, i): s for (e, t, i), s in state.book.effective_scores(conn).items() if t == team and e != me.id}
                  if lock.locked else {})  # fmt: skip
    ctx = {"team": team, "team_name": state.scope.team_name(team), "dossier": state.dossiers.dossier(team),
           "items": list(state.book.items.values()), "mine": mine, "others": others, "lock": lock,
           "submission": str(uuid.uuid4()), "saved": saved}  # fmt: skip
    return render(request, "panel_team.html", ctx)


@route(router, "POST", "/panel/teams/{team}/scores", EXPERT)
async def submit(request: Request, team: str, submission: Annotated[str, Form()]) -> Response:
    from starlette.concurrency import run_in_threadpool

    state = request.app.state.web
    me = signed_in(request).account
    form = await request.form()
    values: dict[str, tuple[float, str]] = {}
    for item_id in state.book.items:
        raw = form.get(f"score_{item_id}")
        if raw is None or raw == "":
            raise PanelError(f"score every section (missing: {state.book.items[item_id].name or item_id})")
        try:
            value = float(str(raw))
        except ValueError:
            raise PanelError(f"{item_id}: {raw!r} is not a number") from None
        values[item_id] = (value, str(form.get(f"why_{item_id}") or ""))
    saved = await run_in_threadpool(state.book.submit, me.id, me.username, team, values, submission)
    if "hx-request" in request.headers:
        msg = "Already saved (duplicate submission ignored)." if saved.duplicate else "Scores saved."
        return HTMLResponse(f'<p class="ok" role="status">{msg}</p>' + next_submission())
    return RedirectResponse(f"/panel/teams/{quote(team)}?saved=1", status_code=303)


@route(router, "GET", "/panel/teams/{team}/documents/{doc_id}", EXPERT)
def document(request: Request, team: str, doc_id: int) -> Response:
    _assigned(request, team)
    found = request.app.state.web.dossiers.content(team, doc_id)
    if found is None:
        raise HTTPException(404, "no such document")
    doc, content = found
    if doc.media_type == "application/pdf":
        return Response(content, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{quote(doc.filename)}"'})  # fmt: skip
    return render(request, "document.html", {"team": team, "doc": doc, "text": content.decode("utf-8")})
