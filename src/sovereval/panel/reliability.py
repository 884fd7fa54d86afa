"""Inter-rater reliability of a panel (Krippendorff's alpha, interval level) and outlier raters.

Units are (team, rubric section); values are each score as a percentage of the section's maximum, so
sections with different maxima are comparable.  A rater is flagged when the leave-one-out correlation
of their scores with the mean of the other raters is low (< ``min_r``), or when their mean deviation
from the others is extreme (|z| > ``max_z`` among the raters).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RaterStat:
    rater: str
    n_units: int
    loo_r: float | None  # correlation with the mean of the other raters (None: too few shared units)
    mean_dev: float  # mean (rater - others' mean), in percentage points
    z: float | None
    flagged: bool
    why: str


@dataclass(frozen=True)
class Reliability:
    alpha: float | None  # None: not computable (fewer than 2 raters on any unit, or no variation)
    n_raters: int
    n_units: int
    raters: tuple[RaterStat, ...]
    note: str


def matrix(values: Mapping[tuple[str, str], float], raters: Sequence[str], units: Sequence[str]) -> np.ndarray:
    """(raters x units) with NaN where a rater did not score a unit; ``values`` keyed by (rater, unit)."""
    m = np.full((len(raters), len(units)), np.nan)
    ri = {r: i for i, r in enumerate(raters)}
    ui = {u: j for j, u in enumerate(units)}
    for (r, u), v in values.items():
        m[ri[r], ui[u]] = v
    return m


def krippendorff_alpha(m: np.ndarray) -> float | None:
    pairable = (~np.isnan(m)).sum(axis=0) >= 2
    if m.shape[0] < 2 or pairable.sum() < 1:
        return None
    import krippendorff

    sub = m[:, pairable]
    vals = sub[~np.isnan(sub)]
    if vals.size == 0 or np.allclose(vals, vals[0]):
        return None
    a = float(krippendorff.alpha(reliability_data=sub, level_of_measurement="interval"))
    return None if math.isnan(a) else a


def rater_stats(m: np.ndarray, raters: Sequence[str], *, min_r: float = 0.3, max_z: float = 2.0,
                min_units: int = 3) -> list[RaterStat]:  # fmt: skip
    devs: list[float] = []
    rs: list[float | None] = []
    ns: list[int] = []
    for i in range(m.shape[0]):
        others = np.delete(m, i, axis=0)
        with np.errstate(all="ignore"):
            other_mean = np.nanmean(others, axis=0) if others.shape[0] else np.full(m.shape[1], np.nan)
        ok = ~np.isnan(m[i]) & ~np.isnan(other_mean)
        ns.append(int(ok.sum()))
        devs.append(float(np.mean(m[i, ok] - other_mean[ok])) if ok.any() else 0.0)
        r: float | None = None
        if ok.sum() >= min_units and np.std(m[i, ok]) > 0 and np.std(other_mean[ok]) > 0:
            r = float(np.corrcoef(m[i, ok], other_mean[ok])[0, 1])
        rs.append(r)
    d = np.array(devs)
    sd = float(d.std()) if len(d) >= 3 else 0.0
    out = []
    for i, name in enumerate(raters):
        z = (devs[i] - float(d.mean())) / sd if sd > 0 else None
        why = []
        if rs[i] is not None and rs[i] < min_r:
            why.append(f"low agreement with the others (r = {rs[i]:.2f} < {min_r:g})")
        if z is not None and abs(z) > max_z:
            why.append(f"systematically {'high' if devs[i] > 0 else 'low'} ({devs[i]:+.1f} points, z = {z:+.1f})")
        out.append(RaterStat(name, ns[i], rs[i], devs[i], z, bool(why), "; ".join(why)))
    return out


def reliability(values: Mapping[tuple[str, str], float]) -> Reliability:
    raters = sorted({r for r, _ in values})
    units = sorted({u for _, u in values})
    if not values:
        return Reliability(None, 0, 0, (), "no scores yet")
    m = matrix(values, raters, units)
    alpha = krippendorff_alpha(m)
    note = "Krippendorff's alpha (interval) over (team, section) units, scores as % of the section maximum"
    if alpha is None:
        note = "alpha not computable yet: needs at least two raters on a unit and some variation"
    return Reliability(alpha, len(raters), len(units), tuple(rater_stats(m, raters)), note)
