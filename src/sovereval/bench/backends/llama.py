"""Embedded llama.cpp (llama-cpp-python): generation and correct in-process log-likelihood.

* Generation: chat requests go through the GGUF's chat template (an error if it has none, e.g. the base
  Gemma-3-270M: send a ``prompt`` instead); prompt requests are plain completions.  Sampling follows the
  OpenAI meaning (temperature and top-p only: llama.cpp's top-k 40 / min-p 0.05 defaults are switched off).
* Log-likelihood: ``Llama(logits_all=True)``, ``eval`` the tokens and log-softmax the rows of ``scores``
  that predict each continuation token (llama-cpp-python's ``echo`` log-probs are off by one, so they are
  never used).  BOS follows the GGUF (``tokenizer.ggml.add_bos_token``).  Context and continuation are
  tokenized together, as lm-eval does (trailing context whitespace moves to the continuation; where the
  joint tokenization merges across the boundary, the merged token is scored as part of the continuation).
  Prefix sharing: the context is evaluated once and kept in the KV cache; each continuation is evaluated
  after it (``n_tokens`` rewound to the prefix), and a following request that shares a prefix (few-shot
  preambles) reuses it too.  That is only done where it gives the same numbers as evaluating every
  continuation from scratch: llama.cpp's CPU kernels for some quantisations (Gemma's Q4_K/Q5_0/Q8_0:
  repacked and tinyBLAS matmuls) depend on the batch shape, so splitting an evaluation moves log-probs by
  up to ~0.1 nat (measured on Gemma-3-270M; SmolLM2's Q4_1 is bit-identical).  With
  ``share_prefix=None`` (default) a probe at load compares split and full evaluation of a fixed text and
  turns sharing on only when they agree to 1e-5; results therefore never depend on request order.
  ``share_prefix=True`` forces sharing within a request (Gemma: ~2-3x faster, log-probs within ~0.1 nat of
  full evaluation); the cache is then never reused across requests, so results stay order-independent.
* Identity: SHA-256 of the GGUF file (cached by size + mtime, see :mod:`sovereval.bench.models`).

llama-cpp-python is synchronous and not thread-safe: every call runs on one dedicated worker thread
(a single-thread executor, i.e. serialised), so the async interface never blocks the event loop.
Generation and scoring use separate ``Llama`` instances, created on first use (``logits_all`` costs
prompt throughput for large vocabularies, so the generator does without it).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from sovereval.bench.backends.reasoning import AnswerStream, split_reasoning
from sovereval.bench.models import ModelFile, resolve_model
from sovereval.bench.types import (
    BackendError,
    Generation,
    GenerationRequest,
    Loglik,
    LoglikRequest,
    Message,
)

__all__ = ["LlamaBackend", "llama_available"]

T = TypeVar("T")
_END = object()


def llama_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


def _lcp(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _log_softmax_pick(rows: np.ndarray, targets: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-probability of ``targets`` and whether each target is the row's argmax."""
    s = rows.astype(np.float64)
    m = s.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(s - m).sum(axis=1))
    idx = np.asarray(targets, dtype=np.int64)
    picked = s[np.arange(len(idx)), idx] - lse
    return picked, s.argmax(axis=1) == idx


