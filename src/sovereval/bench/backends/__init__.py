"""Model backends behind :class:`sovereval.bench.types.Backend`.

* :class:`OpenAIBackend` (``openai``): any OpenAI-compatible HTTP server; aiohttp, streaming, tools.
* :class:`LlamaBackend` (``llama``): a GGUF model in-process via llama-cpp-python; correct log-likelihood.

Both strip reasoning once, in :mod:`.reasoning`.  :func:`open_backend` builds one from a spec string:
``openai:<base_url>[#<model>]`` or ``llama:<model name or GGUF path>``.
"""

from __future__ import annotations

from typing import Any

from sovereval.bench.backends.openai import OpenAIBackend
from sovereval.bench.backends.reasoning import Answer, AnswerStream, split_reasoning
from sovereval.bench.types import Backend

__all__ = ["Answer", "AnswerStream", "LlamaBackend", "OpenAIBackend", "open_backend", "split_reasoning"]


def __getattr__(name: str) -> Any:  # LlamaBackend imports numpy/llama lazily
    if name == "LlamaBackend":
        from sovereval.bench.backends.llama import LlamaBackend

        return LlamaBackend
    raise AttributeError(name)


async def open_backend(spec: str, **kwargs: Any) -> Backend:
    """``openai:http://host:port/v1#model`` (model optional when the server serves one) or
    ``llama:smollm2-135m-instruct`` / ``llama:/path/model.gguf``; ``kwargs`` go to the backend."""
    kind, _, target = spec.partition(":")
    if kind == "openai" and target:
        url, _, model = target.partition("#")
        return await OpenAIBackend.connect(url, model=model or None, **kwargs)
    if kind == "llama" and target:
        from sovereval.bench.backends.llama import LlamaBackend

        return LlamaBackend(target, **kwargs)
    raise ValueError(f"unknown backend spec {spec!r}: use openai:<base_url>[#model] or llama:<model>")
