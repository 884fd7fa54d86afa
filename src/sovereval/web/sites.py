"""Each team's chat site: a blind label, the team's model behind a :class:`Backend`, and the declared
cost per 1M tokens and model size that the platform shows beside the ratings.

Labels are blind ("Model K", ...): assigned from a seeded shuffle, so the order of teams in the
programme does not reveal who is behind a label.  Backends are built by a factory the app calls once;
:func:`open_site_backend` turns a declaration (``llama:<model>``, ``openai:<url>``, ``stub:``) into one.
"""

from __future__ import annotations

import random
import string
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sovereval.bench.types import Backend, Sampling


@dataclass(frozen=True)
class Site:
    team: str
    label: str
    backend: Backend
    cost_per_mtok: float | None = None
    params_b: float | None = None
    system_prompt: str = "You are a helpful assistant. Answer concisely."
    sampling: Sampling = field(default_factory=lambda: Sampling(max_tokens=160, temperature=0.0))


def blind_labels(teams: tuple[str, ...], seed: int = 0) -> dict[str, str]:
    letters = list(string.ascii_uppercase)
    random.Random(seed).shuffle(letters)
    return {t: f"Model {letters[i % 26]}{'' if i < 26 else i // 26}" for i, t in enumerate(teams)}


async def open_site_backend(spec: str, **options: Any) -> Backend:
    """``llama:<model name or GGUF path>`` (embedded llama-cpp-python), ``openai:<base_url>[#model]``
    (any OpenAI-compatible server, e.g. llama-server), or ``stub:<name>`` (an instant echo: the load
    benchmark and route tests only)."""
    if spec.startswith("stub:"):
        from sovereval.web.stub import StubBackend

        return StubBackend(spec.partition(":")[2] or "stub", **options)
    from sovereval.bench.backends import open_backend

    return await open_backend(spec, **options)


SiteFactory = Callable[[], Awaitable[Mapping[str, Site]]]
