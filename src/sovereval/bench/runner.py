"""Send requests to a backend, durably: bounded queue, adaptive concurrency, classified retries, ledger.

* Requests are produced lazily (never all at once); keys already in the ledger are skipped, so a rerun
  after a crash or ``kill -9`` resumes where the last group commit left off.
* Concurrency adapts (AIMD): a 429 halves it and honours Retry-After; 5xx, timeouts and dropped streams
  are retried with exponential backoff and jitter without cutting concurrency; other 4xx and invalid
  replies are recorded as failures and not retried.
* Completed responses are written by one writer task in small transactions (every ``flush_s`` or
  ``flush_n`` results), off the event loop.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sovereval.bench.limiter import AIMDLimiter
from sovereval.bench.types import Backend, BackendError, GenerationRequest, LoglikRequest, Request
from sovereval.store.ledger import Entry, Failure, Ledger


@dataclass(frozen=True)
class Job:
    key: str
    request: Request


@dataclass
class RunStats:
    total: int = 0
    cached: int = 0
    completed: int = 0
    failed: int = 0
    retries: int = 0
    rate_limited: int = 0
    duration_s: float = 0.0
    failures: list[Failure] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.completed / self.duration_s if self.duration_s else 0.0


@dataclass(frozen=True)
class RunConfig:
    concurrency: int = 16
    max_concurrency: int = 256
    max_retries: int = 6
    timeout_s: float = 300.0
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0
    flush_s: float = 0.05
    flush_n: int = 512
    check_chunk: int = 512
    progress: bool = True
    adaptive: bool = True


async def _call(backend: Backend, request: Request, timeout_s: float):
    try:
        # asyncio.timeout, not wait_for: wait_for wraps every request in an extra Task (Python 3.11)
        async with asyncio.timeout(timeout_s):
            if isinstance(request, LoglikRequest):
                return await backend.loglikelihood(request)
            assert isinstance(request, GenerationRequest)
            return await backend.generate(request)
    except TimeoutError:
        raise BackendError(f"no answer within {timeout_s:g} s", kind="timeout") from None


def _chunked(jobs: Iterable[Job], n: int) -> Iterator[list[Job]]:
    chunk: list[Job] = []
    for j in jobs:
        chunk.append(j)
        if len(chunk) >= n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def run_jobs(
    backend: Backend,
    jobs: Iterable[Job],
    ledger: Ledger,
    *,
    run_id: int | None = None,
    epoch: int = 0,
    total: int | None = None,
    config: RunConfig = RunConfig(),
    description: str = "requests",
    on_result: Callable[[str], None] | None = None,
) -> RunStats:
    """Run every job whose key is not yet in the ledger; return what happened."""
    stats = RunStats(total=total or 0)
    limiter = AIMDLimiter(limit=config.concurrency, maximum=config.max_concurrency) if config.adaptive else \
        AIMDLimiter(limit=config.concurrency, maximum=config.concurrency, increase=0, decrease=1)
    workers_n = config.max_concurrency if config.adaptive else config.concurrency
    queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=2 * workers_n)
    buffer: list[Entry] = []
    failed: list[Failure] = []
    flushed = asyncio.Event()
    done_producing = False
    model_key, endpoint = backend.identity.key, backend.endpoint
    started = time.perf_counter()

    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), disable=not config.progress,
                        transient=False)
    task = progress.add_task(description, total=total, info="")

    async def produce() -> None:
        nonlocal done_producing
        for chunk in _chunked(jobs, config.check_chunk):
            have = await asyncio.to_thread(ledger.completed_keys, [j.key for j in chunk])
            seen: set[str] = set()
            for j in chunk:
                if j.key in have or j.key in seen:  # identical requests collapse to one
                    stats.cached += 1
                    progress.advance(task)
                    continue
                seen.add(j.key)
                await queue.put(j)
        done_producing = True
        for _ in range(workers_n):
            await queue.put(None)

    async def work() -> None:
        while (job := await queue.get()) is not None:
            attempts = 0
            while True:
                attempts += 1
                await limiter.acquire()
                t0 = time.perf_counter()
                try:
                    response = await _call(backend, job.request, config.timeout_s)
                except BackendError as e:
                    await limiter.release("rate_limit" if e.kind == "rate_limit" else "error", e.retry_after)
                    if e.kind == "rate_limit":
                        stats.rate_limited += 1
                    if e.retryable and attempts <= config.max_retries:
                        stats.retries += 1
                        delay = min(config.backoff_max_s, config.backoff_s * 2 ** (attempts - 1))
                        await asyncio.sleep(e.retry_after or delay * (0.5 + random.random()))
                        continue
                    failed.append(Failure(job.key, run_id, e.kind, e.status, str(e), attempts))
                    stats.failed += 1
                    progress.advance(task)
                    break
                await limiter.release("ok")
                buffer.append(Entry(
                    key=job.key, run_id=run_id, model_key=model_key, endpoint=endpoint, epoch=epoch,
                    kind=job.request.kind, request=job.request.payload(), response=response.model_dump(mode="json"),
                    attempts=attempts, latency_s=time.perf_counter() - t0))
                stats.completed += 1
                progress.update(task, advance=1, info=f"in flight {limiter.in_flight}, limit {int(limiter.limit)}")
                if len(buffer) >= config.flush_n:
                    flushed.set()
                break

    async def write() -> None:
        while True:
            try:
                await asyncio.wait_for(flushed.wait(), config.flush_s)
            except TimeoutError:
                pass
            flushed.clear()
            if buffer or failed:
                entries, fails = buffer[:], failed[:]
                del buffer[:len(entries)]
                del failed[:len(fails)]
                await asyncio.to_thread(ledger.write, entries, fails)
                stats.failures.extend(fails)
                if on_result:
                    for e in entries:
                        on_result(e.key)
            if done_producing and all(w.done() for w in workers) and not buffer and not failed:
                return

    with progress:
        producer = asyncio.create_task(produce())
        workers = [asyncio.create_task(work()) for _ in range(workers_n)]
        writer = asyncio.create_task(write())
        try:
            await asyncio.gather(producer, *workers)
            await writer
        finally:
            for t in (producer, *workers, writer):
                t.cancel()
            # whatever completed before an error or cancellation is still written
            if buffer or failed:
                ledger.write(buffer, failed)
    stats.duration_s = time.perf_counter() - started
    return stats
