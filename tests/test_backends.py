"""Model backends: reasoning stripping, the OpenAI-compatible client (against the fault-injecting stub
and a real llama-server), the embedded llama backend (real GGUF models), model resolution.

Tests that need llama-cpp-python (and its llama-server) or the model carriers skip when those are not installed,
except under ``CI=true``, where a missing package fails the test (CI must run them: ``make llama``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sovereval.bench.backends import OpenAIBackend, open_backend
from sovereval.bench.backends.reasoning import AnswerStream, StopFilter, ThinkStripper, split_reasoning
from sovereval.bench.models import ModelNotFound, file_sha256, resolve_model
from sovereval.bench.types import (
    Backend,
    BackendError,
    GenerationRequest,
    LoglikRequest,
    LoglikUnsupported,
    Message,
    Sampling,
)
from tests.faults import FaultServer, stub_logprob, stub_tokens
from tests.helpers import require


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def chat(text: str, **sampling: Any) -> GenerationRequest:
    return GenerationRequest(messages=(Message(role="user", content=text),), sampling=Sampling(**sampling))


def prompt(text: str, **sampling: Any) -> GenerationRequest:
    return GenerationRequest(prompt=text, sampling=Sampling(**sampling))


# ------------------------------------------------------------------------------------------------
# Reasoning: strip <think> / reasoning_content once; unclosed → ""; stops after stripping.
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "kwargs", "text", "reasoning", "unclosed"), [
    ("<think>2+2 is 4</think>\n\nThe answer is 4.", {}, "The answer is 4.", "2+2 is 4", False),
    ("no thinking here", {}, "no thinking here", "", False),
    ("<think>still thinking about it", {}, "", "still thinking about it", True),
    ("<think>a</think>A<think>b</think>B", {}, "AB", "a\nb", False),
    ("implicit open</think> 42", {}, "42", "implicit open", False),
    ("implicit open</think> 42", {"think": True}, "42", "implicit open", False),
    ("  <think>explicit</think>42", {"think": True}, "42", "explicit", False),
    ("reasoning that never closes", {"think": True}, "", "reasoning that never closes", True),
    ("Paris", {"reasoning_content": "the capital…", "finish_reason": "stop"}, "Paris", "the capital…", False),
    (None, {"reasoning_content": "ran out", "finish_reason": "length"}, "", "ran out", True),
])
def test_split_reasoning(raw: str | None, kwargs: dict[str, Any], text: str, reasoning: str, unclosed: bool) -> None:
    a = split_reasoning(raw, **kwargs)
    assert (a.text, a.reasoning, a.unclosed) == (text, reasoning, unclosed)


def test_stops_apply_to_the_answer_after_stripping() -> None:
    raw = "<think>Step 1\nStep 2\nANSWER maybe</think>\nParis\nQuestion: next"
    a = split_reasoning(raw, stops=("\n", "ANSWER"))
    assert a.text == "Paris" and a.stopped and "Step 2" in a.reasoning
    assert split_reasoning("<think>x</think>Paris", stops=("ANSWER",)).stopped is False
    # an unclosed block stays empty even if a stop string appears inside it
    assert split_reasoning("<think>a\nb", stops=("\n",)).text == ""


def test_streaming_strip_matches_whole_text_at_every_chunk_size() -> None:
    raw = "<think>plan: A\nthen B</think>\n\nThe answer</think> is B<think>again</think>. END trailing"
    for think in (False, True):
        ref = split_reasoning(raw, think=think, stops=("END",))
        for n in range(1, len(raw) + 1):
            s = AnswerStream(think=think, stops=("END",))
            out = "".join(s.feed(raw[i:i + n]) for i in range(0, len(raw), n)) + s.finish()
            assert out == ref.text and s.answer() == ref, (think, n)
    assert split_reasoning(raw, stops=("END",)).text == "The answer is B. "


def test_streaming_tags_split_across_chunks() -> None:
    s = ThinkStripper()
    pieces = ["Hi <th", "ink>sec", "ret</th", "ink> there<", "/p>"]
    out = "".join(s.feed(p) for p in pieces) + s.finish()
    assert out == "Hi  there</p>" and s.reasoning == "secret" and not s.unclosed
    s = ThinkStripper()
    assert s.feed("<think>never") == "" and s.feed(" ends </thi") == "" and s.finish() == ""
    assert s.unclosed and s.reasoning == "never ends </thi"
    f = StopFilter(("\n\nQ:",))
    assert f.feed("A is 4\n") + f.feed("\nQ") + f.feed(": more") + f.finish() == "A is 4" and f.stopped


# ------------------------------------------------------------------------------------------------
# OpenAI backend against the fault-injecting stub.
# ------------------------------------------------------------------------------------------------

@pytest.fixture
def stub() -> Iterator[FaultServer]:
    with FaultServer(hang_s=5.0) as server:
        yield server


def test_connect_identity_and_generation(stub: FaultServer) -> None:
    async def go() -> None:
        async with await OpenAIBackend.connect(stub.url, revision="rev-7") as b:
            assert isinstance(b, Backend)
            assert b.identity.server_model_id == "stub-model" and b.identity.key == "served:stub-model@rev-7"
            g = await b.generate(chat("hello there", max_tokens=5, stop=("XYZ",)))
            assert g.text == "echo: hello there" and g.finish_reason == "stop"
            assert g.prompt_tokens == 2 and g.completion_tokens == 3 and g.latency_s is not None
            g = await b.generate(prompt("one two three", stop=(" two",)))
            assert g.text == "echo: one" and g.finish_reason == "stop"
            chunks = [c async for c in b.stream(chat("streamed reply"))]
            assert len(chunks) > 1 and "".join(chunks) == "echo: streamed reply"
            assert "".join([c async for c in b.stream(prompt("abc def"))]) == "echo: abc def"
        body = stub.requests[0]
        assert body["model"] == "stub-model" and body["stop"] == ["XYZ"] and body["max_tokens"] == 5
        assert body["temperature"] == 0.0 and body["seed"] == 0 and "stream" not in body
        assert stub.requests[2]["stream"] is True
        with pytest.raises(BackendError) as e:
            await OpenAIBackend.connect(stub.url, model="other-model")
        assert e.value.kind == "client" and "does not serve" in str(e.value)

    run(go())


def test_reasoning_and_tools_pass_through(stub: FaultServer) -> None:
    stub.reply = "<think>hidden</think>\n\nvisible answer"
    stub.reasoning_content = "server-side reasoning"
    tools = ({"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}},)
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\": 1}"}}
    stub.tool_calls = [call]

    async def go() -> None:
        async with await OpenAIBackend.connect(stub.url) as b:
            g = await b.generate(chat("hi"))
            assert g.text == "visible answer" and g.reasoning == "server-side reasoning\nhidden"
            streamed = "".join([c async for c in b.stream(chat("hi"))])
            assert streamed == "visible answer"
            req = GenerationRequest(messages=(Message(role="user", content="look it up"),), tools=tools,
                                    tool_choice="auto")
            g = await b.generate(req)
            assert g.tool_calls == (call,) and g.finish_reason == "tool_calls" and g.text == ""
        sent = stub.requests[-1]
        assert sent["tools"] == list(tools) and sent["tool_choice"] == "auto"

    run(go())


def test_think_mode_keeps_stops_off_the_server(stub: FaultServer) -> None:
    stub.reply = "<think>line one\nline two</think>Answer\nmore"

    async def go() -> None:
        async with await OpenAIBackend.connect(stub.url, think=True) as b:
            g = await b.generate(chat("q", stop=("\n",)))
            assert g.text == "Answer" and g.finish_reason == "stop"
        assert "stop" not in stub.requests[-1]
        stub.reply = "<think>out of tokens"
        async with await OpenAIBackend.connect(stub.url, think=True) as b:
            g = await b.generate(chat("q"))
            assert g.text == "" and g.unclosed_reasoning

    run(go())


@pytest.mark.parametrize(("fault", "kind", "status"), [
    ("rate_limit", "rate_limit", 429),
    ("server_error", "server", 500),
    ("unavailable", "server", 503),
    ("bad_request", "client", 400),
    ("hang", "timeout", None),
    ("drop", "dropped", None),
    ("malformed", "invalid", None),
    ("missing", "invalid", None),
])
def test_faults_map_to_error_kinds(stub: FaultServer, fault: str, kind: str, status: int | None) -> None:
    async def go() -> None:
        async with OpenAIBackend(stub.url, "stub-model", revision="r", timeout_s=0.5) as b:
            for req in (chat("x"), prompt("x")):
                # a connection lost before any answer is retried once: drop it twice
                stub.script(*[fault] * (2 if fault == "drop" else 1))
                with pytest.raises(BackendError) as e:
                    await b.generate(req)
                assert e.value.kind == kind and e.value.status == status, str(e.value)
                assert e.value.retryable == (kind in ("rate_limit", "server", "timeout", "dropped"))
                if fault == "rate_limit":
                    assert e.value.retry_after == 2.0
                if fault == "missing":
                    assert "'choices'" in str(e.value)
            assert (await b.generate(chat("after"))).text == "echo: after"  # the session survives

    run(go())


def test_stream_with_events_longer_than_64kib(stub: FaultServer) -> None:
    stub.reply = "x" * 200_000
    stub.chunk_chars = 150_000

    async def go() -> None:
        async with OpenAIBackend(stub.url, "stub-model") as b:
            assert "".join([c async for c in b.stream(chat("long"))]) == stub.reply

    run(go())


def test_a_stale_keepalive_connection_is_retried_once(stub: FaultServer) -> None:
    async def go() -> None:
        async with OpenAIBackend(stub.url, "stub-model") as b:
            stub.script("drop")  # connection closed before any response: resent once, transparently
            assert (await b.generate(chat("x"))).text == "echo: x"
            assert "".join([c async for c in b.stream(chat("y"))]) == "echo: y"  # stream: dropped mid-way
        assert len(stub.requests) == 3

    run(go())


@pytest.mark.parametrize(("fault", "kind"), [("drop", "dropped"), ("truncate", "dropped"),
                                             ("hang", "timeout"), ("rate_limit", "rate_limit"),
                                             ("malformed", "invalid")])
def test_stream_faults(stub: FaultServer, fault: str, kind: str) -> None:
    async def go() -> None:
        async with OpenAIBackend(stub.url, "stub-model", timeout_s=0.5) as b:
            stub.script(fault)
            got: list[str] = []
            with pytest.raises(BackendError) as e:
                async for c in b.stream(chat("a fairly long streamed answer")):
                    got.append(c)
            assert e.value.kind == kind, str(e.value)
            if fault == "truncate":
                assert "[DONE]" in str(e.value)

    run(go())


def test_retry_after_http_date(stub: FaultServer) -> None:
    from email.utils import formatdate

    stub.retry_after = formatdate(time.time() + 30, usegmt=True)

    async def go() -> None:
        async with OpenAIBackend(stub.url, "stub-model") as b:
            stub.script("rate_limit")
            with pytest.raises(BackendError) as e:
                await b.generate(chat("x"))
            assert e.value.retry_after is not None and 25 < e.value.retry_after <= 30

    run(go())


def test_a_timeout_does_not_cancel_other_requests_in_flight(stub: FaultServer) -> None:
    """Per-request timeouts: one hung request times out while 40 others complete on the same session."""
    async def go() -> None:
        async with OpenAIBackend(stub.url, "stub-model", timeout_s=1.0) as b:
            stub.script("hang")
            hung = asyncio.ensure_future(b.generate(chat("hung")))
            await asyncio.sleep(0.05)
            results = await asyncio.gather(*(b.generate(chat(f"req {i}")) for i in range(40)))
            assert [r.text for r in results] == [f"echo: req {i}" for i in range(40)]
            with pytest.raises(BackendError) as e:
                await hung
            assert e.value.kind == "timeout"

    run(go())


def test_many_in_flight_are_matched_to_their_prompts(stub: FaultServer) -> None:
    stub.record = False

    async def go() -> None:
        async with await OpenAIBackend.connect(stub.url) as b:
            reqs = [chat(f"unique-{i}-{i * 7919 % 1000}") for i in range(300)]
            t0 = time.perf_counter()
            out = await asyncio.gather(*(b.generate(r) for r in reqs))
            rate = len(reqs) / (time.perf_counter() - t0)
            assert [o.text for o in out] == [f"echo: {r.messages[0].content}" for r in reqs]
            print(f"\nstub: 300 requests in flight at once: {rate:,.0f} req/s")

    run(go())


def test_loglikelihood_from_echoed_prompt_logprobs(stub: FaultServer) -> None:
    async def go() -> None:
        async with await OpenAIBackend.connect(stub.url) as b:
            r = await b.loglikelihood(LoglikRequest(context="Question: 2+2? Answer:", continuations=(" 4", " four")))
        assert r.logprobs == (stub_logprob(" 4"), stub_logprob(" four"))
        assert r.n_tokens == (1, 1) and r.n_chars == (2, 5) and r.is_greedy == (True, False)
        assert stub.requests[-1]["echo"] is True and stub.requests[-1]["logprobs"] == 1
        # trailing context whitespace moves to the continuation; multi-token continuation
        async with await OpenAIBackend.connect(stub.url) as b:
            r = await b.loglikelihood(LoglikRequest(context="Say: ", continuations=("a bc",)))
        assert stub_tokens("Say: a bc") == ["Say:", " a", " bc"]
        assert r.logprobs == (stub_logprob(" a") + stub_logprob(" bc"),) and r.n_tokens == (2,)

    run(go())


@pytest.mark.parametrize("style", ["llama-server", "shifted"])
def test_loglikelihood_refused_when_the_server_cannot_score(stub: FaultServer, style: str) -> None:
    stub.echo_style = style

    async def go() -> None:
        async with await OpenAIBackend.connect(stub.url) as b:
            with pytest.raises(LoglikUnsupported) as e:
                await b.loglikelihood(LoglikRequest(context="Q: x\nA:", continuations=(" yes", " no")))
            assert e.value.kind == "invalid" and not e.value.retryable
            assert ("ignores echo" if style == "llama-server" else "shifted") in str(e.value)
            sent = len(stub.requests)
            with pytest.raises(LoglikUnsupported):  # remembered: no further requests
                await b.loglikelihood(LoglikRequest(context="Q", continuations=(" a",)))
            assert len(stub.requests) == sent

    run(go())


def test_open_backend_spec(stub: FaultServer) -> None:
    async def go() -> None:
        b = await open_backend(f"openai:{stub.url}#stub-model", revision="x")
        assert b.endpoint == stub.url and b.identity.key == "served:stub-model@x"
        await b.aclose()
        with pytest.raises(ValueError):
            await open_backend("nonsense")

    run(go())


# ------------------------------------------------------------------------------------------------
# Model resolution and weights hashing.
# ------------------------------------------------------------------------------------------------

def test_file_sha256_is_cached_by_size_and_mtime(tmp_path: Path) -> None:
    import hashlib

    f = tmp_path / "w.gguf"
    f.write_bytes(b"weights-v1")
    assert file_sha256(f) == hashlib.sha256(b"weights-v1").hexdigest()
    assert (tmp_path / "w.gguf.sha256.json").is_file()
    cache = tmp_path / "w.gguf.sha256.json"
    cache.write_text(cache.read_text().replace(hashlib.sha256(b"weights-v1").hexdigest(), "f" * 64))
    assert file_sha256(f) == "f" * 64  # served from the cache, not re-hashed
    f.write_bytes(b"weights-v2 longer")
    assert file_sha256(f) == hashlib.sha256(b"weights-v2 longer").hexdigest()
    m = resolve_model(f)
    assert m.identity.key == f"sha256:{m.sha256}" and m.name == "w"
    with pytest.raises(ModelNotFound):
        resolve_model("no-such-model")


# ------------------------------------------------------------------------------------------------
# Embedded llama backend with real models (slow).
# ------------------------------------------------------------------------------------------------

ARITH = [(a, b) for a, b in [(13, 14), (7, 8), (21, 5), (9, 9), (30, 12), (4, 17), (25, 25), (6, 3), (11, 19), (40, 2),
                             (15, 6), (8, 23), (3, 3), (19, 1), (27, 8), (5, 14), (12, 12), (33, 9), (2, 45), (16, 16)]]


def mcq_requests() -> list[LoglikRequest]:
    shots = "Question: What is 2 + 3?\nAnswer: 5\n\nQuestion: What is 10 + 4?\nAnswer: 14\n\n"
    out = []
    for a, b in ARITH:
        s = a + b
        out.append(LoglikRequest(context=f"{shots}Question: What is {a} + {b}?\nAnswer:",
                                 continuations=tuple(f" {s + d}" for d in (-1, 0, 1, 2))))
    return out


@pytest.mark.slow
def test_embedded_chat_generation_smollm2(smollm2: Any) -> None:
    from sovereval.bench.backends.llama import LlamaBackend

    async def go() -> None:
        b = LlamaBackend(smollm2, n_ctx=2048)
        try:
            assert isinstance(b, Backend) and b.identity.key == f"sha256:{smollm2.sha256}"
            assert b.endpoint.startswith("embedded:llama-cpp-python/") and str(smollm2.path) not in b.endpoint
            req = chat("What is the capital of France? Answer in one word.", max_tokens=16)
            g1, g2 = await asyncio.gather(b.generate(req), b.generate(req))
            assert g1.text and g1.text == g2.text  # temperature 0 is deterministic
            assert g1.completion_tokens and g1.prompt_tokens and g1.finish_reason in ("stop", "length")
            streamed = "".join([c async for c in b.stream(req)])
            assert streamed == g1.text
            g = await b.generate(prompt("The capital of France is", max_tokens=8, stop=("\n",)))
            assert g.text and "\n" not in g.text
        finally:
            await b.aclose()

    run(go())


@pytest.mark.slow
def test_embedded_completion_gemma(gemma: Any) -> None:
    from sovereval.bench.backends.llama import LlamaBackend

    async def go() -> None:
        b = LlamaBackend(gemma, n_ctx=1024)
        try:
            assert b.identity.key == "sha256:a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
            g = await b.generate(prompt("1, 2, 3, 4, 5,", max_tokens=8))
            assert g.text.strip().startswith("6"), g.text
            with pytest.raises(BackendError) as e:  # a base model without a chat template
                await b.generate(chat("hello"))
            assert e.value.kind == "client" and "chat template" in str(e.value)
        finally:
            await b.aclose()

    run(go())


def _independent_logprobs(model_path: Path, tokens: list[int], start: int, flash_attn: bool) -> list[float]:
    """log P(tokens[k] | tokens[:k]) for k >= start, one fresh evaluation of each prefix, its last row
    only, through llama-cpp-python's own ``eval``/``scores`` (the same attention kernel as the backend):
    shares nothing with the backend's context sharing, output rows, split handling or row bookkeeping."""
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(model_path), n_ctx=512, n_threads=2, logits_all=True, flash_attn=flash_attn,
                          verbose=False)
    try:
        out = []
        for k in range(start, len(tokens)):
            llm.reset()
            llm.eval(tokens[:k])
            logits = np.asarray(llm.scores[k - 1], dtype=np.float64)
            m = logits.max()
            out.append(float(logits[tokens[k]] - m - np.log(np.exp(logits - m).sum())))
        return out
    finally:
        llm.close()