def _message_dict(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.name is not None:
        out["name"] = m.name
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    if m.tool_calls:
        out["tool_calls"] = list(m.tool_calls)
    return out



def _llama_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama-cpp-python")
    except PackageNotFoundError:
        return "unknown"

class LlamaBackend:
    """A GGUF model run in-process.  ``model``: a known name (``smollm2-135m-instruct``), a path, or a
    :class:`ModelFile`."""

    def __init__(self, model: str | Path | ModelFile, *, n_ctx: int = 4096, n_threads: int | None = None,
                 n_batch: int = 512, think: bool = False, chat_format: str | None = None,
                 share_prefix: bool | None = None, verbose: bool = False) -> None:
        self.model = model if isinstance(model, ModelFile) else resolve_model(model)
        self.identity = self.model.identity
        # the weights hash is the identity; the endpoint names the runtime, not where the file happens to be,
        # so a ledger answers the same request again from another checkout or machine
        self.endpoint = f"embedded:llama-cpp-python/{_llama_version()}"
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self.n_batch = n_batch
        self.think = think
        self.chat_format = chat_format
        self.share_prefix = share_prefix
        self.verbose = verbose
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._gen: Any = None
        self._scorer: Any = None
        self._split_exact = False  # set by the probe when the scorer loads
        self._closed = False

    # -- worker thread ---------------------------------------------------------------------------
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise BackendError("backend is closed", kind="client")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _load(self, logits_all: bool) -> Any:
        # llama.cpp's OpenMP threads spin while waiting by default; when the cores are shared (other
        # processes, an HTTP server beside us) that turns into a 10x slowdown (measured: MCQ scoring
        # 1.4 → 11.3 scorings/s on 2 busy cores).  Read once, when libgomp loads: set before the import.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise BackendError("llama-cpp-python is not installed: run scripts/install-llama.sh (make llama)",
                               kind="client") from e
        return Llama(model_path=str(self.model.path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                     n_threads_batch=self.n_threads, n_batch=self.n_batch, logits_all=logits_all,
                     chat_format=self.chat_format, verbose=self.verbose)

    def _generator(self) -> Any:
        if self._gen is None:
            self._gen = self._load(logits_all=False)
        return self._gen

    def _scoring(self) -> Any:
        if self._scorer is None:
            self._scorer = self._load(logits_all=True)
            self._split_exact = self._sharing_is_exact(self._scorer)
            recurrent = getattr(self._scorer, "_is_recurrent", False) or getattr(self._scorer, "_is_hybrid", False)
            if self.share_prefix is None or recurrent:  # a recurrent state cannot be rewound to the prefix
                self.share_prefix = self._split_exact and not recurrent
        return self._scorer

    def _sharing_is_exact(self, llm: Any) -> bool:
        """Whether evaluating a prefix and then the rest gives the logits of one full evaluation."""
        if getattr(llm, "_is_recurrent", False) or getattr(llm, "_is_hybrid", False):
            return False
        text = "Question: Which of these is a fruit?\nAnswer: an apple, a banana or a cherry pie, 1234."
        toks = list(llm.tokenize(text.encode("utf-8"), add_bos=self._add_bos(llm), special=False))
        n = len(toks) - 1
        llm.reset()
        llm.eval(toks[:n])
        full = np.array(llm.scores[:n], dtype=np.float32, copy=True)
        exact = True
        for split in (n - 1, n - 2, n - 3, n - 5, n - 8):
            llm.reset()
            llm.eval(toks[:split])
            self._eval_rest(llm, toks[:n])
            if not np.allclose(llm.scores[split - 1:n], full[split - 1:n], rtol=0, atol=1e-5):
                exact = False
                break
        llm.reset()
        return exact

    @staticmethod
    def _eval_rest(llm: Any, tokens: list[int]) -> None:
        """Evaluate ``tokens`` after the ``llm.n_tokens`` already in the KV cache (which must match them),
        never as a one-token batch: llama.cpp computes a single-row batch with other kernels (e.g. Q8_0
        output matmul by vec_dot instead of tinyBLAS), which moves logits (measured: 0.48 on SmolLM2)."""
        start = llm.n_tokens
        if len(tokens) - start == 1 and start > 0:
            start -= 1
        llm.n_tokens = start
        if start < len(tokens):
            llm.eval(tokens[start:])

    async def load(self) -> None:
        """Load both instances now (otherwise they load on first use)."""
        await self._run(self._generator)
        await self._run(self._scoring)

    def _metadata(self) -> dict[str, str]:
        llm = self._gen or self._scorer or self._generator()
        return dict(llm.metadata)

    @property
    def has_chat_template(self) -> bool:
        return self.chat_format is not None or "tokenizer.chat_template" in self._metadata()

    @property
    def supports_tools(self) -> bool:
        """Only a chat handler that returns structured tool calls (llama-cpp-python's function-calling
        formats); a GGUF Jinja template is rendered with the tools but its output is never parsed."""
        return self.chat_format is not None and "function" in self.chat_format

    def _add_bos(self, llm: Any) -> bool:
        flag = llm.metadata.get("tokenizer.ggml.add_bos_token")
        if flag is not None:
            return str(flag).lower() == "true"
        return bool(llm._model.add_bos_token())

    # -- generation ------------------------------------------------------------------------------
    def _kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        s = request.sampling
        return {"max_tokens": s.max_tokens, "temperature": s.temperature, "top_p": s.top_p, "top_k": 0,
                "min_p": 0.0, "repeat_penalty": 1.0, "seed": s.seed,
                "stop": list(s.stop) if s.stop and not self.think else []}

    def _call(self, request: GenerationRequest, stream: bool) -> Any:
        llm = self._generator()
        kwargs = self._kwargs(request)
        try:
            if request.messages:
                if not self.has_chat_template:
                    raise BackendError(f"{self.model.name} has no chat template (a base model): send a prompt",
                                       kind="client")
                extra: dict[str, Any] = {}
                if request.tools:
                    if not self.supports_tools:
                        raise BackendError(
                            f"{self.model.name}: the embedded backend cannot take tools for this model (its chat "
                            f"template ignores them and llama-cpp-python parses no tool calls, so every call "
                            f"would be silently lost): serve it with llama-server --jinja or vLLM (openai "
                            f"backend), or use a benchmark's prompt-format variant (e.g. bfcl-*-prompt)",
                            kind="client")
                    extra["tools"] = list(request.tools)
                if request.tool_choice is not None:
                    extra["tool_choice"] = request.tool_choice
                return llm.create_chat_completion(messages=[_message_dict(m) for m in request.messages],
                                                  stream=stream, **extra, **kwargs)
            if request.prompt is None:
                raise BackendError("a generation request needs messages or a prompt", kind="client")
            if request.tools:
                raise BackendError("tools need a chat request (messages), not a prompt", kind="client")
            return llm.create_completion(prompt=request.prompt, stream=stream, **kwargs)
        except ValueError as e:  # e.g. "Requested tokens (...) exceed context window"
            raise BackendError(f"{self.model.name}: {e}", kind="client") from e

    def _generate_sync(self, request: GenerationRequest) -> Generation:
        t0 = time.perf_counter()
        resp = self._call(request, stream=False)
        latency = time.perf_counter() - t0
        choice = resp["choices"][0]
        if request.messages:
            message = choice.get("message") or {}
            content, tool_calls = message.get("content"), message.get("tool_calls") or []
        else:
            content, tool_calls = choice.get("text"), []
        finish = choice.get("finish_reason")
        answer = split_reasoning(content, think=self.think, finish_reason=finish, stops=request.sampling.stop)
        usage = resp.get("usage") or {}
        return Generation(text=answer.text, reasoning=answer.reasoning, unclosed_reasoning=answer.unclosed,
                          finish_reason="stop" if answer.stopped else finish, tool_calls=tuple(tool_calls),
                          prompt_tokens=usage.get("prompt_tokens"), completion_tokens=usage.get("completion_tokens"),
                          latency_s=latency)

    async def generate(self, request: GenerationRequest) -> Generation:
        return await self._run(self._generate_sync, request)

    def _stream_sync(self, request: GenerationRequest, put: Callable[[Any], None], cancel: threading.Event) -> None:
        try:
            chunks: Iterator[Any] = self._call(request, stream=True)
            for chunk in chunks:
                if cancel.is_set():
                    break
                choice = chunk["choices"][0]
                text = (choice.get("delta") or {}).get("content") if request.messages else choice.get("text")
                if text:
                    put(text)
            put(_END)
        except Exception as e:  # noqa: BLE001 - handed to the consumer, which re-raises it
            put(e)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()

        def put(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        work = self._run(self._stream_sync, request, put, cancel)
        task = asyncio.ensure_future(work)
        answer = AnswerStream(think=self.think, stops=request.sampling.stop)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                out = answer.feed(item)
                if out:
                    yield out
                if answer.stopped:
                    return
            tail = answer.finish()
            if tail:
                yield tail
        finally:
            cancel.set()
            await task

    # -- log-likelihood --------------------------------------------------------------------------
    def _eval_prefix(self, llm: Any, prefix: list[int]) -> None:
        """Leave ``prefix`` evaluated (KV cache + score rows), reusing what is already there."""
        reuse = _lcp(llm.input_ids[: llm.n_tokens].tolist(), prefix)
        if reuse == 0:
            llm.reset()
        llm.n_tokens = min(reuse, len(prefix))
        self._eval_rest(llm, prefix)

    def _loglik_sync(self, request: LoglikRequest) -> Loglik:
        llm = self._scoring()
        add_bos = self._add_bos(llm)
        context, conts = request.context, list(request.continuations)
        spaces = len(context) - len(context.rstrip())
        if spaces:  # lm-eval's convention: trailing context whitespace belongs to the continuation
            context, conts = context[:-spaces], [context[-spaces:] + c for c in conts]

        def tok(text: str) -> list[int]:
            return list(llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=False))

        ctx_tokens = tok(context)
        wholes = [tok(context + c) for c in conts]
        splits: list[int] = []
        for c, whole in zip(request.continuations, wholes, strict=True):
            split = _lcp(ctx_tokens, whole)  # = len(ctx_tokens) unless the boundary token merged
            if split == 0:
                raise BackendError("the context gives no token to condition on (empty context, no BOS)",
                                   kind="client")
            if split >= len(whole):
                raise BackendError(f"continuation {c!r} adds no token", kind="client")
            if len(whole) > llm.n_ctx():
                raise BackendError(f"{len(whole)} tokens exceed the context window of {llm.n_ctx()}",
                                   kind="client")
            splits.append(split)
        shared = min(splits) if self.share_prefix else 0
        if self.share_prefix and not self._split_exact:
            llm.reset()  # reusing another request's cache is order-independent only where splitting is exact
        logprobs: list[float] = []
        greedy: list[bool] = []
        n_tokens: list[int] = []
        for whole, split in zip(wholes, splits, strict=True):
            if self.share_prefix:
                self._eval_prefix(llm, whole[:shared])
                self._eval_rest(llm, whole[:-1])  # rows shared .. len-2; row shared-1 is already there
            else:
                llm.reset()
                llm.eval(whole[:-1])
            rows = llm.scores[split - 1: len(whole) - 1]
            lp, top = _log_softmax_pick(rows, whole[split:])
            logprobs.append(float(lp.sum()))
            greedy.append(bool(top.all()))
            n_tokens.append(len(whole) - split)
        return Loglik(logprobs=tuple(logprobs), n_tokens=tuple(n_tokens),
                      n_chars=tuple(len(c) for c in request.continuations), is_greedy=tuple(greedy))

    async def loglikelihood(self, request: LoglikRequest) -> Loglik:
        return await self._run(self._loglik_sync, request)

    # -- lifecycle -------------------------------------------------------------------------------
    def _free(self) -> None:
        for llm in (self._gen, self._scorer):
            if llm is not None:
                llm.close()
        self._gen = self._scorer = None

    async def aclose(self) -> None:
        if self._closed:
            return
        await self._run(self._free)
        self._closed = True
        self._executor.shutdown(wait=True)
