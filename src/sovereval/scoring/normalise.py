"""Normalisers: item percentages of every team, in every replicate, to sub-block points.

All functions take ``pct`` (R, T, I) item percentages (NaN where a team has no such item),
``weights`` (T, I) (0 where absent) and return (R, T) points.  They work row by row, so
relative and rank normalisers re-rank inside each bootstrap replicate.
"""

from __future__ import annotations

import numpy as np

from sovereval.program.spec import AbsoluteScale, Normaliser, RankPoints, RatioToTargetCapped, RelativeToBest


def weighted_item_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    v = np.where(weights[None] > 0, values, 0.0)
    return (v * weights[None]).sum(axis=2) / weights.sum(axis=1)[None]


def rank_points(table: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    """Points by descending rank along the last axis; tied teams share the mean of the places they span."""
    greater = (x[..., None, :] > x[..., :, None]).sum(axis=-1)
    equal = (x[..., None, :] == x[..., :, None]).sum(axis=-1)
    tab = np.concatenate([np.asarray(table, dtype=float), np.zeros(x.shape[-1])])  # beyond the table: 0
    cum = np.concatenate([[0.0], np.cumsum(tab)])
    return (cum[greater + equal] - cum[greater]) / equal


def apply(
    normaliser: Normaliser,
    points: float,
    pct: np.ndarray,
    weights: np.ndarray,
    targets: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (points (R, T), raw (R, T)) where raw is the weighted mean percentage (or ratio)."""
    if isinstance(normaliser, RatioToTargetCapped):
        assert targets is not None, "ratio_to_target_capped needs target reference scores"
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = pct / targets[None]
        if normaliser.full_at is not None:
            ratio = np.where(ratio >= normaliser.full_at, normaliser.cap, ratio)
        ratio = np.minimum(ratio, normaliser.cap)
        mean_ratio = weighted_item_mean(ratio, weights)
        return points * mean_ratio / normaliser.cap, mean_ratio
    raw = weighted_item_mean(pct, weights)
    if isinstance(normaliser, AbsoluteScale):
        scale = normaliser.scale if normaliser.scale is not None else points / normaliser.raw_max
        return np.clip(raw, 0.0, normaliser.raw_max) * scale, raw
    if isinstance(normaliser, RelativeToBest):
        best = raw.max(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(best > 0, raw / best * points, 0.0)
        return out, raw
    if isinstance(normaliser, RankPoints):
        return rank_points(normaliser.table, raw), raw
    raise TypeError(f"unknown normaliser {normaliser!r}")


def describe(normaliser: Normaliser, points: float) -> str:
    """One line, in words and numbers, of what the normaliser does."""
    if isinstance(normaliser, AbsoluteScale):
        scale = normaliser.scale if normaliser.scale is not None else points / normaliser.raw_max
        return f"absolute_scale: points = weighted mean % x {scale:g} (capped at {normaliser.raw_max:g}%)"
    if isinstance(normaliser, RatioToTargetCapped):
        extra = f"; ratio >= {normaliser.full_at:g} counts as {normaliser.cap:g}" if normaliser.full_at else ""
        return (
            f"ratio_to_target_capped: points = {points:g} x mean over items of min({normaliser.cap:g}, "
            f"achieved / target){extra}"
        )
    if isinstance(normaliser, RelativeToBest):
        return f"relative_to_best: points = {points:g} x team mean % / best team's mean %"
    if isinstance(normaliser, RankPoints):
        return f"rank_points: points by rank of the mean % from table {list(normaliser.table)}"
    raise TypeError(normaliser)
