"""The contract between benchmark declarations, model backends, the runner and the ledger.

A request is a frozen value whose canonical JSON payload (plus the model identity, endpoint and epoch)
is the ledger key: the same request against the same weights is never sent twice, and a changed
prompt, sampling parameter or weights hash is a different request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import Field

from sovereval.program.spec import Frozen


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class ModelIdentity(Frozen):
    """What was evaluated: a weights hash (local files) or the server's reported id plus revision."""

    name: str
    weights_sha256: str | None = None
    server_model_id: str | None = None
    revision: str | None = None

    @property
    def key(self) -> str:
        if self.weights_sha256:
            return f"sha256:{self.weights_sha256}"
        if self.server_model_id:
            return f"served:{self.server_model_id}@{self.revision or 'unknown-revision'}"
        raise ValueError(f"model {self.name!r} has no identity: give a weights sha256 or a served id + revision")


class Message(Frozen):
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()


class Sampling(Frozen):
    max_tokens: int = Field(256, ge=1)
    temperature: float = Field(0.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int | None = 0
    stop: tuple[str, ...] = ()


class GenerationRequest(Frozen):
    """Chat (``messages``) or plain completion (``prompt``); tools pass through to the server."""

    kind: Literal["generate"] = "generate"
    messages: tuple[Message, ...] = ()
    prompt: str | None = None
    sampling: Sampling = Sampling()
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | dict[str, Any] | None = None

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=False)


class LoglikRequest(Frozen):
    """Log-probability of each continuation given the context (multiple choice by likelihood)."""

    kind: Literal["loglik"] = "loglik"
    context: str
    continuations: tuple[str, ...] = Field(min_length=1)

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


Request = GenerationRequest | LoglikRequest


class Generation(Frozen):
    text: str  # the answer, reasoning stripped; "" when a think block never closed
    reasoning: str = ""
    unclosed_reasoning: bool = False
    finish_reason: str | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    ttft_s: float | None = None


class Loglik(Frozen):
    logprobs: tuple[float, ...]  # sum of token log-probs per continuation
    n_tokens: tuple[int, ...]
    n_chars: tuple[int, ...]
    is_greedy: tuple[bool, ...]


Response = Generation | Loglik


@runtime_checkable
class Backend(Protocol):
    """One model behind one small interface.  Implementations: ``openai`` (HTTP) and ``llama`` (embedded)."""

    identity: ModelIdentity
    endpoint: str  # URL, or "embedded:<runtime>/<version>"

    async def generate(self, request: GenerationRequest) -> Generation: ...

    async def loglikelihood(self, request: LoglikRequest) -> Loglik:
        """Raise :class:`LoglikUnsupported` rather than return anything wrong or empty."""
        ...

    def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """Answer text as it is produced (reasoning already stripped)."""
        ...

    async def aclose(self) -> None: ...


class BackendError(Exception):
    """A failed request, classified so the runner knows whether to retry."""

    def __init__(self, message: str, *, kind: Literal["rate_limit", "server", "timeout", "dropped", "client", "invalid"],
                 status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in ("rate_limit", "server", "timeout", "dropped")


class LoglikUnsupported(BackendError):
    def __init__(self, message: str) -> None:
        super().__init__(message, kind="invalid")


def request_key(identity: ModelIdentity, endpoint: str, request: Request, epoch: int = 0) -> str:
    """The ledger key: sha256 over model identity, endpoint, full payload (incl. sampling and seed), epoch."""
    return key_for(identity.key, endpoint, request, epoch)


def key_for(model_key: str, endpoint: str, request: Request, epoch: int = 0) -> str:
    """:func:`request_key` from a model key (``ModelIdentity.key``), e.g. one read back from the ledger."""
    body = canonical({"model": model_key, "endpoint": endpoint, "request": request.payload(), "epoch": epoch})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
