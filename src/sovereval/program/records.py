"""Raw inputs as typed, frozen records: what the store keeps and the scoring engine reads.

Each record says where it came from (``provenance``): ``recorded`` (measured by this platform or
submitted by an evaluator), ``published`` (copied from an official release), or ``reconstructed``
(invented to fit published aggregates; shown as such wherever it surfaces).
"""

from __future__ import annotations

import functools
import math
from typing import Literal

from pydantic import Field, model_validator

from sovereval.digest import content_digest
from sovereval.program.spec import Frozen, Id

Provenance = Literal["recorded", "published", "reconstructed"]


class BenchmarkResult(Frozen):
    """One team's result on one benchmark: item-level scores, or a summary when only that exists.

    Item-level (preferred): ``item_ids`` and ``scores`` in [0, 1]; optional ``clusters`` (items that
    share a passage are resampled together).  Summary: ``n`` items and ``mean`` in percent; ``binary``
    says items were scored 0/1 (then the bootstrap is exact: Binomial(n, mean)); otherwise ``sd``
    (of item scores, in percent) is required and the bootstrap uses a normal approximation, flagged.
    """

    team: Id
    benchmark: Id
    item_ids: tuple[str, ...] = ()
    scores: tuple[float, ...] = ()
    clusters: tuple[str, ...] = ()
    n: int | None = Field(None, ge=1)
    mean: float | None = Field(None, ge=0, le=100)
    binary: bool = True
    sd: float | None = Field(None, ge=0)
    provenance: Provenance = "recorded"
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> BenchmarkResult:
        where = f"benchmark result {self.team}/{self.benchmark}"
        if self.scores:
            if self.mean is not None or self.n is not None:
                raise ValueError(f"{where}: give item scores or a summary (n, mean), not both")
            if len(self.item_ids) != len(self.scores):
                raise ValueError(f"{where}: {len(self.item_ids)} item_ids but {len(self.scores)} scores")
            if len(set(self.item_ids)) != len(self.item_ids):
                raise ValueError(f"{where}: duplicate item ids")
            if self.clusters and len(self.clusters) != len(self.scores):
                raise ValueError(f"{where}: {len(self.clusters)} clusters for {len(self.scores)} items")
            bad = [s for s in self.scores if not (0.0 <= s <= 1.0) or math.isnan(s)]
            if bad:
                raise ValueError(f"{where}: item scores must lie in [0, 1]; got e.g. {bad[0]!r}")
        else:
            if self.n is None or self.mean is None:
                raise ValueError(f"{where}: needs item scores, or both 'n' and 'mean' (percent)")
            if self.binary:
                k = self.mean / 100 * self.n
                if abs(k - round(k)) > 1e-6:
                    raise ValueError(
                        f"{where}: binary items: mean {self.mean}% of n={self.n} is {k:.4f} correct items, "
                        f"not a whole number; fix 'mean' or 'n', or set binary = false with 'sd'"
                    )
            elif self.sd is None:
                raise ValueError(f"{where}: non-binary summary needs 'sd' (item-score standard deviation, %)")
        return self

    @property
    def item_count(self) -> int:
        return len(self.scores) if self.scores else int(self.n or 0)

    @property
    def percent(self) -> float:
        if self.scores:
            return 100.0 * math.fsum(self.scores) / len(self.scores)
        assert self.mean is not None
        return self.mean


class Rating(Frozen):
    """One rater's score of one team on one rated item (rubric section or user criterion)."""

    panel: Id
    rater: Id
    team: Id
    item: Id
    value: float
    comment: str = ""
    provenance: Provenance = "recorded"


class GateDecision(Frozen):
    gate: Id
    team: Id
    status: Literal["pass", "fail", "pending"]
    reason: str = ""
    evidence: str = ""
    decided_by: str = ""
    date: str = ""
    provenance: Provenance = "recorded"

    @model_validator(mode="after")
    def _check(self) -> GateDecision:
        if self.status == "fail" and not self.reason.strip():
            raise ValueError(f"gate {self.gate}/{self.team}: a 'fail' needs a reason")
        return self


