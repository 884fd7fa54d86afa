"""The programme's rules as typed, frozen specifications.

A :class:`Program` has stages; a stage has blocks of sub-blocks with maximum points, gates
(pass/fail conditions kept apart from points) and a selection rule.  Every number a sheet prints is
derived from these declarations plus recorded raw inputs (:mod:`sovereval.program.records`); nothing
about a particular programme is hard-coded.  Validation happens here so that a bad TOML is refused
before anything touches the store.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=64)]
POINT_TOLERANCE = 1e-6


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------------------------------
# Normalisers: how a sub-block's raw result (a percentage per item) becomes points.
# --------------------------------------------------------------------------------------------------


class AbsoluteScale(Frozen):
    """points = clip(weighted mean %, 0, raw_max) x scale.  ``scale`` defaults to points / raw_max."""

    kind: Literal["absolute_scale"]
    raw_max: float = Field(100.0, gt=0)
    scale: float | None = Field(None, gt=0)


class RatioToTargetCapped(Frozen):
    """Per item min(cap, achieved / target), weighted mean, x points.

    ``full_at`` (optional): a ratio at or above it counts as the cap (e.g. 0.95 of the target).
    """

    kind: Literal["ratio_to_target_capped"]
    cap: float = Field(1.0, gt=0)
    full_at: float | None = Field(None, gt=0)


class RelativeToBest(Frozen):
    """points = team's weighted mean % / best team's weighted mean % x points."""

    kind: Literal["relative_to_best"]


class RankPoints(Frozen):
    """Points by rank of the weighted mean % (ties share the mean of the tied places)."""

    kind: Literal["rank_points"]
    table: tuple[float, ...] = Field(min_length=1)


Normaliser = Annotated[
    AbsoluteScale | RatioToTargetCapped | RelativeToBest | RankPoints, Field(discriminator="kind")
]
NORMALISER_KINDS = ("absolute_scale", "ratio_to_target_capped", "relative_to_best", "rank_points")


# --------------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------------


class Item(Frozen):
    """One thing a sub-block scores: a benchmark, a rubric section or a user criterion.

    Benchmarks report a percentage (0-100, or item scores in [0, 1]).  Rated items are scored by raters
    on ``[min, max]``; their percentage is value / max x 100.  ``weight`` defaults to ``max`` for rated
    items (so rubric sections count by their points) and to 1 otherwise.
    """

    id: Id
    name: str = ""
    weight: float | None = Field(None, gt=0)
    min: float | None = None
    max: float | None = Field(None, gt=0)
    category: str = ""
    #: benchmark items sovereval can run itself: the declarations (catalogue ids, see ``sovereval
    #: benchmarks``) that measure this item, pooled item by item; empty: the item id itself, if declared
    benchmarks: tuple[str, ...] = ()
    note: str = ""

    @property
    def effective_weight(self) -> float:
        if self.weight is not None:
            return self.weight
        return self.max if self.max is not None else 1.0


class SubBlock(Frozen):
    id: Id
    name: str = ""
    points: float = Field(gt=0)
    source: Literal["benchmark", "rating"]
    items: tuple[Item, ...] = ()
    #: individual blocks: each team declares its own benchmarks (Team.individual_benchmarks)
    team_chosen: bool = False
    choose: int | None = Field(None, gt=0)
    #: rating sub-blocks: which panel rates, and how raters combine per item
    panel: Id | None = None
    rater_aggregate: Literal["mean", "trimmed_mean"] = "mean"
    trim: int = Field(1, ge=1)
    trim_min_raters: int = Field(5, ge=3)
    normaliser: Normaliser
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> SubBlock:
        if self.team_chosen and self.items:
            raise ValueError("a team_chosen sub-block takes its items from each team; remove 'items'")
        if not self.team_chosen and not self.items:
            raise ValueError("declare at least one item, or set team_chosen = true")
        if self.team_chosen and self.source != "benchmark":
            raise ValueError("team_chosen is only for benchmark sub-blocks")
        if self.source == "rating":
            if self.panel is None:
                raise ValueError("a rating sub-block must name its 'panel'")
            for it in self.items:
                if it.max is None:
                    raise ValueError(f"rated item {it.id!r} needs 'max' (the top of its rating scale)")
                if it.min is not None and it.min >= it.max:
                    raise ValueError(f"rated item {it.id!r}: min {it.min} must be below max {it.max}")
        if self.rater_aggregate == "trimmed_mean" and self.source != "rating":
            raise ValueError("rater_aggregate applies to rating sub-blocks only")
        ids = [it.id for it in self.items]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate item id(s) {sorted(dup)}")
        n = self.normaliser
        if isinstance(n, AbsoluteScale) and n.scale is not None:
            top = n.scale * n.raw_max
            if abs(top - self.points) > POINT_TOLERANCE:
                raise ValueError(
                    f"points do not add up: absolute_scale scale {n.scale:g} x raw_max {n.raw_max:g} = {top:g}, "
                    f"but the sub-block is worth {self.points:g}; fix 'scale' or 'points'"
                )
        if isinstance(n, RankPoints):
            if max(n.table) - self.points > POINT_TOLERANCE:
                raise ValueError(
                    f"points do not add up: rank_points table tops at {max(n.table):g} "
                    f"but the sub-block is worth {self.points:g}"
                )
            if list(n.table) != sorted(n.table, reverse=True):
                raise ValueError("rank_points table must be non-increasing (1st place first)")
        if isinstance(n, RatioToTargetCapped) and self.source != "benchmark":
            raise ValueError("ratio_to_target_capped needs benchmark results and a target model")
        return self

    @property
    def needs_target(self) -> bool:
        return isinstance(self.normaliser, RatioToTargetCapped)


class Block(Frozen):
    id: Id
    name: str = ""
    points: float = Field(gt=0)
    subblocks: tuple[SubBlock, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Block:
        total = sum(s.points for s in self.subblocks)
        if abs(total - self.points) > POINT_TOLERANCE:
            parts = " + ".join(f"{s.id} {s.points:g}" for s in self.subblocks)
            raise ValueError(
                f"points do not add up: sub-blocks {parts} = {total:g}, but block {self.id!r} is worth "
                f"{self.points:g}"
            )
        return self


class Gate(Frozen):
    """A pass/fail condition kept apart from points (e.g. the independence gate)."""

    id: Id
    name: str = ""
    description: str = ""
    #: what a pending gate means for selection: provisional (counted as pass, flagged) or excluded
    pending: Literal["provisional", "exclude"] = "provisional"


class Recompetition(Frozen):
    """Slots vacated by gate failures offered through a second call."""

    slots: int = Field(ge=1)
    call: str = ""
    #: a candidate of the second call needs approval by a majority of this panel
    panel_majority: Id | None = None


class Selection(Frozen):
    slots: int = Field(ge=1)
    #: 'vacate': rank on points first; a team in the top slots that fails a gate leaves its slot empty
    #: (it is not handed to the next team).  'next_in_line': gates first, then the top slots.
    gate_failure: Literal["vacate", "next_in_line"] = "next_in_line"
    min_total: float | None = None
    #: block or sub-block ids compared in order when totals tie; then lot (seeded, recorded)
    tie_break: tuple[Id, ...] = ()
    #: ranking compares totals rounded to this many decimals (the sheet's precision)
    rank_decimals: int = Field(2, ge=0, le=9)
    #: the main selection also needs approval by a majority of this panel
    panel_majority: Id | None = None
    recompetition: Recompetition | None = None


class Panel(Frozen):
    id: Id
    name: str = ""
    size: int | None = Field(None, ge=1)
    note: str = ""


# --------------------------------------------------------------------------------------------------
# Teams
# --------------------------------------------------------------------------------------------------


class ModelRef(Frozen):
    name: str
    #: how sovereval reaches the model to run benchmarks: ``openai:<base_url>[#model]`` (any
    #: OpenAI-compatible server) or ``llama:<known model or GGUF path>`` (embedded llama.cpp)
    backend: str | None = Field(None, pattern=r"^(openai|llama):.+")
    endpoint: str | None = None
    path: str | None = None
    weights_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    revision: str | None = None
    note: str = ""


class TargetModel(Frozen):
    name: str
    #: benchmark id -> the target model's reference score (percent)
    reference_scores: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    provenance: Literal["published", "declared", "reconstructed"] = "declared"
    note: str = ""


class Team(Frozen):
    id: Id
    name: str
    consortium: tuple[str, ...] = ()
    models: tuple[ModelRef, ...] = ()
    target: TargetModel | None = None
    individual_benchmarks: tuple[Id, ...] = ()
    note: str = ""


# --------------------------------------------------------------------------------------------------
# Stage and programme
# --------------------------------------------------------------------------------------------------


class Stage(Frozen):
    id: Id
    name: str = ""
    date: str = ""
    total_points: float = Field(gt=0)
    decimals: int = Field(1, ge=0, le=6)
    teams: tuple[Id, ...] = Field(min_length=1)
    blocks: tuple[Block, ...] = Field(min_length=1)
    gates: tuple[Gate, ...] = ()
    panels: tuple[Panel, ...] = ()
    selection: Selection
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> Stage:
        total = sum(b.points for b in self.blocks)
        if abs(total - self.total_points) > POINT_TOLERANCE:
            parts = " + ".join(f"{b.id} {b.points:g}" for b in self.blocks)
            raise ValueError(
                f"points do not add up: blocks {parts} = {total:g}, but total_points is {self.total_points:g}"
            )
        _no_dups("team", list(self.teams))
        ids = [b.id for b in self.blocks] + [s.id for b in self.blocks for s in b.subblocks]
        _no_dups("block/sub-block", ids)
        _no_dups("gate", [g.id for g in self.gates])
        _no_dups("panel", [p.id for p in self.panels])
        panels = {p.id for p in self.panels}
        for sb in self.subblocks:
            if sb.panel is not None and sb.panel not in panels:
                raise ValueError(f"sub-block {sb.id!r} names panel {sb.panel!r}; declare it under [[stages.panels]]")
        sel = self.selection
        for key in sel.tie_break:
            if key not in ids:
                raise ValueError(f"selection.tie_break names {key!r}, which is not a block or sub-block id")
        for p in (sel.panel_majority, sel.recompetition.panel_majority if sel.recompetition else None):
            if p is not None and p not in panels:
                raise ValueError(f"selection names panel {p!r}; declare it under [[stages.panels]]")
        if sel.slots > len(self.teams):
            raise ValueError(f"selection.slots {sel.slots} exceeds the {len(self.teams)} teams in the stage")
        return self

    @property
    def subblocks(self) -> tuple[SubBlock, ...]:
        return tuple(s for b in self.blocks for s in b.subblocks)

    def block_of(self, subblock_id: str) -> Block:
        for b in self.blocks:
            if any(s.id == subblock_id for s in b.subblocks):
                return b
        raise KeyError(subblock_id)


class Source(Frozen):
    title: str
    url: str = ""
    date: str = ""


class Program(Frozen):
    id: Id
    name: str
    version: str
    description: str = ""
    sources: tuple[Source, ...] = ()
    teams: tuple[Team, ...] = Field(min_length=1)
    stages: tuple[Stage, ...] = Field(min_length=1)

    @field_validator("teams")
    @classmethod
    def _unique_teams(cls, teams: tuple[Team, ...]) -> tuple[Team, ...]:
        _no_dups("team", [t.id for t in teams])
        _no_dups("team name", [t.name for t in teams])
        return teams

    @model_validator(mode="after")
    def _check(self) -> Program:
        _no_dups("stage", [s.id for s in self.stages])
        known = {t.id: t for t in self.teams}
        for st in self.stages:
            for tid in st.teams:
                if tid not in known:
                    raise ValueError(f"stage {st.id!r} lists team {tid!r}, which is not declared under [[teams]]")
            for sb in st.subblocks:
                for tid in st.teams:
                    team = known[tid]
                    chosen = team.individual_benchmarks if sb.team_chosen else tuple(i.id for i in sb.items)
                    if sb.team_chosen:
                        if not chosen:
                            raise ValueError(
                                f"team {tid!r} declares no individual_benchmarks, which sub-block {sb.id!r} needs"
                            )
                        if sb.choose is not None and len(chosen) != sb.choose:
                            raise ValueError(
                                f"team {tid!r} declares {len(chosen)} individual_benchmarks; "
                                f"sub-block {sb.id!r} requires exactly {sb.choose}"
                            )
                        _no_dups(f"team {tid!r} individual benchmark", list(chosen))
                    if sb.needs_target:
                        if team.target is None:
                            raise ValueError(
                                f"team {tid!r} has no target model, but sub-block {sb.id!r} scores "
                                f"against one; add [teams.target] with reference_scores"
                            )
                        missing = [b for b in chosen if b not in team.target.reference_scores]
                        if missing:
                            raise ValueError(
                                f"team {tid!r}: target model {team.target.name!r} has no reference score "
                                f"for {missing} (needed by sub-block {sb.id!r})"
                            )
        return self

    def stage(self, stage_id: str | None = None) -> Stage:
        if stage_id is None:
            return self.stages[0]
        for s in self.stages:
            if s.id == stage_id:
                return s
        raise KeyError(f"program {self.id!r} has no stage {stage_id!r} (has: {[s.id for s in self.stages]})")

    def team(self, team_id: str) -> Team:
        for t in self.teams:
            if t.id == team_id:
                return t
        raise KeyError(team_id)


def _no_dups(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    dups = sorted({v for v in values if v in seen or seen.add(v)})  # type: ignore[func-returns-value]
    if dups:
        raise ValueError(f"duplicate {what} id(s): {dups}")


def is_close(a: float, b: float) -> bool:
    return math.isclose(a, b, abs_tol=POINT_TOLERANCE)
