"""The store's vocabulary: its errors, the record kinds it keeps, and the frozen dataclasses its reads
return (programmes, input batches, history entries, score runs, audit events).

Nothing here touches the database; every other module of :mod:`sovereval.store` builds on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sovereval.errors import SovereValError
from sovereval.program.records import (
    Approval,
    BenchmarkResult,
    GateDecision,
    PublishedCell,
    PublishedOutcome,
    Rating,
)

Kind = Literal["benchmark", "rating", "gate", "approval", "published", "outcome"]
KINDS: tuple[Kind, ...] = get_args(Kind)
Record = BenchmarkResult | Rating | GateDecision | Approval | PublishedCell | PublishedOutcome
Key = tuple[str | None, ...]


class StoreError(SovereValError):
    """A request the store refuses (unknown programme, changed values without a reason, ...)."""


class ConflictError(StoreError):
    """An import would change recorded values; ``changed`` names their keys."""

    def __init__(self, program_id: str, stage_id: str, changed: Sequence[str]) -> None:
        self.changed = tuple(changed)
        shown = ", ".join(self.changed[:20]) + (
            f" (+{len(self.changed) - 20} more)" if len(changed) > 20 else ""
        )
        super().__init__(
            f"{len(self.changed)} value(s) already recorded for program {program_id!r} stage {stage_id!r} "
            f"differ from this import: {shown}. Nothing was written; to supersede them, import again "
            f"with a reason."
        )


@dataclass(frozen=True)
class ProgramInfo:
    sha256: str
    program_id: str
    version: str
    source_name: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class Batch:
    id: int
    program_id: str
    program_sha256: str
    stage_id: str
    kind: Literal["import", "gate"]
    source_name: str
    source_sha256: str | None
    provenance: str
    note: str
    reason: str | None
    content_sha256: str
    inputs_sha256: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded value of a key; ``current`` is False once a later batch superseded it."""

    batch: Batch
    kind: Kind
    key: Key
    record: Record
    current: bool


@dataclass(frozen=True)
class ScoreRunInfo:
    id: int
    program_sha256: str
    program_id: str
    stage_id: str
    inputs_sha256: str
    seed: int
    replicates: int
    engine_version: str
    result: dict[str, Any]
    result_sha256: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str
