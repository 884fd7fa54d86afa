"""One benchmark on one model: declaration -> requests -> ledger -> per-item scores.

:func:`evaluate` runs a declaration against a backend; every request goes through the durable ledger
(one-request items through :func:`~sovereval.bench.runner.run_jobs`, multi-step items as episodes through
ledger-backed :class:`~sovereval.bench.session.Caller` objects).  :func:`rescore` repeats the scoring half
over the ledger alone — no model is loaded or asked — e.g. after an answer parser was fixed.

Items whose requests failed for good (after the runner's retries) have no score.  They are never
silently counted as wrong nor silently dropped: the outcome is *incomplete*, and turning it into a
:class:`~sovereval.program.records.BenchmarkResult` needs an explicit policy (rerun, which resumes and
asks only for what is missing; or ``failures="zero"``, recorded in the result's note).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sovereval import __version__
from sovereval.bench.catalog import build
from sovereval.bench.data import find_data_root, load_fewshot_pool, load_items, select_fewshot
from sovereval.bench.prompts import render
from sovereval.bench.runner import Job, RunConfig, RunStats, run_jobs
from sovereval.bench.scorers.base import Score
from sovereval.bench.session import Caller, EpisodeContext, NotInLedger
from sovereval.bench.spec import BenchmarkDecl, Item, Limit
from sovereval.bench.types import Backend, BackendError, Generation, Loglik, Request, key_for
from sovereval.digest import sha256_hex
from sovereval.errors import SovereValError
from sovereval.program.records import BenchmarkResult
from sovereval.store.ledger import Ledger, RunInfo

FailurePolicy = Literal["incomplete", "zero"]


@dataclass(frozen=True)
class Role:
    """A model taking part in a run: its ledger identity (key + endpoint), and the backend when live."""

    model_key: str
    endpoint: str
    name: str
    backend: Backend | None = None

    @classmethod
    def of(cls, backend: Backend) -> Role:
        return cls(backend.identity.key, backend.endpoint, backend.identity.name, backend)

    def manifest(self) -> dict[str, str]:
        return {"model_key": self.model_key, "endpoint": self.endpoint, "name": self.name}


@dataclass
class BenchOutcome:
    """Per-item scores of one benchmark on one model (``None``: no response; see ``failures``)."""

    decl: BenchmarkDecl
    model: Role
    items: list[Item]
    scores: list[Score | None]
    run_id: int | None
    failures: dict[str, str] = field(default_factory=dict)  # item id -> why it has no score
    stats: RunStats | None = None
    judge: Role | None = None

    @property
    def complete(self) -> bool:
        return all(s is not None for s in self.scores)

    @property
    def n_scored(self) -> int:
        return sum(s is not None for s in self.scores)

    @property
    def mean(self) -> float | None:
        vals = [s.value for s in self.scores if s is not None]
        return 100.0 * sum(vals) / len(vals) if vals else None

    def values(self, failures: FailurePolicy = "incomplete") -> tuple[list[Item], list[float]]:
        if not self.complete and failures == "incomplete":
            raise IncompleteRun(self)
        return self.items, [s.value if s is not None else 0.0 for s in self.scores]

    def describe(self) -> str:
        parts = [f"{self.decl.id} v{self.decl.version[:12]}", f"{self.n_scored}/{len(self.items)} items",
                 f"model {self.model.name} ({self.model.model_key[:19]}…)"]
        if self.judge is not None:
            parts.append(f"judge {self.judge.name} ({self.judge.model_key[:19]}…)")
        if self.run_id is not None:
            parts.append(f"ledger run {self.run_id}")
        return ", ".join(parts)


UNSCORABLE = "unscorable: "  # a failure a rerun cannot fix (e.g. no parseable judgement in the ledger)


class IncompleteRun(SovereValError, RuntimeError):
    def __init__(self, outcome: BenchOutcome) -> None:
        fails = outcome.failures
        unscorable = {k: v for k, v in fails.items() if v.startswith(UNSCORABLE)}
        missing = {k: v for k, v in fails.items() if k not in unscorable}
        parts = []
        if missing:
            k, v = next(iter(missing.items()))
            parts.append(f"{len(missing)} items have no response (e.g. {k}: {v}); rerun to resume (only the "
                         f"missing requests are sent)")
        if unscorable:
            k, v = next(iter(unscorable.items()))
            parts.append(f"{len(unscorable)} items are unscorable (e.g. {k}: {v}); a rerun returns the same "
                         f"recorded answers: fix the parser and rescore")
        super().__init__(f"{outcome.decl.id} on {outcome.model.name}, {len(fails)} of {len(outcome.items)} items "
                         f"without a score: " + "; ".join(parts) + "; or score them as zero explicitly")
        self.outcome = outcome


# --------------------------------------------------------------------------------------------------
# Items and requests
# --------------------------------------------------------------------------------------------------


def items_for(decl: BenchmarkDecl, data_root: str | os.PathLike[str] | None, limit: Limit | None = None) -> list[Item]:
    """The declaration's items, or a seeded subset (a declaration's own limit wins over ``limit``).

    The declaration is checked against the catalog first (its scorer or episode, adapters and generator
    must exist, its mode must be what its scorer reads), so a broken one fails before any model is asked.
    """
    build().check(decl)
    if limit is not None and decl.limit is None:
        decl = decl.with_(limit=limit)
    return load_items(decl, data_root)


def items_digest(items: Sequence[Item]) -> str:
    """sha256 of the item ids, one per line, in order: a run manifest's ``items_sha256`` (frozen; rescore checks it)."""
    return sha256_hex("\n".join(it.id for it in items))