@pytest.mark.slow
@pytest.mark.parametrize("which", ["smollm2", "gemma"])
def test_loglikelihood_is_correct(which: str, request: pytest.FixtureRequest) -> None:
    from sovereval.bench.backends.llama import LlamaBackend

    model = request.getfixturevalue(which)
    req = LoglikRequest(context="Question: What is 13 + 14?\nAnswer:", continuations=(" 27", " 28", " twenty-seven"))

    async def go() -> tuple[Any, ...]:
        auto = LlamaBackend(model, n_ctx=512)  # the default: the context once, each option on it
        packed = LlamaBackend(model, n_ctx=512, loglik_mode="packed")
        fresh = LlamaBackend(model, n_ctx=512, loglik_mode="solo")
        try:
            a = await auto.loglikelihood(req)
            await auto.loglikelihood(LoglikRequest(context=req.context + " 2", continuations=("7", "8")))
            a2 = await auto.loglikelihood(req)  # nothing from the request before is used
            f = await packed.loglikelihood(req)
            await packed.loglikelihood(LoglikRequest(context=req.context + " 2", continuations=("7", "8")))
            f2 = await packed.loglikelihood(req)
            assert f2 == f  # order-independent even where packing is not exact
            b = await fresh.loglikelihood(req)
            return a, a2, f, b, auto.flash_attn
        finally:
            for x in (auto, packed, fresh):
                await x.aclose()

    auto, again, packed, fresh, flash_attn = run(go())
    drift = max(abs(x - y) for x, y in zip(packed.logprobs, fresh.logprobs, strict=True))
    print(f"\n{which}: packed vs each option alone: {drift:.2e}")
    assert auto.n_tokens == fresh.n_tokens and again == auto
    if which == "smollm2":  # row-independent kernels: prefix mode is bit-identical to each option alone
        assert auto.logprobs == fresh.logprobs and auto.is_greedy == fresh.is_greedy
    else:  # Gemma's kernels depend on the batch shape: close, as close to float32 (BENCHMARKS.md)
        assert np.allclose(auto.logprobs, fresh.logprobs, atol=0.7)
    assert auto.n_chars == (3, 3, 13) and all(n >= 1 for n in auto.n_tokens)

    import llama_cpp

    tok = llama_cpp.Llama(model_path=str(model.path), vocab_only=True, verbose=False)
    add_bos = tok.metadata.get("tokenizer.ggml.add_bos_token") == "true"
    assert add_bos == (which == "gemma")  # per the GGUF metadata: SmolLM2 no BOS, Gemma BOS
    for cont, lp, n in zip(req.continuations, fresh.logprobs, fresh.n_tokens, strict=True):
        whole = tok.tokenize((req.context + cont).encode(), add_bos=add_bos, special=False)
        ref = _independent_logprobs(model.path, whole, len(whole) - n, flash_attn)
        assert abs(sum(ref) - lp) < 1e-4 * max(1, n), (cont, ref, lp)
    assert auto.logprobs[0] > auto.logprobs[2]  # " 27" beats a long spelled-out answer


