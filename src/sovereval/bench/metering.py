"""What users only feel, measured: time to first token and tokens per second of a streamed answer.

Tokens are counted as streamed chunks (the embedded and OpenAI-compatible backends stream one token
per chunk); the count is labelled as such wherever it is shown.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sovereval.bench.types import Backend, GenerationRequest


@dataclass
class Meter:
    started: float = field(default_factory=time.perf_counter)
    first: float | None = None
    ended: float | None = None
    tokens: int = 0
    text: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ttft_s(self) -> float | None:
        return None if self.first is None else self.first - self.started

    @property
    def gen_s(self) -> float:
        return (self.ended or time.perf_counter()) - self.started

    @property
    def answer(self) -> str:
        return "".join(self.text)


def tokens_per_s(tokens: int, ttft_s: float | None, gen_s: float) -> float | None:
    """Decode rate after the first token (None when there is too little to measure)."""
    if ttft_s is None or tokens < 2:
        return None
    span = gen_s - ttft_s
    return (tokens - 1) / span if span > 0 else None


async def metered(backend: Backend, request: GenerationRequest, meter: Meter) -> AsyncIterator[str]:
    try:
        async for chunk in backend.stream(request):
            if not chunk:
                continue
            if meter.first is None:
                meter.first = time.perf_counter()
            meter.tokens += 1
            meter.text.append(chunk)
            yield chunk
    except Exception as e:  # noqa: BLE001 - a model failure is recorded and shown, not raised
        meter.error = f"{type(e).__name__}: {e}"[:500]
    finally:
        meter.ended = time.perf_counter()
