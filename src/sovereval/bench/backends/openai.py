"""Any OpenAI-compatible server (vLLM, SGLang, TGI, llama-server) over HTTP.

Client choice, by measurement (2026-11-22, this 2-core machine, client and the instantly answering stub
server of ``tests/faults.py`` in separate processes, two llama.cpp source builds running beside them;
2,000 chat requests per run, two runs each, requests/s)::

    in flight     aiohttp 3.14 ClientSession     httpx 0.28 AsyncClient (pool 512)
    16            2,136 / 2,502                  244 / 235
    64            1,550 / 1,534                  198 / 174
    128           2,079 / 1,888                  259 / 258

aiohttp is 8-10x faster here (runtime-notes measured 6-9k vs 0.2-0.5k req/s on an idle machine), so this
backend uses one shared ``aiohttp.ClientSession`` whose connector holds up to ``max_connections``
(default 1024) keep-alive connections.  The session has **no** overall timeout: each request carries its
own (``timeout_s``; for streams also ``idle_timeout_s`` between chunks), so a slow request never cancels
the others in flight.

Failures are raised as :class:`BackendError` with a kind the runner uses to decide on retries:
429 → ``rate_limit`` (with ``Retry-After``), 5xx → ``server``, timeouts (and 408) → ``timeout``, connection
refused/reset or a stream that ends without ``data: [DONE]`` → ``dropped``, other 4xx → ``client``,
unparseable JSON or missing fields → ``invalid`` (the message names the field).

Log-likelihood is computed only from prompt log-probabilities the server really returns
(``/v1/completions`` with ``echo`` + ``logprobs``: ``token_logprobs`` and ``text_offset`` over the prompt,
as vLLM does).  Servers that ignore ``echo`` (llama-server answers with the generated token's log-prob
only) or whose echoed values are shifted by one (llama-cpp-python: the first prompt token gets a value,
though nothing predicts it) raise :class:`LoglikUnsupported`; nothing is ever scored from them.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, NoReturn, Self
from urllib.parse import urlsplit

import aiohttp

from sovereval.bench.backends.reasoning import AnswerStream, split_reasoning
from sovereval.bench.types import (
    BackendError,
    Generation,
    GenerationRequest,
    Loglik,
    LoglikRequest,
    LoglikUnsupported,
    Message,
    ModelIdentity,
)

__all__ = ["OpenAIBackend", "normalize_base_url"]


def normalize_base_url(url: str) -> str:
    """``http://host:port`` → ``http://host:port/v1``; a URL with a path is kept as given (no trailing /)."""
    url = url.rstrip("/")
    return url + "/v1" if urlsplit(url).path in ("", "/") else url


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _status_error(status: int, body: bytes, headers: Any) -> BackendError:
    text = body[:300].decode("utf-8", "replace").strip()
    msg = f"HTTP {status}: {text}" if text else f"HTTP {status}"
    retry_after = _retry_after(headers.get("Retry-After")) if headers is not None else None
    if status == 429:
        return BackendError(msg, kind="rate_limit", status=status, retry_after=retry_after)
    if status == 408:
        return BackendError(msg, kind="timeout", status=status)
    if status >= 500:
        return BackendError(msg, kind="server", status=status, retry_after=retry_after)
    return BackendError(msg, kind="client", status=status)


def _transport_error(exc: BaseException, what: str) -> BackendError:
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return BackendError(f"{what}: timed out", kind="timeout")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return BackendError(f"{what}: cannot connect ({exc})", kind="dropped")
    return BackendError(f"{what}: connection lost ({type(exc).__name__}: {exc})", kind="dropped")


def _get(obj: Any, key: str | int, where: str, typ: type | tuple[type, ...] = object) -> Any:
    """``obj[key]`` with a type check; a missing or mistyped field raises ``invalid`` naming the path."""
    path = f"{where}[{key}]" if isinstance(key, int) else (f"{where}.{key}" if where else key)
    try:
        value = obj[key]
    except (KeyError, IndexError, TypeError):
        raise BackendError(f"response lacks field {path!r}", kind="invalid") from None
    if not isinstance(value, typ):
        raise BackendError(f"response field {path!r} has type {type(value).__name__}", kind="invalid")
    return value