def requests_for(decl: BenchmarkDecl, items: Sequence[Item], data_root: str | os.PathLike[str] | None,
                 order: Sequence[int] | None = None) -> Iterator[Request]:
    """One request per item (generate / loglik modes), rendered lazily in item order (or ``order``)."""
    pool = load_fewshot_pool(decl, data_root)
    for i in order if order is not None else range(len(items)):
        yield render(decl, items[i], select_fewshot(decl, items[i], pool))


def dispatch_order(decl: BenchmarkDecl, items: Sequence[Item]) -> list[int]:
    """The order in which items are sent: those whose few-shot exemplars are matched on the same field
    value (MMLU's subject) next to each other, so that a server with prefix caching (vLLM, SGLang,
    llama-server) can keep their shared preamble in its cache; the embedded backend keeps nothing between
    requests.  Results never depend on it (the ledger is keyed by request)."""
    match = decl.fewshot.match if decl.fewshot.k else None
    if not match:
        return list(range(len(items)))
    return sorted(range(len(items)), key=lambda i: str(items[i].fields.get(match, "")))


def manifest(decl: BenchmarkDecl, items: Sequence[Item], model: Role, judge: Role | None,
             user: Role | None, limit: Limit | None, tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "tags": dict(tags or {}),
        "sovereval": __version__, "benchmark": decl.id, "decl_version": decl.version,
        "template_sha256": decl.template_sha256, "mode": decl.mode, "scorer": decl.scorer.model_dump(),
        "n_items": len(items), "items_sha256": items_digest(items),
        "limit": limit.model_dump() if limit is not None and decl.limit is None else None,
        "model": model.manifest(), "judge": judge.manifest() if judge else None,
        "user": user.manifest() if user else None, "declaration": decl.model_dump(mode="json"),
    }


def _parse(decl: BenchmarkDecl, data: dict[str, Any]) -> Generation | Loglik:
    return Loglik.model_validate(data) if decl.mode == "loglik" else Generation.model_validate(data)


def request_keys(decl: BenchmarkDecl, items: Sequence[Item], model: Role, epoch: int,
                 data_root: str | os.PathLike[str] | None) -> list[str]:
    """The ledger key of every item's request (rendered again: what ``rescore`` looks up)."""
    return [key_for(model.model_key, model.endpoint, r, epoch) for r in requests_for(decl, items, data_root)]


# --------------------------------------------------------------------------------------------------
# Scoring (shared by evaluate and rescore)
# --------------------------------------------------------------------------------------------------