class Approval(Frozen):
    """A panel member's vote on a team (main selection or a re-competition candidate)."""

    panel: Id
    rater: Id
    team: Id
    approve: bool
    call: Literal["main", "recompetition"] = "main"
    provenance: Provenance = "recorded"


class PublishedCell(Frozen):
    """A number from an official release, to label cells and check reproduction."""

    key: Id  # a block id, sub-block id, or 'total'
    team: Id | None = None  # None for an aggregate over teams
    stat: Literal["value", "mean"] = "value"
    value: float
    #: the precision the release printed (default: the stage's decimals)
    decimals: int | None = Field(None, ge=0, le=6)
    source: str = ""


class PublishedOutcome(Frozen):
    selected: tuple[Id, ...] = ()
    eliminated: dict[str, str] = Field(default_factory=dict)
    source: str = ""


class Inputs(Frozen):
    """Everything the engine scores for one stage."""

    program: Id
    stage: Id
    provenance: Provenance = "recorded"
    note: str = ""
    benchmarks: tuple[BenchmarkResult, ...] = ()
    ratings: tuple[Rating, ...] = ()
    gates: tuple[GateDecision, ...] = ()
    approvals: tuple[Approval, ...] = ()
    published: tuple[PublishedCell, ...] = ()
    outcome: PublishedOutcome | None = None

    @model_validator(mode="after")
    def _unique(self) -> Inputs:
        for what, keys in (
            ("benchmark result", [(b.team, b.benchmark) for b in self.benchmarks]),
            ("rating", [(r.panel, r.rater, r.team, r.item) for r in self.ratings]),
            ("gate decision", [(g.gate, g.team) for g in self.gates]),
            ("approval", [(a.panel, a.rater, a.team, a.call) for a in self.approvals]),
            ("published cell", [(p.key, p.team, p.stat) for p in self.published]),
        ):
            seen: set[tuple] = set()
            for k in keys:
                if k in seen:
                    raise ValueError(f"duplicate {what} {'/'.join(str(x) for x in k)}")
                seen.add(k)
        return self


#: per record list of :class:`Inputs`: the fields that name what one record measures (its key).  Within
#: one ``Inputs`` keys are unique; in the store a second value for a key is a change.
RECORD_KEYS: dict[str, tuple[str, ...]] = {
    "benchmarks": ("team", "benchmark"),
    "ratings": ("panel", "rater", "team", "item"),
    "gates": ("gate", "team"),
    "approvals": ("panel", "rater", "team", "call"),
    "published": ("key", "team", "stat"),
}


def record_sort_key(fields: tuple[str, ...], record: Frozen) -> tuple[str, ...]:
    """A record's key as a sortable tuple (``None``, e.g. an aggregate published cell's team, sorts as "")."""
    return tuple("" if (v := getattr(record, f)) is None else v for f in fields)


def normalise_inputs(inputs: Inputs) -> Inputs:
    """The same inputs with every record list sorted by key (the order ``Store.current_inputs`` uses)."""
    return inputs.model_copy(update={
        field: tuple(sorted(getattr(inputs, field), key=functools.partial(record_sort_key, names)))
        for field, names in RECORD_KEYS.items()
    })  # fmt: skip


def inputs_digest(inputs: Inputs) -> str:
    """The digest of a whole :class:`Inputs`, whatever the order of its records: the one inputs digest.

    :func:`sovereval.digest.content_digest` (ASCII format) of :func:`normalise_inputs`'s JSON dump.  The
    store records it with every import batch; the scoring engine puts it on the sheet
    (``Sheet.inputs_sha256``), which the CLI and the web app record with each score run.
    """
    try:
        return content_digest(normalise_inputs(inputs).model_dump(mode="json"), ascii=True)
    except ValueError as e:
        raise ValueError(f"inputs {inputs.program}/{inputs.stage} hold NaN or an infinity: {e}") from None