@pytest.mark.slow
@pytest.mark.parametrize("which", ["smollm2"])  # Gemma (exact mode, no prefix sharing) takes ~30-80 s here
def test_mcq_scoring_throughput(which: str, request: pytest.FixtureRequest) -> None:
    """Prints scorings/s (one scoring = one continuation) for 20 two-shot arithmetic items x 4 choices."""
    from sovereval.bench.backends.llama import LlamaBackend

    model = request.getfixturevalue(which)
    reqs = mcq_requests()

    async def go() -> tuple[float, int, str]:
        b = LlamaBackend(model, n_ctx=1024)
        try:
            await b.load()
            t0 = time.perf_counter()
            results = await asyncio.gather(*(b.loglikelihood(r) for r in reqs))
            dt = time.perf_counter() - t0
            correct = sum(int(np.argmax(r.logprobs)) == 1 for r in results)
            return dt, correct, b.loglik_mode
        finally:
            await b.aclose()

    dt, correct, mode = run(go())
    n = sum(len(r.continuations) for r in reqs)
    print(f"\n{which} MCQ log-likelihood ({mode}): {n} scorings in "
          f"{dt:.2f} s = {n / dt:.1f} scorings/s ({len(reqs) / dt:.1f} items/s); accuracy {correct}/{len(reqs)}; "
          f"load average {os.getloadavg()[0]:.1f}")


