"""Embedded llama.cpp (llama-cpp-python): generation and correct in-process log-likelihood.

* Generation: chat requests go through the GGUF's chat template (an error if it has none, e.g. the base
  Gemma-3-270M: send a ``prompt`` instead); prompt requests are plain completions.  Sampling follows the
  OpenAI meaning (temperature and top-p only: llama.cpp's top-k 40 / min-p 0.05 defaults are switched off).
* Log-likelihood: in-process, on a scoring context of its own on the same loaded model: the log-softmax of
  the rows that predict each continuation token (llama-cpp-python's ``echo`` log-probs are off by one, so
  they are never used).  BOS follows the GGUF (``tokenizer.ggml.add_bos_token``).  Context and continuation
  are tokenized together, as lm-eval does (trailing context whitespace moves to the continuation; where the
  joint tokenization merges across the boundary, the merged token is scored as part of the continuation).
  A chat-format request (``messages``) is the GGUF's chat template with the assistant turn opened, its
  special tokens parsed as special tokens; a plain context is text only.
  **Exact and order-independent**: every request starts from an empty KV cache, so a number depends on its
  (context, continuation) tokens only — never on the requests before it or beside it, nor on its sibling
  options.  ``loglik_mode``: ``solo`` evaluates each option from scratch, as llama-cpp-python's own
  ``eval`` does (tested equal); ``prefix`` (default) evaluates the context once, saves its KV state and,
  for each option, restores it and evaluates the last two context tokens with the option's own.  Where
  llama.cpp's kernels are row-independent (SmolLM2's Q4_1, non-flash attention) that changes no bit;
  where they depend on the batch shape (Gemma-3-270M: even *where* one evaluation is cut moves results)
  it moves an option by up to ~0.6 nat, and is then as close to a float32 computation of the same GGUF
  as ``solo`` (mean |Δ| 0.155 vs 0.165 nat, measured) — the criterion for keeping a speed-up.  ``packed``
  puts every option in one batch: not exact (the options share one batch and interleave in the KV buffer), measured
  only, never the default.  Attention: llama.cpp's non-flash kernel (``flash_attn=False``), measured the
  closer to float32 on both models (:mod:`sovereval.bench.backends.reference`, BENCHMARKS.md).
* Identity: SHA-256 of the GGUF file (cached by size + mtime, see :mod:`sovereval.bench.models`).

llama-cpp-python is synchronous and not thread-safe: every call runs on one dedicated worker thread
(a single-thread executor, i.e. serialised), so the async interface never blocks the event loop.
The model is loaded once (a ``Llama`` that generates and tokenizes); the scoring context is created on it
on first use.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from sovereval.bench.backends.llama_pack import PackedContext, groups, lcp, plan
from sovereval.bench.backends.reasoning import AnswerStream, split_reasoning
from sovereval.bench.llama_runtime import LlamaRuntimeError, build_record, ensure_runtime
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
# ll3: every request from an empty cache, in one of LOGLIK_MODES (ll2: packed with a kept prefix; ll1: logits_all)
LOGLIK_METHOD = "ll3"
LoglikMode = Literal["solo", "prefix", "packed"]
LOGLIK_MODES: tuple[LoglikMode, ...] = ("solo", "prefix", "packed")
DEFAULT_LOGLIK_MODE: LoglikMode = "prefix"  # as close to float32 as solo, 2-3x faster (BENCHMARKS.md)
DEFAULT_FLASH_ATTN = False  # the attention kernel closer to float32, measured (BENCHMARKS.md)
_END = object()


def llama_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


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
                 loglik_mode: LoglikMode = DEFAULT_LOGLIK_MODE, flash_attn: bool = DEFAULT_FLASH_ATTN,
                 verbose: bool = False) -> None:
        self.model = model if isinstance(model, ModelFile) else resolve_model(model)
        self.identity = self.model.identity
        # the weights hash is the identity; the endpoint names the runtime, not where the file happens to be,
        # so a ledger answers the same request again from another checkout or machine
        # the scoring method is part of it: results of another method are never served from the ledger
        if loglik_mode not in LOGLIK_MODES:
            raise ValueError(f"loglik_mode must be one of {', '.join(LOGLIK_MODES)}, not {loglik_mode!r}")
        # the build's ISA level too: another instruction set is another kernel, other numbers (measured:
        # Gemma's ARC-Easy log-likelihoods move between x86-64-v3 and x86-64-v4), so never one ledger entry
        isa = (build_record() or {}).get("isa", "unrecorded-build")
        # and the batch size: where an evaluation is cut moves shape-dependent kernels' numbers (Gemma)
        self.endpoint = (f"embedded:llama-cpp-python/{_llama_version()}+{isa}+{LOGLIK_METHOD}-{loglik_mode}"
                         + ("-fa" if flash_attn else "") + f"-b{n_batch}")
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self.n_batch = n_batch
        self.think = think
        self.chat_format = chat_format
        self.loglik_mode: LoglikMode = loglik_mode
        self.flash_attn = flash_attn
        self.verbose = verbose
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._gen: Any = None
        self._scorer: PackedContext | None = None
        self._closed = False
        self._loading = threading.Lock()

    # -- worker thread ---------------------------------------------------------------------------
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise BackendError("backend is closed", kind="client")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _load(self) -> Any:
        # llama.cpp's OpenMP threads spin while waiting by default; when the cores are shared (other
        # processes, an HTTP server beside us) that turns into a 10x slowdown (measured: MCQ scoring
        # 1.4 → 11.3 scorings/s on 2 busy cores).  Read once, when libgomp loads: set before the import.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise BackendError("llama-cpp-python is not installed: run scripts/install-llama.sh (make llama)",
                               kind="client") from e
        try:  # a tiny generation in a child process first: a build this CPU refuses is a message, not a crash
            ensure_runtime(self.model.path)
        except LlamaRuntimeError as e:
            raise BackendError(str(e), kind="client") from e
        return Llama(model_path=str(self.model.path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                     n_threads_batch=self.n_threads, n_batch=self.n_batch,
                     chat_format=self.chat_format, verbose=self.verbose)

    def _generator(self) -> Any:
        with self._loading:  # also reached from the event loop (metadata), beside the worker thread
            if self._gen is None:
                self._gen = self._load()
            return self._gen

    def _scoring(self) -> PackedContext:
        """The scoring context on the generator's model (created on first use)."""
        if self._scorer is None:
            llm = self._generator()
            # a recurrent state cannot hold several sequences side by side: packed then decodes one at a time
            recurrent = bool(getattr(llm, "_is_recurrent", False) or getattr(llm, "_is_hybrid", False))
            packs = self.loglik_mode == "packed" and not recurrent
            self._scorer = PackedContext(llm._model, n_ctx=self.n_ctx, n_ubatch=self.n_batch,
                                         n_threads=self.n_threads, max_seqs=64 if packs else 1,
                                         flash_attn=self.flash_attn, verbose=self.verbose)
        return self._scorer

    async def load(self) -> None:
        """Load the model and create the scoring context now (otherwise on first use)."""
        await self._run(self._generator)
        await self._run(self._scoring)

    def _metadata(self) -> dict[str, str]:
        llm = self._generator()
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
    def _chat_prompt(self, messages: Sequence[Message]) -> str:
        """The GGUF's chat template applied to ``messages`` with the assistant turn opened (what generation
        sends), as text; its special tokens are parsed as such when tokenized."""
        llm = self._generator()
        template = llm.metadata.get("tokenizer.chat_template")
        if template is None:
            raise BackendError(f"{self.model.name} has no chat template (a base model): send a plain context",
                               kind="client")
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        def text(token: int) -> str:
            return llm._model.token_get_text(token) if token >= 0 else ""

        formatter = Jinja2ChatFormatter(template=template, eos_token=text(llm.token_eos()),
                                        bos_token=text(llm.token_bos()), add_generation_prompt=True)
        return formatter(messages=[_message_dict(m) for m in messages]).prompt

    def _tokens(self, request: LoglikRequest) -> tuple[list[list[int]], list[int], list[int]]:
        """Context + continuation token lists and where each continuation's scored tokens start.

        lm-eval's conventions: trailing context whitespace belongs to the continuation; context and
        continuation are tokenized together, and where that merges a token across the boundary, the merged
        token is scored as part of the continuation.  A plain context is tokenized as text (``<|im_start|>``
        in it is just characters) with the GGUF's BOS rule; a chat context (``messages``) is the chat
        template's text, whose special tokens are parsed as special tokens (the template writes its own BOS), and
        its trailing newline stays in the context."""
        llm = self._generator()
        if request.messages:
            context, special, add_bos = self._chat_prompt(request.messages), True, False
        else:
            context, special, add_bos = request.context, False, self._add_bos(llm)
        conts = list(request.continuations)
        spaces = 0 if request.messages else len(context) - len(context.rstrip())
        if spaces:  # (a chat template's own trailing newline stays with the template)
            context, conts = context[:-spaces], [context[-spaces:] + c for c in conts]

        def tok(text: str) -> list[int]:
            return list(llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special))

        ctx_tokens = tok(context)
        wholes = [tok(context + c) for c in conts]
        splits: list[int] = []
        for c, whole in zip(request.continuations, wholes, strict=True):
            split = lcp(ctx_tokens, whole)  # = len(ctx_tokens) unless the boundary token merged
            if split == 0:
                raise BackendError("the context gives no token to condition on (empty context, no BOS)",
                                   kind="client")
            if split >= len(whole):
                raise BackendError(f"continuation {c!r} adds no token", kind="client")
            if len(whole) > self.n_ctx:
                raise BackendError(f"{len(whole)} tokens exceed the context window of {self.n_ctx}",
                                   kind="client")
            splits.append(split)
        return wholes, splits, ctx_tokens

    def _loglik_sync(self, request: LoglikRequest) -> Loglik:
        pc = self._scoring()
        wholes, splits, context = self._tokens(request)
        try:
            lps = self._score(pc, wholes, splits, context)
        except RuntimeError as e:
            raise BackendError(f"{self.model.name}: {e}", kind="client") from e
        return Loglik(logprobs=tuple(float(lp.sum()) for lp, _ in lps),
                      n_tokens=tuple(len(w) - s for w, s in zip(wholes, splits, strict=True)),
                      n_chars=tuple(len(c) for c in request.continuations),
                      is_greedy=tuple(bool(top.all()) for _, top in lps))

    def _score(self, pc: PackedContext, wholes: list[list[int]], splits: list[int],
               context_tokens: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per-token log-probs of each continuation.  Every request starts from an empty cache: nothing from an
        earlier request is used, so a number never depends on what ran before."""
        mode = self.loglik_mode
        if mode == "packed":
            out: list[tuple[np.ndarray, np.ndarray]] = []
            for group in groups(wholes, splits, pc.max_seqs, pc.n_ctx, pack=True):
                w = [wholes[i] for i in group]
                s = [splits[i] for i in group]
                out.extend(pc.run(plan(w, s, ubatch=pc.n_ubatch), w, s))
            return out
        if mode == "prefix":  # also for a single option: its number is the same alone or with siblings
            # the context but its last two tokens, evaluated once from an empty cache and its KV state saved;
            # for each option that state is restored into an emptied cache and the option's plan evaluates
            # those two tokens with its own: a one-option evaluation cut at that point
            kept = tuple(context_tokens[:-2])
            out = []
            for w, s in zip(wholes, splits, strict=True):
                if s - 2 < len(kept) or not kept:  # the boundary token merged, or a context too short to share
                    out.append(pc.run(plan([w], [s], ubatch=pc.n_ubatch), [w], [s])[0])
                    continue
                pc.restore(kept)  # the kept context's cells, exactly as a fresh evaluation leaves them
                out.append(pc.run(plan([w], [s], cached=kept, ubatch=pc.n_ubatch), [w], [s])[0])
            return out
        # solo: each option is context + continuation evaluated from an empty cache, like llama-cpp-python's
        # own eval(), one n_batch piece at a time
        return [pc.run(plan([w], [s], ubatch=pc.n_ubatch), [w], [s])[0] for w, s in zip(wholes, splits, strict=True)]

    async def loglikelihood(self, request: LoglikRequest) -> Loglik:
        return await self._run(self._loglik_sync, request)

    # -- lifecycle -------------------------------------------------------------------------------
    def _free(self) -> None:
        if self._scorer is not None:  # its context before the model it runs on
            self._scorer.close()
        if self._gen is not None:
            self._gen.close()
        self._gen = self._scorer = None

    async def aclose(self) -> None:
        if self._closed:
            return
        await self._run(self._free)
        self._closed = True
        self._executor.shutdown(wait=True)
