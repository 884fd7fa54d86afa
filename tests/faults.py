"""A fault-injecting OpenAI-compatible stub server for backend tests (and client benchmarks).

It answers ``/v1/chat/completions``, ``/v1/completions``, ``/v1/models`` and ``/health`` instantly with
OpenAI-shaped JSON (streaming included).  Answers echo the prompt (``"echo: <last user message>"``) so
tests can check that each response belongs to its own request.  Faults are queued with
:meth:`FaultServer.script`; each request consumes one, then the server answers normally again:

``rate_limit``  429 with ``Retry-After``       ``server_error``  500      ``unavailable``  503
``hang``        sleeps ``hang_s`` before answering                      ``bad_request``  400
``drop``        closes the connection (mid-stream for streaming requests, before any byte otherwise)
``truncate``    streaming: ends the stream cleanly but without ``data: [DONE]``
``malformed``   body that is not JSON                                   ``missing``      JSON without ``choices``

Log-probabilities on ``/v1/completions`` with ``echo`` follow ``echo_style``: ``"vllm"`` (prompt tokens
with ``token_logprobs``/``text_offset``, the first one ``None``), ``"llama-server"`` (echo ignored: only
the generated token, chat-style ``logprobs.content``) or ``"shifted"`` (llama-cpp-python's off-by-one:
the first prompt token has a log-probability).  Tokens are whitespace-led words; a token's log-prob is
``-0.25 * len(token)``, and the top-1 alternative equals the token when it is at most 3 characters long.

The server runs on its own event loop in a daemon thread, so sync and async tests can both use it.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections import deque
from typing import Any, Self

from aiohttp import web

FAULTS = ("rate_limit", "server_error", "unavailable", "hang", "bad_request", "drop", "truncate",
          "malformed", "missing")
MODEL_ID = "stub-model"


def stub_tokens(text: str) -> list[str]:
    """The stub's tokenizer: whitespace-led words, so ``"".join(stub_tokens(t)) == t``."""
    return re.findall(r"\s*\S+|\s+$", text)


def stub_logprob(token: str) -> float:
    return -0.25 * len(token)


