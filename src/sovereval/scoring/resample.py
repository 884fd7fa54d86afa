"""Vectorised bootstrap replicates of benchmark means and rater aggregates.

Every function returns an array whose row 0 is the point estimate on the original data and rows
1..R are bootstrap replicates, so the engine runs one code path for both.

Benchmarks.  Items (or clusters of items sharing a passage) are the resampling units.  Teams scored on
the same item ids are resampled *jointly* (paired): one draw of items per replicate serves every team,
so differences between teams keep their correlation.  The draw is exact and cheap: units with the same
vector of (per-team sums, size) are grouped, and a replicate is a multinomial count over the groups
(binary items of 5 teams make at most 32 groups whatever the item count).  Many distinct groups fall
back to explicit index resampling in chunks.  A binary summary (n, mean) is resampled exactly as
Binomial(n, p)/n; a non-binary summary only by a normal approximation, reported as such.

Raters.  Raters of one panel are resampled jointly across teams and items (the same experts rate
every team).  Replicate weights are multinomial counts per rater; means and trimmed means (drop the
``trim`` lowest and highest ratings, counting multiplicity) are computed from the counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sovereval.program.records import BenchmarkResult

MAX_GROUPS = 4096
CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class Resampled:
    percent: np.ndarray  # (R+1, k) percent per result
    method: str  # how the replicates were drawn, for the report


def _units(r: BenchmarkResult) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(r.scores, dtype=float)
    if not r.clusters:
        return scores, np.ones_like(scores)
    labels, inverse = np.unique(np.asarray(r.clusters), return_inverse=True)
    return np.bincount(inverse, weights=scores, minlength=len(labels)), np.bincount(inverse, minlength=len(labels)).astype(float)


def _resample_units(sums: np.ndarray, sizes: np.ndarray, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """sums (U, k), sizes (U,) -> mean per column, (R+1, k), row 0 = original."""
    n_units, k = sums.shape
    out = np.empty((replicates + 1, k))
    out[0] = sums.sum(axis=0) / sizes.sum()
    if replicates == 0:
        return out
    table = np.column_stack([sums, sizes])
    groups, inverse = np.unique(table, axis=0, return_inverse=True)
    if len(groups) <= min(MAX_GROUPS, max(64, n_units // 8)):
        freq = np.bincount(inverse.ravel(), minlength=len(groups)) / n_units
        counts = rng.multinomial(n_units, freq, size=replicates).astype(float)  # (R, G)
        out[1:] = (counts @ groups[:, :k]) / (counts @ groups[:, k])[:, None]
        return out
    chunk = max(1, CHUNK_CELLS // n_units)
    for start in range(0, replicates, chunk):
        c = min(chunk, replicates - start)
        idx = rng.integers(0, n_units, size=(c, n_units))
        flat = idx + (np.arange(c) * n_units)[:, None]
        counts = np.bincount(flat.ravel(), minlength=c * n_units).reshape(c, n_units).astype(float)
        out[1 + start : 1 + start + c] = (counts @ sums) / (counts @ sizes)[:, None]
    return out


def benchmark_replicates(results: list[BenchmarkResult], replicates: int, rng: np.random.Generator) -> Resampled:
    """Percent scores of several teams on one benchmark, (R+1, len(results))."""
    k = len(results)
    item_level = [r for r in results if r.scores]
    aligned = (
        len(item_level) == k
        and k > 1
        and all(r.item_ids == results[0].item_ids and r.clusters == results[0].clusters for r in results)
    )
    if not aligned and len(item_level) == k and k > 1:
        # same item set in another order: align by id
        ref = sorted(results[0].item_ids)
        if all(sorted(r.item_ids) == ref for r in results):
            results = [_sorted_by_id(r) for r in results]
            aligned = all(r.clusters == results[0].clusters for r in results)
    if aligned:
        per = [_units(r) for r in results]
        sums = np.column_stack([s for s, _ in per])
        pct = 100.0 * _resample_units(sums, per[0][1], replicates, rng)
        unit = "clusters" if results[0].clusters else "items"
        return Resampled(pct, f"paired bootstrap over {len(per[0][1])} shared {unit}")
    cols, methods = [], set()
    for r in results:
        if r.scores:
            s, z = _units(r)
            cols.append(100.0 * _resample_units(s[:, None], z, replicates, rng)[:, 0])
            methods.add("bootstrap over items" + (" (clustered)" if r.clusters else ""))
        elif r.binary:
            assert r.n is not None and r.mean is not None
            col = np.empty(replicates + 1)
            col[0] = r.mean
            col[1:] = 100.0 * rng.binomial(r.n, r.mean / 100.0, size=replicates) / r.n
            cols.append(col)
            methods.add("exact binomial bootstrap from (n, mean)")
        else:
            assert r.n is not None and r.mean is not None and r.sd is not None
            col = np.empty(replicates + 1)
            col[0] = r.mean
            col[1:] = np.clip(rng.normal(r.mean, r.sd / np.sqrt(r.n), size=replicates), 0.0, 100.0)
            cols.append(col)
            methods.add("NORMAL APPROXIMATION from (n, mean, sd): no item-level data")
    return Resampled(np.column_stack(cols), "; ".join(sorted(methods)) + (" (teams resampled independently)" if k > 1 else ""))


def _sorted_by_id(r: BenchmarkResult) -> BenchmarkResult:
    order = np.argsort(np.asarray(r.item_ids))
    pick = lambda xs: tuple(xs[i] for i in order)
    return r.model_copy(update={"item_ids": pick(r.item_ids), "scores": pick(r.scores), "clusters": pick(r.clusters) if r.clusters else ()})


def rater_weights(n_raters: int, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """(R+1, n_raters) multiplicity of each rater per replicate; row 0 all ones."""
    w = np.ones((replicates + 1, n_raters))
    if replicates:
        w[1:] = rng.multinomial(n_raters, np.full(n_raters, 1.0 / n_raters), size=replicates)
    return w


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """values (n,) with NaN for missing; weights (R+1, n) -> (R+1,), NaN where no rater drawn."""
    present = ~np.isnan(values)
    w = weights[:, present]
    v = values[present]
    den = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w @ v) / den


def weighted_trimmed_mean(values: np.ndarray, weights: np.ndarray, trim: int, min_raters: int) -> np.ndarray:
    """Drop the ``trim`` lowest and highest ratings (one copy of a tied extreme each), then average.

    Replicates with fewer than ``min_raters`` ratings take the plain mean, as the rule does.
    """
    present = ~np.isnan(values)
    v = values[present]
    order = np.argsort(v, kind="stable")
    v = v[order]
    w = weights[:, present][:, order]
    total = w.sum(axis=1)
    cum = np.cumsum(w, axis=1)
    prev = cum - w
    low = np.clip(np.minimum(cum, trim) - np.minimum(prev, trim), 0, None)
    rcum = np.cumsum(w[:, ::-1], axis=1)[:, ::-1]
    rprev = rcum - w
    high = np.clip(np.minimum(rcum, trim) - np.minimum(rprev, trim), 0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        trimmed = ((w - low - high) @ v) / (total - 2 * trim)
        plain = (w @ v) / total
    return np.where(total >= min_raters, trimmed, plain)
