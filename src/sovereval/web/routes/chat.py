"""The expert user's chat sites: blind labels, streamed answers (measured), ratings per criterion."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from sovereval.bench.types import GenerationRequest, Message
from sovereval.web.guard import route, signed_in
from sovereval.web.pages import metered_stream, render
from sovereval.web.routes.panel import next_submission
from sovereval.web.userpanel import HISTORY_TURNS, MAX_PROMPT, UserEvalError

router = APIRouter()
USER = frozenset({"user"})


@route(router, "GET", "/chat", USER)
def sites(request: Request) -> HTMLResponse:
    users = request.app.state.web.users
    labels = sorted(s.label for s in users.sites.values())
    return render(request, "chat_list.html", {"labels": labels})


@route(router, "GET", "/chat/{label}", USER)
def site_page(request: Request, label: str, c: str = "") -> HTMLResponse:
    users = request.app.state.web.users
    site = users.site(label)
    me = signed_in(request).account
    convs = users.conversations(me.id, site.team)
    conv = users.conversation(c, me.id) if c else None
    if conv is not None and conv.team != site.team:
        raise UserEvalError("no such conversation")
    turns = users.turns(conv.id) if conv else []
    rated = users.my_rating(conv) if conv else {}
    return render(request, "chat.html", {
        "site": site, "label": label, "conversations": convs, "conv": conv, "turns": turns, "rated": rated,
        "items": list(users.items.values()), "submission": str(uuid.uuid4()),
    })  # fmt: skip


@route(router, "POST", "/chat/{label}/conversations", USER)
def new_conversation(request: Request, label: str) -> Response:
    users = request.app.state.web.users
    site = users.site(label)
    me = signed_in(request).account
    cid = users.new_conversation(me.id, me.username, site.team)
    return RedirectResponse(f"/chat/{quote(label)}?c={cid}", status_code=303)


@route(router, "GET", "/chat/{label}/conversations/{cid}/turns", USER)
def turns_fragment(request: Request, label: str, cid: str) -> HTMLResponse:
    users = request.app.state.web.users
    site = users.site(label)
    conv = users.conversation(cid, signed_in(request).account.id)
    if conv.team != site.team:
        raise UserEvalError("no such conversation")
    return render(request, "_turns.html", {"turns": users.turns(conv.id)})


@route(router, "POST", "/chat/{label}/turns", USER, bucket="model")
async def turn(request: Request, label: str, c: Annotated[str, Form()], prompt: Annotated[str, Form()]) -> Response:
    users = request.app.state.web.users
    site = users.site(label)
    me = signed_in(request).account
    prompt = prompt.strip()
    if not prompt:
        raise UserEvalError("write a prompt first")
    if len(prompt) > MAX_PROMPT:
        raise UserEvalError(f"the prompt is longer than {MAX_PROMPT} characters")
    conv = await run_in_threadpool(users.conversation, c, me.id)
    if conv.team != site.team:
        raise UserEvalError("no such conversation")
    history = (await run_in_threadpool(users.turns, conv.id))[-HISTORY_TURNS:]
    messages = [Message(role="system", content=site.system_prompt)]
    for t in history:
        messages += [Message(role="user", content=t.prompt), Message(role="assistant", content=t.answer)]
    messages.append(Message(role="user", content=prompt))
    req = GenerationRequest(messages=tuple(messages), sampling=site.sampling)
    return metered_stream(site.backend, req, lambda meter: users.save_turn(conv, me.username, prompt, meter))


@route(router, "POST", "/chat/{label}/ratings", USER)
async def rate(request: Request, label: str, c: Annotated[str, Form()], submission: Annotated[str, Form()],
               comment: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    users = request.app.state.web.users
    site = users.site(label)
    me = signed_in(request).account
    conv = await run_in_threadpool(users.conversation, c, me.id)
    if conv.team != site.team:
        raise UserEvalError("no such conversation")
    form = await request.form()
    values: dict[str, float] = {}
    for item_id in users.items:
        raw = form.get(f"rate_{item_id}")
        if raw is None or raw == "":
            continue
        try:
            values[item_id] = float(str(raw))
        except ValueError:
            raise UserEvalError(f"{item_id}: {raw!r} is not a number") from None
    written = await run_in_threadpool(users.rate, conv, me.username, values, comment, submission)
    if "hx-request" in request.headers:
        msg = "Rating saved." if written else "Already saved (duplicate submission ignored)."
        return HTMLResponse(f'<p class="ok" role="status" id="rating-status">{msg}</p>' + next_submission())
    return RedirectResponse(f"/chat/{quote(label)}?c={conv.public_id}&rated=1", status_code=303)
