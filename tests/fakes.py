"""An in-process backend for runner tests: answers by echoing, and injects faults on request.

A stub is used here only to inject faults and to count calls; real models are tested in test_backends.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator

from sovereval.bench.types import (
    BackendError,
    Generation,
    GenerationRequest,
    Loglik,
    LoglikRequest,
    ModelIdentity,
)


class EchoBackend:
    def __init__(self, delay_s: float = 0.0, faults: dict[str, list[str]] | None = None,
                 log_path: str | None = None) -> None:
        self.identity = ModelIdentity(name="echo", weights_sha256="e" * 64)
        self.endpoint = "embedded:echo"
        self.delay_s = delay_s
        self.faults = {k: list(v) for k, v in (faults or {}).items()}  # prompt -> faults to raise, in order
        self.calls: Counter[str] = Counter()
        self.log_path = log_path

    async def generate(self, request: GenerationRequest) -> Generation:
        prompt = request.prompt or request.messages[-1].content
        self.calls[prompt] += 1
        pending = self.faults.get(prompt)
        if pending:
            fault = pending.pop(0)
            if fault == "hang":
                await asyncio.sleep(3600)
            raise {
                "429": BackendError("slow down", kind="rate_limit", status=429, retry_after=0.01),
                "500": BackendError("boom", kind="server", status=500),
                "400": BackendError("bad request", kind="client", status=400),
                "drop": BackendError("connection reset", kind="dropped"),
            }[fault]
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.log_path:  # the answer is complete: record that it was produced
            with open(self.log_path, "a", encoding="utf-8") as f:  # noqa: ASYNC230 - a test log, fsynced on purpose
                f.write(prompt + "\n")
                f.flush()
                os.fsync(f.fileno())
        return Generation(text=f"echo: {prompt}", completion_tokens=3)

    async def loglikelihood(self, request: LoglikRequest) -> Loglik:
        n = len(request.continuations)
        return Loglik(logprobs=tuple(-float(len(c)) for c in request.continuations), n_tokens=(1,) * n,
                      n_chars=tuple(len(c) for c in request.continuations), is_greedy=(False,) * n)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        yield (await self.generate(request)).text

    async def aclose(self) -> None:
        return None