def _message_json(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.name is not None:
        out["name"] = m.name
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    if m.tool_calls:
        out["tool_calls"] = list(m.tool_calls)
    return out


def _int_or_none(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


async def _lines(content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """Lines of a response body, without aiohttp's 64 KiB line limit (a long tool call or final chunk)."""
    buf = b""
    async for chunk in content.iter_any():
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            yield line
    if buf:
        yield buf


class OpenAIBackend:
    """One model on one OpenAI-compatible server.  Create with :meth:`connect` (asks ``/v1/models``).

    ``think=True`` declares a reasoning model: stop strings are then applied only to the answer after
    the reasoning is removed, never sent to the server (which would stop inside the reasoning).  Without
    it, stops go to the server too (so generation ends early) and are re-applied after stripping.
    """

    def __init__(self, base_url: str, model: str, *, identity: ModelIdentity | None = None,
                 revision: str | None = None, weights_sha256: str | None = None, api_key: str | None = None,
                 timeout_s: float = 600.0, connect_timeout_s: float = 30.0, idle_timeout_s: float = 300.0,
                 max_connections: int = 1024, think: bool = False,
                 extra_body: dict[str, Any] | None = None) -> None:
        self.base_url = normalize_base_url(base_url)
        self.endpoint = self.base_url
        self.model = model
        self.identity = identity or ModelIdentity(name=model, server_model_id=model, revision=revision,
                                                  weights_sha256=weights_sha256)
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.max_connections = max_connections
        self.think = think
        self.extra_body = dict(extra_body or {})
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self._loglik_refusal: str | None = None

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    async def connect(cls, base_url: str, *, model: str | None = None, revision: str | None = None,
                      weights_sha256: str | None = None, name: str | None = None,
                      **kwargs: Any) -> OpenAIBackend:
        """Ask the server which model it serves; identity = that id + ``revision`` (or a weights hash)."""
        backend = cls(base_url, model or "", **kwargs)
        try:
            served = await backend.models()
            if model is None:
                if len(served) != 1:
                    raise BackendError(f"server at {backend.base_url} serves {served}; name one with model=",
                                       kind="client")
                model = served[0]
            elif model not in served:
                raise BackendError(f"server at {backend.base_url} does not serve {model!r} (it serves {served})",
                                   kind="client")
        except BaseException:
            await backend.aclose()
            raise
        backend.model = model
        backend.identity = ModelIdentity(name=name or model, server_model_id=model, revision=revision,
                                         weights_sha256=weights_sha256)
        return backend

    # -- session ---------------------------------------------------------------------------------
    def _client(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            # Idle pooled connections are dropped after 3 s, before servers close them (llama-server: 5 s).
            connector = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0, keepalive_timeout=3)
            # No session-wide timeout: every request passes its own (a shared one cancels requests in flight).
            self._session = aiohttp.ClientSession(connector=connector, headers=self._headers,
                                                  timeout=aiohttp.ClientTimeout(total=None))
            self._session_loop = loop
        return self._session

    def _timeout(self, *, stream: bool = False) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.timeout_s, sock_connect=self.connect_timeout_s,
                                     sock_read=self.idle_timeout_s if stream else None)

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- HTTP ------------------------------------------------------------------------------------
    async def _send(self, method: str, url: str, payload: dict[str, Any] | None,
                    timeout: aiohttp.ClientTimeout) -> aiohttp.ClientResponse:
        """Send and wait for the response headers.  A connection that dies before any response came back
        is retried once at once: it is almost always a pooled keep-alive connection the server had just
        closed (llama-server and uvicorn close idle ones after 5 s).  A second failure is ``dropped``."""
        for attempt in (0, 1):
            try:
                return await self._client().request(method, url, json=payload, timeout=timeout)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as e:
                if attempt or isinstance(e, aiohttp.ClientConnectorError):
                    raise
        raise AssertionError("unreachable")

    async def _json(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        url = self.base_url + path
        try:
            async with await self._send(method, url, payload, self._timeout()) as resp:
                body = await resp.read()
                if resp.status >= 400:
                    raise _status_error(resp.status, body, resp.headers)
        except BackendError:
            raise
        except (TimeoutError, aiohttp.ClientError) as e:
            raise _transport_error(e, f"{method} {url}") from e
        return self._decode(body, url)

    async def _get_json(self, path: str) -> Any:
        return await self._json("GET", path)

    async def _post_json(self, path: str, payload: dict[str, Any]) -> Any:
        return await self._json("POST", path, payload)

    @staticmethod
    def _decode(body: bytes, url: str) -> Any:
        try:
            return json.loads(body)
        except ValueError:
            snippet = body[:120].decode("utf-8", "replace")
            raise BackendError(f"{url} answered with a body that is not JSON: {snippet!r}", kind="invalid") from None

    async def models(self) -> list[str]:
        """The model ids the server lists at ``/v1/models``."""
        data = await self._get_json("/models")
        items = _get(data, "data", "", list)
        return [str(_get(item, "id", f"data[{i}]", str)) for i, item in enumerate(items)]

    # -- generation ------------------------------------------------------------------------------
    def _payload(self, request: GenerationRequest, *, stream: bool) -> tuple[str, dict[str, Any]]:
        s = request.sampling
        body: dict[str, Any] = {"model": self.model, "max_tokens": s.max_tokens, "temperature": s.temperature,
                                "top_p": s.top_p}
        if s.seed is not None:
            body["seed"] = s.seed
        if s.stop and not self.think:
            body["stop"] = list(s.stop)
        if request.messages:
            path = "/chat/completions"
            body["messages"] = [_message_json(m) for m in request.messages]
            if request.tools:
                body["tools"] = list(request.tools)
            if request.tool_choice is not None:
                body["tool_choice"] = request.tool_choice
        elif request.prompt is not None:
            path = "/completions"
            body["prompt"] = request.prompt
            if request.tools:
                raise BackendError("tools need a chat request (messages), not a prompt", kind="client")
        else:
            raise BackendError("a generation request needs messages or a prompt", kind="client")
        if stream:
            body["stream"] = True
        body.update(self.extra_body)
        return path, body

    @staticmethod
    def _parse_full(data: Any, chat: bool) -> tuple[str | None, str | None, list[Any], Any]:
        """(content, reasoning_content, tool_calls, finish_reason) of a complete (non-streamed) answer."""
        choices = _get(data, "choices", "", list)
        choice = _get(choices, 0, "choices", dict)
        finish = choice.get("finish_reason")
        if not chat:
            return _get(choice, "text", "choices[0]", str), None, [], finish
        message = _get(choice, "message", "choices[0]", dict)
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise BackendError("response field 'choices[0].message.content' is not a string", kind="invalid")
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        tool_calls = message.get("tool_calls") or []
        if not isinstance(tool_calls, list):
            raise BackendError("response field 'choices[0].message.tool_calls' is not a list", kind="invalid")
        return content, reasoning if isinstance(reasoning, str) else None, tool_calls, finish

    async def generate(self, request: GenerationRequest) -> Generation:
        path, payload = self._payload(request, stream=False)
        t0 = time.perf_counter()
        data = await self._post_json(path, payload)
        latency = time.perf_counter() - t0
        content, reasoning, tool_calls, finish = self._parse_full(data, path == "/chat/completions")
        answer = split_reasoning(content, reasoning_content=reasoning, think=self.think, finish_reason=finish,
                                 stops=request.sampling.stop)
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        return Generation(
            text=answer.text, reasoning=answer.reasoning, unclosed_reasoning=answer.unclosed,
            finish_reason="stop" if answer.stopped else (finish if isinstance(finish, str) else None),
            tool_calls=tuple(tool_calls), prompt_tokens=_int_or_none(usage.get("prompt_tokens")),
            completion_tokens=_int_or_none(usage.get("completion_tokens")), latency_s=latency)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """Answer text as the server produces it (SSE), reasoning removed and stop strings applied."""
        path, payload = self._payload(request, stream=True)
        url = self.base_url + path
        chat = path == "/chat/completions"
        answer = AnswerStream(think=self.think, stops=request.sampling.stop)
        done = False
        try:
            async with await self._send("POST", url, payload, self._timeout(stream=True)) as resp:
                if resp.status >= 400:
                    raise _status_error(resp.status, await resp.read(), resp.headers)
                if not resp.content_type.startswith("text/event-stream"):
                    # The server answered in one piece (it ignored stream=true): use the whole answer.
                    content, reasoning, _, _ = self._parse_full(self._decode(await resp.read(), url), chat)
                    out = answer.feed(content, reasoning) + answer.finish()
                    if out:
                        yield out
                    return
                async for raw in _lines(resp.content):
                    line = raw.strip()
                    if not line.startswith(b"data:"):
                        continue
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        done = True
                        break
                    event = self._decode(data, url)
                    if isinstance(event, dict) and "error" in event:
                        raise BackendError(f"{url} reported an error mid-stream: {event['error']}", kind="server")
                    text, reasoning = self._delta(event, chat)
                    out = answer.feed(text, reasoning)
                    if out:
                        yield out
                    if answer.stopped:
                        resp.close()  # the answer is complete; do not read (or pay for) the rest
                        return
        except BackendError:
            raise
        except (TimeoutError, aiohttp.ClientError) as e:
            raise _transport_error(e, f"POST {url} (stream)") from e
        if not done:
            raise BackendError(f"POST {url}: the stream ended without data: [DONE]", kind="dropped")
        tail = answer.finish()
        if tail:
            yield tail

    @staticmethod
    def _delta(event: Any, chat: bool) -> tuple[str, str]:
        choices = _get(event, "choices", "", list)
        if not choices:  # e.g. a final usage-only chunk
            return "", ""
        choice = _get(choices, 0, "choices", dict)
        if not chat:
            text = choice.get("text") or ""
            return (text if isinstance(text, str) else ""), ""
        delta = _get(choice, "delta", "choices[0]", dict)
        text = delta.get("content") or ""
        reasoning = delta.get("reasoning_content") or delta.get("reasoning") or ""
        return (text if isinstance(text, str) else ""), (reasoning if isinstance(reasoning, str) else "")

    # -- log-likelihood --------------------------------------------------------------------------
    async def loglikelihood(self, request: LoglikRequest) -> Loglik:
        if self._loglik_refusal:
            raise LoglikUnsupported(self._loglik_refusal)
        if request.messages:
            raise LoglikUnsupported("chat-format log-likelihood needs the model's chat template and tokenizer "
                                    "(an OpenAI-compatible server scores completions only): use a plain context")
        context, conts = request.context, list(request.continuations)
        spaces = len(context) - len(context.rstrip())
        if spaces:  # lm-eval's convention: trailing context whitespace belongs to the continuation
            context, conts = context[:-spaces], [context[-spaces:] + c for c in conts]
        scored = await asyncio.gather(*(self._score(context, c) for c in conts))
        return Loglik(logprobs=tuple(s[0] for s in scored), n_tokens=tuple(s[1] for s in scored),
                      n_chars=tuple(len(c) for c in request.continuations), is_greedy=tuple(s[2] for s in scored))

    def _refuse(self, why: str) -> NoReturn:
        self._loglik_refusal = (f"{self.base_url} ({self.model}) cannot score log-likelihoods: {why}. "
                                "Use a server that echoes prompt log-probs (vLLM) or the embedded llama backend.")
        raise LoglikUnsupported(self._loglik_refusal)

    async def _score(self, context: str, continuation: str) -> tuple[float, int, bool]:
        prompt = context + continuation
        payload = {"model": self.model, "prompt": prompt, "max_tokens": 1, "temperature": 0.0, "echo": True,
                   "logprobs": 1, **self.extra_body}
        try:
            data = await self._post_json("/completions", payload)
        except BackendError as e:
            if e.status in (404, 405, 501):
                self._refuse(f"no /v1/completions endpoint ({e})")
            raise
        choice = _get(_get(data, "choices", "", list), 0, "choices", dict)
        lp = choice.get("logprobs")
        if not isinstance(lp, dict) or not isinstance(lp.get("token_logprobs"), list):
            self._refuse("the server ignores echo and returns no prompt token_logprobs "
                         "(llama-server does this: ggml-org/llama.cpp 'no prompt/echo logprobs')")
        tokens = _get(lp, "tokens", "choices[0].logprobs", list)
        values = _get(lp, "token_logprobs", "choices[0].logprobs", list)
        offsets = _get(lp, "text_offset", "choices[0].logprobs", list)
        tops = lp.get("top_logprobs")
        if not (len(tokens) == len(values) == len(offsets)):
            raise BackendError("choices[0].logprobs: tokens, token_logprobs and text_offset differ in length",
                               kind="invalid")
        text = choice.get("text")
        base = text.find(prompt) if isinstance(text, str) else -1
        if base < 0:
            self._refuse("the echoed text does not contain the prompt")
        if values and values[0] is not None:
            self._refuse("it reports a log-probability for the first prompt token, which nothing predicts: "
                         "its echoed log-probs are shifted by one token (llama-cpp-python issue #1983)")
        if not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets):
            raise BackendError("choices[0].logprobs.text_offset holds a non-integer", kind="invalid")
        ctx_end, p_end = base + len(context), base + len(prompt)
        n = len(tokens)
        ends = [offsets[i + 1] if i + 1 < n else offsets[i] + len(str(tokens[i])) for i in range(n)]
        if max((ends[i] for i in range(n) if offsets[i] < p_end), default=-1) < p_end:
            self._refuse("the echoed tokens do not cover the prompt")
        picked = [i for i in range(n) if offsets[i] < p_end and ends[i] > ctx_end]
        if not picked:
            raise BackendError("no continuation token found in the echoed prompt", kind="invalid")
        total, greedy = 0.0, True
        for i in picked:
            v = values[i]
            if not isinstance(v, (int, float)):
                if i == 0:
                    raise BackendError("the context is empty: nothing conditions the first token", kind="client")
                raise BackendError(f"choices[0].logprobs.token_logprobs[{i}] is not a number", kind="invalid")
            total += float(v)
            top = tops[i] if isinstance(tops, list) and i < len(tops) else None
            if not isinstance(top, dict) or not top:
                raise BackendError(f"response lacks field 'choices[0].logprobs.top_logprobs[{i}]'", kind="invalid")
            greedy = greedy and max(top, key=lambda k: top[k]) == tokens[i]
        return total, len(picked), greedy