class FaultServer:
    def __init__(self, *, retry_after: str = "2", hang_s: float = 30.0, echo_style: str = "vllm",
                 reply: str | None = None, reasoning_content: str | None = None,
                 tool_calls: list[dict[str, Any]] | None = None, chunk_chars: int = 3) -> None:
        self.retry_after = retry_after
        self.hang_s = hang_s
        self.echo_style = echo_style
        self.reply = reply
        self.reasoning_content = reasoning_content
        self.tool_calls = tool_calls
        self.chunk_chars = chunk_chars
        self.requests: list[dict[str, Any]] = []
        self.record = True
        self._faults: deque[str] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- control ---------------------------------------------------------------------------------
    def script(self, *faults: str) -> None:
        for fault in faults:
            if fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}; choose from {FAULTS}")
        with self._lock:
            self._faults.extend(faults)

    def _next_fault(self) -> str | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, port: int = 0) -> Self:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def boot() -> None:
            app = web.Application()
            app.router.add_get("/health", self._health)
            app.router.add_get("/v1/models", self._models)
            app.router.add_post("/v1/chat/completions", self._chat)
            app.router.add_post("/v1/completions", self._completions)
            self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
            await self._runner.setup()
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            self.port = sock.getsockname()[1]
            await web.SockSite(self._runner, sock, backlog=1024).start()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(boot())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fault-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fault server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- handlers --------------------------------------------------------------------------------
    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": MODEL_ID, "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        users = [m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user"]
        content = self.reply if self.reply is not None else f"echo: {users[-1] if users else ''}"
        return await self._answer(request, body, content, chat=True)

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        prompt = body.get("prompt", "")
        content = self.reply if self.reply is not None else f"echo: {prompt}"
        return await self._answer(request, body, content, chat=False)

    async def _answer(self, request: web.Request, body: dict[str, Any], content: str,
                      *, chat: bool) -> web.StreamResponse:
        if self.record:
            with self._lock:
                self.requests.append(body)
        fault = self._next_fault()
        stream = bool(body.get("stream"))
        if fault == "rate_limit":
            return web.json_response({"error": {"message": "slow down"}}, status=429,
                                     headers={"Retry-After": self.retry_after})
        if fault in ("server_error", "unavailable"):
            status = 500 if fault == "server_error" else 503
            return web.json_response({"error": {"message": fault}}, status=status)
        if fault == "bad_request":
            return web.json_response({"error": {"message": "bad request: unknown field"}}, status=400)
        if fault == "hang":
            await asyncio.sleep(self.hang_s)
        if fault == "malformed":
            return web.Response(text='{"choices": [ this is not json', content_type="application/json")
        if fault == "missing":
            return web.json_response({"id": "x", "object": "chat.completion", "created": 0})
        if fault == "drop" and not stream:
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if stream:
            return await self._stream(request, body, content, chat=chat, fault=fault)
        return web.json_response(self._full(body, content, chat=chat))

    def _usage(self, body: dict[str, Any], content: str) -> dict[str, int]:
        prompt = body.get("prompt") or " ".join(str(m.get("content")) for m in body.get("messages", []))
        p, c = len(stub_tokens(prompt)), len(stub_tokens(content))
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

    def _full(self, body: dict[str, Any], content: str, *, chat: bool) -> dict[str, Any]:
        base = {"id": "cmpl-stub", "created": int(time.time()), "model": MODEL_ID,
                "usage": self._usage(body, content)}
        if chat:
            message: dict[str, Any] = {"role": "assistant", "content": content}
            finish = "stop"
            if self.reasoning_content is not None:
                message["reasoning_content"] = self.reasoning_content
            if body.get("tools") and self.tool_calls is not None:
                message["content"] = None
                message["tool_calls"] = self.tool_calls
                finish = "tool_calls"
            return {**base, "object": "chat.completion",
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
        choice: dict[str, Any] = {"index": 0, "text": content, "finish_reason": "stop", "logprobs": None}
        if body.get("logprobs") is not None:
            choice.update(self._logprobs(body, content))
        return {**base, "object": "text_completion", "choices": [choice]}

    def _logprobs(self, body: dict[str, Any], content: str) -> dict[str, Any]:
        prompt = str(body.get("prompt", ""))
        generated = stub_tokens(content)[:1] or ["x"]
        if self.echo_style == "llama-server" or not body.get("echo"):
            g = generated[0]
            return {"text": g, "logprobs": {"content": [
                {"token": g, "logprob": stub_logprob(g), "top_logprobs": [{"token": g, "logprob": -0.1}]}]}}
        toks = stub_tokens(prompt) + generated
        lps: list[float | None] = [stub_logprob(t) for t in toks]
        if self.echo_style == "vllm":
            lps[0] = None
        offsets, pos = [], 0
        for t in toks:
            offsets.append(pos)
            pos += len(t)
        top: list[dict[str, float] | None] = [
            {t: stub_logprob(t)} if len(t) <= 3 else {"<other>": -0.01} for t in toks]
        if self.echo_style == "vllm":
            top[0] = None
        return {"text": prompt + generated[0],
                "logprobs": {"tokens": toks, "token_logprobs": lps, "text_offset": offsets, "top_logprobs": top}}

    async def _stream(self, request: web.Request, body: dict[str, Any], content: str,
                      *, chat: bool, fault: str | None) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)

        def event(payload: dict[str, Any]) -> bytes:
            return f"data: {json.dumps(payload)}\n\n".encode()

        def chunk(delta: dict[str, Any] | None, text: str, finish: str | None = None) -> dict[str, Any]:
            if chat:
                choice: dict[str, Any] = {"index": 0, "delta": delta or {}, "finish_reason": finish}
                return {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "model": MODEL_ID,
                        "choices": [choice]}
            return {"id": "cmpl-stub", "object": "text_completion", "model": MODEL_ID,
                    "choices": [{"index": 0, "text": text, "finish_reason": finish}]}

        n = max(1, self.chunk_chars)
        if chat and self.reasoning_content:
            r = self.reasoning_content
            for i in range(0, len(r), n):
                await resp.write(event(chunk({"reasoning_content": r[i:i + n]}, "")))
        pieces = [content[i:i + n] for i in range(0, len(content), n)]
        for k, piece in enumerate(pieces):
            await resp.write(event(chunk({"content": piece}, piece)))
            if fault == "drop" and k >= min(1, len(pieces) - 1):
                assert request.transport is not None
                request.transport.close()
                return resp
        if fault == "truncate":
            await resp.write_eof()
            return resp
        final = chunk({}, "", "stop")
        final["usage"] = self._usage(body, content)
        await resp.write(event(final))
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


if __name__ == "__main__":  # pragma: no cover - `python tests/faults.py [port]` for client benchmarks
    import sys

    srv = FaultServer()
    srv.record = False
    srv.start(int(sys.argv[1]) if len(sys.argv) > 1 else 8799)
    print(f"fault server on {srv.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()
