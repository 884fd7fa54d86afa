"""Multi-step evaluation: items whose requests depend on earlier answers (second turns, judges, agents).

A benchmark whose item needs more than one request (KoMT-Bench's second turn, an LLM judge reading the
answer, a tool-using agent talking to a simulated user) is an *episode*: an async function
``episode(decl, item, ctx) -> Score``, listed as an :class:`EpisodeInfo` by its suite (``EPISODES`` in
:mod:`sovereval.bench.suites`), put in the catalog by :func:`sovereval.bench.catalog.build` and named by
the declaration's scorer (``mode = "episode"``).  It never talks to a backend directly; it calls
``ctx.model(request)`` (and ``ctx.judge(request)``, ``ctx.user(request)`` where the declaration needs
them), each a :class:`Caller`:

* a request already in the ledger is answered from the ledger (same key as the runner's:
  :func:`~sovereval.bench.types.request_key`) — so a killed episode resumes, call by call, and a
  rerun asks the model nothing it already answered;
* otherwise the backend is asked, with the runner's retry classes (429/5xx/timeout/dropped retried with
  backoff; other errors raised as :class:`BackendError`), and the answer is written to the ledger
  *before* it is returned;
* in *replay* mode (``rescore``) the backend is never asked: a request not in the ledger raises
  :class:`NotInLedger`.  Because an episode is deterministic given its responses, replaying it over the
  ledger re-issues exactly the recorded requests and re-scores without any model.

Episodes must therefore be deterministic functions of (declaration, item, responses): no clocks, no
unseeded randomness.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sovereval.bench.types import (
    Backend,
    BackendError,
    Generation,
    Loglik,
    LoglikRequest,
    Request,
    Response,
    key_for,
)
from sovereval.errors import SovereValError
from sovereval.store.ledger import Entry, Ledger

if TYPE_CHECKING:
    from sovereval.bench.scorers.base import Score
    from sovereval.bench.spec import BenchmarkDecl, Item


class NotInLedger(SovereValError, LookupError):
    """Replay asked for a request that was never answered (the episode or its inputs changed)."""


@dataclass
class CallStats:
    calls: int = 0
    cached: int = 0
    completed: int = 0
    retries: int = 0


@dataclass
class Caller:
    """``await caller(request)`` -> the response, from the ledger or (once) from the backend."""

    ledger: Ledger
    model_key: str
    endpoint: str
    backend: Backend | None = None  # None: replay only
    run_id: int | None = None
    epoch: int = 0
    role: str = "model"
    max_retries: int = 6
    timeout_s: float = 300.0
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0
    semaphore: asyncio.Semaphore | None = None
    stats: CallStats = field(default_factory=CallStats)
    keys: list[str] = field(default_factory=list)  # every key this caller answered, in order

    @classmethod
    def live(cls, backend: Backend, ledger: Ledger, **kw: Any) -> Caller:
        return cls(ledger=ledger, model_key=backend.identity.key, endpoint=backend.endpoint, backend=backend, **kw)

    @property
    def replay(self) -> bool:
        return self.backend is None

    def key(self, request: Request) -> str:
        return key_for(self.model_key, self.endpoint, request, self.epoch)

    async def __call__(self, request: Request) -> Response:
        key = self.key(request)
        self.stats.calls += 1
        self.keys.append(key)
        have = await asyncio.to_thread(self.ledger.responses, [key])
        if key in have:
            self.stats.cached += 1
            return _parse(request, have[key])
        if self.backend is None:
            raise NotInLedger(f"{self.role} request {key[:12]}… is not in the ledger (replay asks no model); "
                              f"the episode, its declaration or the ledger differ from the recorded run")
        response, attempts, latency = await self._ask(request)
        entry = Entry(key=key, run_id=self.run_id, model_key=self.model_key, endpoint=self.endpoint,
                      epoch=self.epoch, kind=request.kind, request=request.payload(),
                      response=response.model_dump(mode="json"), attempts=attempts, latency_s=latency)
        await asyncio.to_thread(self.ledger.write, [entry])
        self.stats.completed += 1
        return response

    async def _ask(self, request: Request) -> tuple[Response, int, float]:
        assert self.backend is not None
        attempts = 0
        while True:
            attempts += 1
            t0 = time.perf_counter()
            try:
                if self.semaphore is not None:
                    async with self.semaphore:
                        response = await self._once(request)
                else:
                    response = await self._once(request)
                return response, attempts, time.perf_counter() - t0
            except BackendError as e:
                if not e.retryable or attempts > self.max_retries:
                    raise
                self.stats.retries += 1
                delay = min(self.backoff_max_s, self.backoff_s * 2 ** (attempts - 1))
                await asyncio.sleep(e.retry_after or delay * (0.5 + random.random()))

    async def _once(self, request: Request) -> Response:
        assert self.backend is not None
        try:
            if isinstance(request, LoglikRequest):
                return await asyncio.wait_for(self.backend.loglikelihood(request), self.timeout_s)
            return await asyncio.wait_for(self.backend.generate(request), self.timeout_s)
        except TimeoutError:
            raise BackendError(f"no answer within {self.timeout_s:g} s", kind="timeout") from None


def _parse(request: Request, data: dict[str, Any]) -> Response:
    return Loglik.model_validate(data) if isinstance(request, LoglikRequest) else Generation.model_validate(data)


@dataclass
class EpisodeContext:
    """What an episode may call: the model under test, and the judge / simulated user when declared."""

    model: Caller
    judge: Caller | None = None
    user: Caller | None = None
    data_root: Path | None = None  # where pinned files live (BFCL answers, τ² databases and policies)

    def need_judge(self, decl_id: str) -> Caller:
        if self.judge is None:
            raise ValueError(f"benchmark {decl_id!r} needs a judge model (give --judge / [evaluation].judge)")
        return self.judge

    def need_user(self, decl_id: str) -> Caller:
        if self.user is not None:
            return self.user
        if self.judge is not None:  # the judge model doubles as the simulated user unless one is given
            return self.judge
        raise ValueError(f"benchmark {decl_id!r} needs a simulated-user model (give --user or --judge)")

    def keys(self) -> list[str]:
        return [k for c in (self.model, self.judge, self.user) if c is not None for k in c.keys]


EpisodeFn = Callable[["BenchmarkDecl", "Item", EpisodeContext], Awaitable["Score"]]


@dataclass(frozen=True)
class EpisodeInfo:
    """A multi-step protocol under the name a declaration's ``scorer.name`` gives (``mode = "episode"``)."""

    name: str
    fn: EpisodeFn
    needs_judge: bool = False
    needs_user: bool = False