# ------------------------------------------------------------------------------------------------
# OpenAI backend against a real llama-server (slow).
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def llama_server(smollm2: Any) -> Iterator[Any]:
    require("llama_cpp")
    from sovereval.bench.servers import LlamaServer

    with LlamaServer(smollm2.path, parallel=4, ctx_size=8192, concurrency=32, alias="smollm2") as srv:
        yield srv


def copy_prompt(i: int) -> tuple[str, str]:
    """A completion prompt that a small model continues by copying (induction); unique per i."""
    code = f"{(i * 7919 + 1234) % 9000 + 1000}"
    pad = " ".join(["ok"] * i)  # different prompt lengths: usage.prompt_tokens identifies the prompt too
    return f"{pad}\nkey: {code}\nkey: {code}\nkey: {code}\nkey:", code


@pytest.mark.slow
def test_llama_server_generation_and_streaming(llama_server: Any) -> None:
    async def go() -> None:
        async with await OpenAIBackend.connect(llama_server.base_url, revision="test") as b:
            assert b.identity.server_model_id == "smollm2"
            g = await b.generate(chat("What is the capital of France?", max_tokens=24))
            assert g.text and g.completion_tokens and g.prompt_tokens
            text, code = copy_prompt(3)
            g = await b.generate(prompt(text, max_tokens=6, stop=("\n",)))
            assert g.text.strip() == code and g.finish_reason == "stop"
            s = "".join([c async for c in b.stream(chat("What is the capital of France?", max_tokens=24))])
            assert s == (await b.generate(chat("What is the capital of France?", max_tokens=24))).text
            s = "".join([c async for c in b.stream(prompt(text, max_tokens=6, stop=("\n",)))])
            assert s.strip() == code

    run(go())