def _score_simple(decl: BenchmarkDecl, items: Sequence[Item], keys: Sequence[str], ledger: Ledger,
                  why: dict[str, str] | None = None) -> tuple[list[Score | None], dict[str, str]]:
    """Scores from the ledger (``keys``: each item's request key); ``why`` maps a request key to the reason
    it failed (from the runner)."""
    have = ledger.responses(keys)
    catalog = build()
    scores: list[Score | None] = []
    missing: dict[str, str] = {}
    for item, key in zip(items, keys, strict=True):
        if key not in have:
            scores.append(None)
            missing[item.id] = (why or {}).get(key, "no response in the ledger")
            continue
        scores.append(catalog.score(decl, item, _parse(decl, have[key])))
    return scores, missing


async def _run_episodes(decl: BenchmarkDecl, items: Sequence[Item], ledger: Ledger, model: Role,
                        judge: Role | None, user: Role | None, *, run_id: int | None, epoch: int,
                        concurrency: int, progress: bool,
                        data_root: str | os.PathLike[str] | None = None) -> tuple[list[Score | None], dict[str, str]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    info = build().episodes[decl.scorer.name]
    sem = asyncio.Semaphore(max(1, concurrency))
    root = Path(data_root) if data_root is not None else find_data_root()

    def caller(role: Role | None, what: str) -> Caller | None:
        if role is None:
            return None
        return Caller(ledger=ledger, model_key=role.model_key, endpoint=role.endpoint, backend=role.backend,
                      run_id=run_id, epoch=epoch, role=what)

    scores: list[Score | None] = [None] * len(items)
    missing: dict[str, str] = {}
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   disable=not progress)
    task = bar.add_task(f"{decl.id} (episodes)", total=len(items))

    async def one(i: int, item: Item) -> None:
        async with sem:
            ctx = EpisodeContext(model=caller(model, "model"), judge=caller(judge, "judge"),  # type: ignore[arg-type]
                                 user=caller(user, "user"), data_root=root)
            try:
                scores[i] = await info.fn(decl, item, ctx)
            except (BackendError, NotInLedger) as e:
                unscorable = isinstance(e, BackendError) and e.kind == "invalid"
                missing[item.id] = f"{UNSCORABLE if unscorable else ''}{type(e).__name__}: {e}"
            bar.advance(task)

    with bar:
        await asyncio.gather(*(one(i, it) for i, it in enumerate(items)))
    return scores, missing


# --------------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------------


async def evaluate(decl: BenchmarkDecl, backend: Backend, ledger: Ledger, *,
                   data_root: str | os.PathLike[str] | None = None, limit: Limit | None = None,
                   judge: Backend | None = None, user: Backend | None = None, epoch: int = 0,
                   config: RunConfig | None = None, actor: str = "sovereval",
                   tags: dict[str, str] | None = None) -> BenchOutcome:
    """Run ``decl`` on ``backend`` (resuming from the ledger) and score every item.

    ``tags`` (e.g. programme, stage, team, item) are kept in the run manifest so that ``rescore`` can
    find the runs that fed a programme's results.
    """
    config = config or RunConfig()
    items = items_for(decl, data_root, limit)
    if not items:
        raise ValueError(f"{decl.id}: no items")
    model, jrole, urole = Role.of(backend), Role.of(judge) if judge else None, Role.of(user) if user else None
    if decl.mode == "episode":
        info = build().episodes[decl.scorer.name]
        if info.needs_judge and jrole is None:
            raise ValueError(f"benchmark {decl.id!r} needs a judge model (--judge)")
        if info.needs_user and urole is None and jrole is None:
            raise ValueError(f"benchmark {decl.id!r} needs a simulated-user model (--user or --judge)")
    run_id = ledger.start_run(benchmark_id=decl.id, decl_version=decl.version, model_key=model.model_key,
                              model_name=model.name, endpoint=model.endpoint, epoch=epoch, n_items=len(items),
                              manifest=manifest(decl, items, model, jrole, urole, limit, tags), actor=actor)
    stats = RunStats(total=len(items))
    if decl.mode == "episode":
        scores, missing = await _run_episodes(decl, items, ledger, model, jrole, urole, run_id=run_id, epoch=epoch,
                                              concurrency=config.concurrency, progress=config.progress,
                                              data_root=data_root)
        stats.completed = len(items) - len(missing)
        stats.failed = len(missing)
    else:
        keys: list[str] = [""] * len(items)  # filled as the runner draws the lazily rendered requests

        def jobs() -> Iterator[Job]:
            order = dispatch_order(decl, items)
            for i, r in zip(order, requests_for(decl, items, data_root, order), strict=True):
                keys[i] = key_for(model.model_key, model.endpoint, r, epoch)
                yield Job(keys[i], r)

        stats = await run_jobs(backend, jobs(), ledger, run_id=run_id, epoch=epoch, total=len(items),
                               config=config, description=f"{decl.id} · {model.name}")
        why = {f.key: f"{f.error_kind}: {f.message[:200]}" for f in stats.failures}
        scores, missing = await asyncio.to_thread(_score_simple, decl, items, keys, ledger, why)
    ledger.end_run(run_id, completed=stats.completed, cached=stats.cached, failed=len(missing),
                   duration_s=stats.duration_s, actor=actor)
    return BenchOutcome(decl=decl, model=model, items=items, scores=scores, run_id=run_id, failures=missing,
                        stats=stats, judge=jrole)


