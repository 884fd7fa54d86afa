"""The juror's arena: a prompt, two anonymous streamed answers, a vote, then the reveal."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from sovereval.arena.battles import Arena, ArenaError
from sovereval.bench.types import GenerationRequest, Message
from sovereval.web.guard import route, signed_in
from sovereval.web.pages import metered_stream, render

router = APIRouter()
JUROR = frozenset({"juror"})


def _arena(request: Request) -> Arena:
    arena = request.app.state.web.arena
    if arena is None:
        raise HTTPException(404, "the arena is not open (fewer than two models)")
    return arena


@route(router, "GET", "/arena", JUROR)
def arena_home(request: Request) -> HTMLResponse:
    _arena(request)
    return render(request, "arena.html", {})


@route(router, "POST", "/arena/battles", JUROR, bucket="model")
def new_battle(request: Request, prompt: Annotated[str, Form()]) -> Response:
    me = signed_in(request).account
    bid = _arena(request).new_battle(me.id, me.username, prompt)
    return RedirectResponse(f"/arena/battles/{quote(bid)}", status_code=303)


@route(router, "GET", "/arena/battles/{bid}", JUROR)
def battle_page(request: Request, bid: str) -> HTMLResponse:
    b = _arena(request).battle(bid, signed_in(request).account.id)
    reveal = _reveal(request, b.team_a, b.team_b) if b.voted else None
    return render(request, "battle.html", {"b": b, "reveal": reveal})


def _reveal(request: Request, team_a: str, team_b: str) -> dict[str, str]:
    state = request.app.state.web
    def name(t: str) -> str:
        models = state.scope.program.team(t).models
        return f"{state.scope.team_name(t)}" + (f" ({models[0].name})" if models else "")
    return {"a": name(team_a), "b": name(team_b)}


@route(router, "POST", "/arena/battles/{bid}/answers/{side}", JUROR, bucket="model")
async def stream_answer(request: Request, bid: str, side: str) -> Response:
    if side not in ("a", "b"):
        raise HTTPException(404, "no such side")
    arena = _arena(request)
    me = signed_in(request).account
    b = await run_in_threadpool(arena.battle, bid, me.id)
    if side in b.answers:
        raise ArenaError("this answer is complete")
    site = request.app.state.web.sites[b.team_a if side == "a" else b.team_b]
    req = GenerationRequest(messages=(Message(role="system", content=site.system_prompt),
                                      Message(role="user", content=b.prompt)), sampling=site.sampling)  # fmt: skip
    return metered_stream(site.backend, req, lambda meter: arena.save_answer(b, side, meter))


@route(router, "GET", "/arena/battles/{bid}/answers/{side}", JUROR)
def answer_fragment(request: Request, bid: str, side: str) -> HTMLResponse:
    b = _arena(request).battle(bid, signed_in(request).account.id)
    if side not in b.answers:
        raise HTTPException(404, "no answer yet")
    return render(request, "_answer.html", {"text": b.answers[side], "side": side})


@route(router, "POST", "/arena/battles/{bid}/vote", JUROR)
def vote(request: Request, bid: str, outcome: Annotated[str, Form()]) -> Response:
    me = signed_in(request).account
    result = _arena(request).vote(bid, me.id, me.username, outcome)
    reveal = _reveal(request, result.team_a, result.team_b)
    if "hx-request" in request.headers:
        return render(request, "_reveal.html", {"result": result, "reveal": reveal})
    return RedirectResponse(f"/arena/battles/{quote(bid)}", status_code=303)