@pytest.mark.slow
def test_llama_server_concurrent_responses_match_their_prompts(llama_server: Any) -> None:
    async def go() -> None:
        async with await OpenAIBackend.connect(llama_server.base_url, revision="test") as b:
            items = [copy_prompt(i) for i in range(16)]
            reqs = [prompt(t, max_tokens=6, stop=("\n",)) for t, _ in items]
            ref_tokens = [(await b.generate(r)).prompt_tokens for r in reqs[:2]]
            t0 = time.perf_counter()
            out = await asyncio.gather(*(b.generate(r) for r in reqs))
            dt = time.perf_counter() - t0
            assert [o.text.strip() for o in out] == [code for _, code in items]
            tokens = [o.prompt_tokens or 0 for o in out]
            assert tokens[:2] == ref_tokens and tokens == sorted(set(tokens))  # each its own prompt length
            # chat, 16 in flight, each asked to repeat its own code
            chats = [chat(f"Repeat exactly: {code}", max_tokens=12) for _, code in items]
            res = await asyncio.gather(*(b.generate(r) for r in chats))
            matched = sum(code in r.text for (_, code), r in zip(items, res, strict=True))
            assert all(not any(c in r.text for _, c in items if c != code)
                       for (_, code), r in zip(items, res, strict=True))  # never another prompt's code
            assert matched >= 12, [r.text for r in res]
            print(f"\nllama-server -np 4: 16 completions in flight {16 / dt:.1f} req/s; "
                  f"chat repeat-exactly matched {matched}/16")

    run(go())


@pytest.mark.slow
def test_llama_server_loglikelihood_is_refused(llama_server: Any) -> None:
    async def go() -> None:
        async with await OpenAIBackend.connect(llama_server.base_url, revision="test") as b:
            with pytest.raises(LoglikUnsupported) as e:
                await b.loglikelihood(LoglikRequest(context="Question: What is 13 + 14?\nAnswer:",
                                                    continuations=(" 27", " 28")))
            assert "ignores echo" in str(e.value)

    run(go())