def rescore(decl: BenchmarkDecl, run: RunInfo, ledger: Ledger, *,
            data_root: str | os.PathLike[str] | None = None) -> BenchOutcome:
    """Score a recorded run again from the ledger alone, with ``decl``'s (possibly fixed) scorer.

    The items are reloaded (sha256-checked) with the run's recorded subset and checked against the
    recorded item digest; requests are re-rendered, so the declaration's template and generation
    settings must be those of the run (only scorer settings may differ).  No model is loaded.
    """
    m = run.manifest
    limit = Limit.model_validate(m["limit"]) if m.get("limit") else None
    items = items_for(decl, data_root, limit)
    if items_digest(items) != m.get("items_sha256"):
        raise ValueError(f"rescore {decl.id} run {run.id}: the items differ from the recorded run "
                         f"({len(items)} now, {m.get('n_items')} then): data or subset changed")
    recorded = BenchmarkDecl.model_validate(m["declaration"]) if "declaration" in m else None
    if recorded is not None:
        same = recorded.model_dump(exclude={"scorer", "note"}) == decl.model_dump(exclude={"scorer", "note"})
        if not same:
            raise ValueError(f"rescore {decl.id} run {run.id}: the declaration changed beyond its scorer "
                             f"(template, data or sampling): that needs a new run, not a rescore")
    model = Role(run.model_key, run.endpoint, run.model_name)

    def role(key: str) -> Role | None:
        r = m.get(key)
        return Role(r["model_key"], r["endpoint"], r["name"]) if r else None

    judge, user = role("judge"), role("user")
    if decl.mode == "episode":
        scores, missing = asyncio.run(_run_episodes(decl, items, ledger, model, judge, user, run_id=None,
                                                    epoch=run.epoch, concurrency=8, progress=False,
                                                    data_root=data_root))
    else:
        scores, missing = _score_simple(decl, items, request_keys(decl, items, model, run.epoch, data_root), ledger)
    return BenchOutcome(decl=decl, model=model, items=items, scores=scores, run_id=run.id, failures=missing,
                        judge=judge)


def to_result(team: str, benchmark: str, outcomes: Sequence[BenchOutcome], *,
              failures: FailurePolicy = "incomplete") -> BenchmarkResult:
    """Item-level :class:`BenchmarkResult` for a programme item measured by one or more declarations.

    Several declarations standing for one programme item are pooled item by item (ids prefixed by the
    declaration id); items that share a cluster keep it, so the bootstrap resamples them together.
    """
    ids: list[str] = []
    vals: list[float] = []
    clusters: list[str] = []
    notes: list[str] = []
    for o in outcomes:
        items, values = o.values(failures)
        pre = f"{o.decl.id}/" if len(outcomes) > 1 else ""
        ids += [pre + it.id for it in items]
        vals += values
        clusters += [f"{o.decl.id}/{it.cluster}" if it.cluster else f"{o.decl.id}/{it.id}" for it in items]
        note = o.describe()
        if o.failures:
            note += f"; {len(o.failures)} items without response scored 0"
        notes.append(note)
    has_clusters = any(it.cluster for o in outcomes for it in o.items)
    return BenchmarkResult(team=team, benchmark=benchmark, item_ids=tuple(ids), scores=tuple(vals),
                           clusters=tuple(clusters) if has_clusters else (), provenance="recorded",
                           note="measured by sovereval: " + " | ".join(notes))
