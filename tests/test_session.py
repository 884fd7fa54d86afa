"""Episode callers: ledger first, backend once, retries by class, replay without any model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sovereval.bench.session import Caller, NotInLedger
from sovereval.bench.types import BackendError, GenerationRequest, Message, Sampling, request_key
from sovereval.store import Store
from sovereval.store.ledger import Ledger
from tests.fakes import EchoBackend


def turn(text: str) -> GenerationRequest:
    return GenerationRequest(messages=(Message(role="user", content=text),), sampling=Sampling(max_tokens=8))


async def two_turns(call: Caller) -> str:
    first = await call(turn("q1"))
    second = await call(GenerationRequest(messages=(
        Message(role="user", content="q1"), Message(role="assistant", content=first.text),  # type: ignore[union-attr]
        Message(role="user", content="q2"))))
    return second.text  # type: ignore[union-attr]


def test_live_then_cached_then_replayed_without_a_model(tmp_path: Path) -> None:
    ledger, backend = Ledger(Store(f"sqlite:///{tmp_path / 'l.db'}")), EchoBackend()
    live = Caller.live(backend, ledger)
    assert asyncio.run(two_turns(live)) == "echo: q2"
    assert live.stats.completed == 2 and ledger.count() == 2
    # the keys are the runner's keys: a request answered here is a cache hit for run_jobs and vice versa
    assert live.keys[0] == request_key(backend.identity, backend.endpoint, turn("q1"))
    again = Caller.live(backend, ledger)
    assert asyncio.run(two_turns(again)) == "echo: q2"
    assert again.stats.cached == 2 and sum(backend.calls.values()) == 2
    replay = Caller(ledger=ledger, model_key=backend.identity.key, endpoint=backend.endpoint)
    assert replay.replay and asyncio.run(two_turns(replay)) == "echo: q2"
    with pytest.raises(NotInLedger, match="not in the ledger"):
        asyncio.run(replay(turn("never asked")))


def test_retries_by_class_and_reports_client_errors(tmp_path: Path) -> None:
    ledger = Ledger(Store(f"sqlite:///{tmp_path / 'l.db'}"))
    backend = EchoBackend(faults={"flaky": ["500", "drop", "429"], "bad": ["400"]})
    call = Caller.live(backend, ledger, backoff_s=0.001)
    assert asyncio.run(call(turn("flaky"))).text == "echo: flaky"  # type: ignore[union-attr]
    assert backend.calls["flaky"] == 4 and call.stats.retries == 3
    with pytest.raises(BackendError) as e:
        asyncio.run(call(turn("bad")))
    assert e.value.kind == "client" and backend.calls["bad"] == 1 and ledger.count() == 1
