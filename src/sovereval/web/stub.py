"""A deterministic, instant backend: ONLY for the load benchmark and route-level unit tests (model time
excluded by design).  Never used by ``serve`` unless asked for with ``stub:``; browser tests use a
real model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from sovereval.bench.types import (
    Generation,
    GenerationRequest,
    Loglik,
    LoglikRequest,
    LoglikUnsupported,
    ModelIdentity,
)


class StubBackend:
    def __init__(self, name: str = "stub", reply: str = "", delay_s: float = 0.0, chunks: int = 8) -> None:
        self.identity = ModelIdentity(name=name, server_model_id=name, revision="stub")
        self.endpoint = f"stub:{name}"
        self.reply = reply
        self.delay_s = delay_s
        self.chunks = chunks

    def _text(self, request: GenerationRequest) -> str:
        if self.reply:
            return self.reply
        last = request.messages[-1].content if request.messages else (request.prompt or "")
        return f"{self.identity.name} answers: {last}"

    async def generate(self, request: GenerationRequest) -> Generation:
        return Generation(text=self._text(request), finish_reason="stop")

    async def loglikelihood(self, request: LoglikRequest) -> Loglik:
        raise LoglikUnsupported("stub backend")

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        text = self._text(request)
        step = max(1, len(text) // self.chunks)
        for i in range(0, len(text), step):
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            yield text[i : i + step]

    async def aclose(self) -> None:
        return None
