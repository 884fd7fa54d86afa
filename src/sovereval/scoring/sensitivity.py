"""Which change of the rules would change the selection?

Two families of what-ifs, on the point estimate:

* **Weights.**  One block (or one sub-block inside its block) is made worth ``x`` points while the
  others are rescaled so the stage total (or the block total) stays as declared.  Every team's total
  is then linear in ``x``, so the values of ``x`` where two teams swap order are solved exactly; the
  selection is re-run just past each, nearest first, and the first change is reported in both
  directions (more and fewer points).
* **Normalisers.**  Each sub-block is rescored with each other normaliser that applies to it
  (absolute scale, relative to best, linear rank points, ratio to target where targets exist).
"""

from __future__ import annotations

import numpy as np

from sovereval.program.records import Inputs
from sovereval.program.spec import (
    AbsoluteScale,
    Normaliser,
    Program,
    RankPoints,
    RatioToTargetCapped,
    RelativeToBest,
    Stage,
)
from sovereval.scoring import normalise
from sovereval.scoring.result import Flip, Sensitivity
from sovereval.scoring.rules import SubblockArrays, eligibility, rank_with, totals_from
from sovereval.scoring.select import lot_order


def _selection(stage: Stage, sub_points: dict[str, np.ndarray], eligible: np.ndarray, lot: np.ndarray) -> tuple[str, ...]:
    blocks, total = totals_from(stage, sub_points)
    ranked = rank_with(stage, sub_points, blocks, total, eligible[None], lot)
    return tuple(t for t, s in zip(stage.teams, ranked.selected[0], strict=True) if s)


def _factors(stage: Stage, unit: str, x: float) -> dict[str, float]:
    """Scale factor per sub-block when ``unit`` is made worth ``x`` points."""
    f = {s.id: 1.0 for s in stage.subblocks}
    block = next((b for b in stage.blocks if b.id == unit), None)
    if block is not None:
        rest = stage.total_points - block.points
        for b in stage.blocks:
            for s in b.subblocks:
                f[s.id] = x / block.points if b.id == unit else (stage.total_points - x) / rest
        return f
    parent = stage.block_of(unit)
    sb = next(s for s in parent.subblocks if s.id == unit)
    rest = parent.points - sb.points
    for s in parent.subblocks:
        f[s.id] = x / sb.points if s.id == unit else (parent.points - x) / rest
    return f


def _weight_flips(stage: Stage, base: dict[str, np.ndarray], eligible: np.ndarray, lot: np.ndarray,
                  selected: tuple[str, ...]) -> tuple[list[Flip], list[str]]:
    flips, stable = [], []
    units = [(b.id, b.points, stage.total_points, b.name or b.id) for b in stage.blocks if len(stage.blocks) > 1]
    units += [(s.id, s.points, b.points, s.name or s.id) for b in stage.blocks if len(b.subblocks) > 1 for s in b.subblocks]
    for unit, w, upper, name in units:
        def at(x: float, unit: str = unit) -> dict[str, np.ndarray]:
            f = _factors(stage, unit, x)
            return {k: v * f[k] for k, v in base.items()}

        t0 = sum(at(0.0).values())[0]
        t1 = sum(at(upper).values())[0]
        slope = (t1 - t0) / upper
        cands = set()
        for i in range(len(t0)):
            for j in range(i + 1, len(t0)):
                if abs(slope[i] - slope[j]) > 1e-12:
                    x = (t0[j] - t0[i]) / (slope[i] - slope[j])
                    if 0 < x < upper:
                        cands.add(float(x))
        eps = 1e-7 * upper
        found_dirs = []
        for direction in (+1, -1):
            pts = sorted((c for c in cands if (c - w) * direction > 0), key=lambda c: abs(c - w))
            for c in pts:
                hit = None
                for probe in (c + direction * eps, c + direction * 10 ** -(stage.selection.rank_decimals) * 2):
                    if 0 < probe < upper:
                        after = _selection(stage, at(probe), eligible, lot)
                        if after != selected:
                            hit = (probe, after)
                            break
                if hit:
                    x, after = hit
                    flips.append(Flip(
                        kind="weight", target=unit, magnitude=abs(x - w) / w, selected_after=after,
                        change=(f"{name}: {w:g} -> {x:.2f} points ({(x - w) / w:+.1%}; "
                                f"{'other blocks' if unit in {b.id for b in stage.blocks} else 'sibling sub-blocks'} rescaled)"),
                    ))
                    found_dirs.append(direction)
                    break
        if not found_dirs:
            stable.append(f"{name}: no weight between 0 and {upper:g} points changes the selection")
    flips.sort(key=lambda f: f.magnitude)
    return flips, stable


def _alternatives(sb_points: float, n_teams: int, has_targets: bool) -> list[Normaliser]:
    table = tuple(round(sb_points * (n_teams - k) / n_teams, 6) for k in range(n_teams))
    alts: list[Normaliser] = [
        AbsoluteScale(kind="absolute_scale"),
        RelativeToBest(kind="relative_to_best"),
        RankPoints(kind="rank_points", table=table),
    ]
    if has_targets:
        alts.append(RatioToTargetCapped(kind="ratio_to_target_capped"))
    return alts


def analyse(program: Program, stage: Stage, inputs: Inputs, arrays: list[SubblockArrays], seed: int) -> Sensitivity:
    eligible, _, _, _ = eligibility(program, stage, inputs)
    lot = lot_order(len(stage.teams), seed)
    base = {a.sb.id: a.points[:1] for a in arrays}
    selected = _selection(stage, base, eligible, lot)
    flips, stable = _weight_flips(stage, base, eligible, lot, selected)
    for a in arrays:
        for alt in _alternatives(a.sb.points, len(stage.teams), a.targets is not None):
            if alt.kind == a.sb.normaliser.kind:
                continue
            pts, _ = normalise.apply(alt, a.sb.points, a.pct[:1], a.weights, a.targets)
            after = _selection(stage, {**base, a.sb.id: pts}, eligible, lot)
            label = f"{a.sb.name or a.sb.id}: {a.sb.normaliser.kind} -> {normalise.describe(alt, a.sb.points)}"
            if after != selected:
                flips.append(Flip(kind="normaliser", target=a.sb.id, change=label, magnitude=0.0, selected_after=after))
            else:
                stable.append(label + ": same selection")
    return Sensitivity(flips=tuple(flips), stable=tuple(stable))
