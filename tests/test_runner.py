"""Runner: resume from the ledger, retries by class, adaptive concurrency, kill -9 loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sovereval.bench.runner import Job, RunConfig, run_jobs
from sovereval.bench.types import GenerationRequest, Sampling, request_key
from sovereval.store import Store
from sovereval.store.ledger import Ledger
from tests.fakes import EchoBackend

QUIET = RunConfig(progress=False, backoff_s=0.001, concurrency=8)


def jobs(backend: EchoBackend, n: int, prefix: str = "q") -> list[Job]:
    out = []
    for i in range(n):
        req = GenerationRequest(prompt=f"{prefix}{i}", sampling=Sampling(max_tokens=8))
        out.append(Job(request_key(backend.identity, backend.endpoint, req), req))
    return out


def test_runs_everything_once_and_resumes_from_the_ledger(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'l.db'}")
    ledger, backend = Ledger(store), EchoBackend(delay_s=0.001)
    js = jobs(backend, 600)
    stats = asyncio.run(run_jobs(backend, iter(js), ledger, total=600, config=QUIET))
    assert stats.completed == 600 and stats.failed == 0 and ledger.count() == 600
    # every response belongs to its own request (no mismatched pairing under concurrency)
    got = ledger.responses([j.key for j in js])
    assert all(got[j.key]["text"] == f"echo: {j.request.prompt}" for j in js)
    again = asyncio.run(run_jobs(backend, iter(js), ledger, total=600, config=QUIET))
    assert again.cached == 600 and again.completed == 0 and sum(backend.calls.values()) == 600


def test_retry_classes(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'l.db'}")
    ledger = Ledger(store)
    backend = EchoBackend(faults={"q1": ["500", "500"], "q2": ["400"], "q3": ["drop"], "q4": ["429", "429"]})
    stats = asyncio.run(run_jobs(backend, iter(jobs(backend, 10)), ledger, config=QUIET))
    assert stats.completed == 9 and stats.failed == 1
    assert backend.calls["q1"] == 3 and backend.calls["q3"] == 2 and backend.calls["q4"] == 3
    assert backend.calls["q2"] == 1  # a 4xx is not retried
    assert stats.failures[0].status == 400 and stats.failures[0].error_kind == "client"
    assert stats.rate_limited == 2 and stats.retries == 5


def test_timeouts_are_retried_then_recorded(tmp_path: Path) -> None:
    ledger = Ledger(Store(f"sqlite:///{tmp_path / 'l.db'}"))
    backend = EchoBackend(faults={"q0": ["hang", "hang", "hang"]})
    cfg = RunConfig(progress=False, backoff_s=0.001, timeout_s=0.05, max_retries=2)
    stats = asyncio.run(run_jobs(backend, iter(jobs(backend, 3)), ledger, config=cfg))
    assert stats.completed == 2 and stats.failed == 1 and stats.failures[0].error_kind == "timeout"
    assert backend.calls["q0"] == 3
    # a later run retries what failed, and completes it
    stats = asyncio.run(run_jobs(backend, iter(jobs(backend, 3)), ledger, config=cfg))
    assert stats.cached == 2 and stats.completed == 1


def test_rate_limits_cut_concurrency(tmp_path: Path) -> None:
    ledger = Ledger(Store(f"sqlite:///{tmp_path / 'l.db'}"))
    faults = {f"q{i}": ["429"] for i in range(0, 200, 10)}
    backend = EchoBackend(delay_s=0.002, faults=faults)
    cfg = RunConfig(progress=False, backoff_s=0.001, concurrency=32, max_concurrency=64)
    stats = asyncio.run(run_jobs(backend, iter(jobs(backend, 200)), ledger, config=cfg))
    assert stats.completed == 200 and stats.rate_limited == 20


CHILD = """
import asyncio, sys
from sovereval.bench.runner import RunConfig, run_jobs
from sovereval.store import Store
from sovereval.store.ledger import Ledger
from tests.fakes import EchoBackend
from tests.test_runner import jobs
backend = EchoBackend(delay_s=0.004, log_path=sys.argv[2])
asyncio.run(run_jobs(backend, iter(jobs(backend, 3000)), Ledger(Store(sys.argv[1])),
                     config=RunConfig(progress=False, concurrency=16, adaptive=False)))
"""


def test_kill_9_mid_run_loses_and_repeats_nothing_completed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    log1 = tmp_path / "answered-1.log"
    Store(url).close()  # migrate before the child starts
    root = Path(__file__).resolve().parents[1]
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, str(log1)], cwd=root,
                             env={**os.environ, "PYTHONPATH": str(root)})
    ledger = Ledger(Store(url))
    deadline = time.time() + 60
    while ledger.count() < 400 and time.time() < deadline:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    committed = ledger.count()
    assert 400 <= committed < 3000, "the kill must land mid-run"
    before = set(ledger.completed_keys([j.key for j in jobs(EchoBackend(), 3000)]))
    # rerun in this process: only what was not committed is sent again
    backend = EchoBackend()
    stats = asyncio.run(run_jobs(backend, iter(jobs(backend, 3000)), ledger, config=QUIET))
    assert ledger.count() == 3000 and stats.cached == committed and stats.completed == 3000 - committed
    resent = {j.key for j in jobs(backend, 3000) if backend.calls[j.request.prompt]}
    assert not (resent & before), "a request already in the ledger was sent again"
    # answered by the killed run but not yet committed: at most one group commit's worth plus in-flight
    answered = set(log1.read_text(encoding="utf-8").split())
    lost_in_flight = answered - {j.request.prompt for j in jobs(backend, 3000) if j.key in before}
    assert len(lost_in_flight) <= 512 + 16
