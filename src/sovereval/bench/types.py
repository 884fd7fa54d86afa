"""The contract between benchmark declarations, model backends, the runner and the ledger.

A request is a frozen value whose canonical JSON payload (plus the model identity, endpoint and epoch)
is the ledger key (:func:`sovereval.digest.key_for`): the same request against the same weights is never
sent twice, and a changed prompt, sampling parameter or weights hash is a different request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import Field, model_validator

# key_for and request_key (the ledger key) live in sovereval.digest and are re-exported here
from sovereval.digest import canonical_json_unicode, key_for, request_key  # noqa: F401
from sovereval.errors import SovereValError
from sovereval.program.spec import Frozen

#: the canonical JSON that ledger keys are taken over (kept under its old name for callers)
canonical = canonical_json_unicode


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
    """Log-probability of each continuation given the context (multiple choice by likelihood).

    Plain format: ``context`` is text, tokenized as text.  Chat format: ``messages`` instead of a context;
    the backend applies the model's chat template (assistant turn opened) and parses its special tokens as
    special tokens; each continuation follows as the start of the assistant's answer."""

    kind: Literal["loglik"] = "loglik"
    context: str = ""
    continuations: tuple[str, ...] = Field(min_length=1)
    messages: tuple[Message, ...] = ()

    @model_validator(mode="after")
    def _one_format(self) -> LoglikRequest:
        if self.messages and self.context:
            raise ValueError("a loglik request has a plain context or chat messages, not both")
        return self

    def payload(self) -> dict[str, Any]:
        out = self.model_dump(mode="json")
        if not self.messages:  # plain requests keep the keys they always had
            del out["messages"]
        return out


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


class BackendError(SovereValError):
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

