"""Statistics with explicit nulls (all p-values as log10, so astronomically small ones survive).

* :func:`block_perm_test` — Pearson of two aligned sub-blocks against a row-permutation null (M6).
* :func:`norm_joint_perm_test` — mean Pearson of norm-gain vectors, one permutation of hidden
  dimensions applied jointly to every vector (M5); :func:`raw_cosine` / :func:`predicted_cosine`
  show the cosine trap.
* :func:`match_rows` — nearest-row matching; :func:`identity_match` (binomial null),
  :func:`order_spearman` (random-permutation null) and :func:`cross_view` (binomial null) (M7/T5).
* :func:`procrustes` — orthogonal alignment fitted on one half of shared tokens (M8/M11).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

LN10 = math.log(10.0)


@dataclass(frozen=True)
class NullTest:
    value: float
    null_mean: float
    null_sd: float
    null_max: float
    z: float
    log10_p: float
    n: int  # elements / rows / draws the statistic is built on


def _centre_flat(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a - a.mean()


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    x, y = _centre_flat(a).ravel(), _centre_flat(b).ravel()
    d = math.sqrt(float(x @ x) * float(y @ y))
    return float(x @ y / d) if d > 0 else 0.0


def log10_norm_sf(z: float) -> float:
    return float(sps.norm.logsf(z) / LN10)


def _perm_p(value: float, null: np.ndarray) -> tuple[float, float, float, float, float]:
    mu, sd, mx = float(null.mean()), float(null.std(ddof=1)) if null.size > 1 else 0.0, float(null.max())
    z = (value - mu) / sd if sd > 0 else (math.inf if value > mu else 0.0)
    if value > mx and z > 0:  # beyond every permuted value: tail from the z-score (rule 1 also wants z > 8)
        lp = log10_norm_sf(z) if math.isfinite(z) else -300.0
        lp = min(lp, math.log10(1.0 / (null.size + 1)))
    else:
        lp = math.log10((1 + int((null >= value).sum())) / (null.size + 1))
    return mu, sd, mx, z, lp


def block_perm_test(ref: np.ndarray, sus: np.ndarray, n_perm: int, rng: np.random.Generator) -> NullTest:
    """Pearson between aligned blocks; null: random re-pairing of the suspect's rows."""
    x = _centre_flat(ref)
    y = _centre_flat(sus)
    denom = math.sqrt(float((x * x).sum()) * float((y * y).sum()))
    if denom == 0:
        return NullTest(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, x.size)
    g = x @ y.T / denom  # row-pair contributions
    obs = float(np.trace(g))
    n = g.shape[0]
    perms = np.argsort(rng.random((n_perm, n)), axis=1)
    null = g[np.arange(n)[None, :], perms].sum(axis=1)
    mu, sd, mx, z, lp = _perm_p(obs, null)
    return NullTest(obs, mu, sd, mx, z, lp, x.size)


def _unit_centre_rows(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    m = m - m.mean(axis=1, keepdims=True)
    n = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, n, out=np.zeros_like(m), where=n > 0)


def norm_joint_perm_test(ref: np.ndarray, sus: np.ndarray, n_perm: int, rng: np.random.Generator) -> NullTest:
    """Mean Pearson over paired vectors (rows); one hidden-dimension permutation shared by all rows."""
    a, b = _unit_centre_rows(ref), _unit_centre_rows(sus)
    obs = float((a * b).sum(axis=1).mean())
    d = a.shape[1]
    null = np.empty(n_perm)
    for s in range(0, n_perm, 64):
        perms = np.argsort(rng.random((min(64, n_perm - s), d)), axis=1)
        null[s : s + len(perms)] = np.einsum("ld,tld->t", a, b[:, perms].transpose(1, 0, 2)) / a.shape[0]
    mu, sd, mx, z, lp = _perm_p(obs, null)
    return NullTest(obs, mu, sd, mx, z, lp, int(a.size))


def raw_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / d) if d > 0 else 0.0


def predicted_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine expected for *unrelated* vectors from their means and spreads alone: 1/√((1+CV_a²)(1+CV_b²))."""
    ma, mb, sa, sb = float(np.mean(a)), float(np.mean(b)), float(np.std(a)), float(np.std(b))
    d = math.sqrt((ma * ma + sa * sa) * (mb * mb + sb * sb))
    return ma * mb / d if d > 0 else 0.0


def match_rows(ref_rows: np.ndarray, sus_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each reference row, the index of the most cosine-similar suspect row and that cosine."""
    a = np.asarray(ref_rows, np.float32)
    b = np.asarray(sus_rows, np.float32)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    c = a @ b.T
    idx = c.argmax(axis=1)
    return idx, c[np.arange(len(idx)), idx]


def identity_match(ref_idx: np.ndarray, matched: np.ndarray, n_candidates: int) -> NullTest:
    """K = #{matched == ref index}; null K ~ Binomial(n, 1/n_candidates) (uniform argmax)."""
    n = len(ref_idx)
    k = int((matched == ref_idx).sum())
    p0 = 1.0 / max(1, n_candidates)
    lp = float(sps.binom.logsf(k - 1, n, p0) / LN10) if k > 0 else 0.0
    sd = math.sqrt(n * p0 * (1 - p0))
    return NullTest(k / n, p0, sd / n, 0.0, (k - n * p0) / sd if sd > 0 else 0.0, lp, n)


def order_spearman(ref_idx: np.ndarray, matched: np.ndarray) -> NullTest:
    """Spearman between reference row order and matched suspect order (pruning keeps order).

    Null: matched indices are a random assignment, ρ ≈ N(0, 1/(n-1)); one-sided."""
    n = len(ref_idx)
    if n < 4 or np.unique(matched).size < 2:
        return NullTest(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, n)
    rho = float(sps.spearmanr(ref_idx, matched).statistic)
    z = rho * math.sqrt(n - 1)
    return NullTest(rho, 0.0, 1 / math.sqrt(n - 1), 0.0, z, log10_norm_sf(z), n)


def cross_view(m1: np.ndarray, m2: np.ndarray, n_candidates: int) -> NullTest:
    """Agreement of two matchings of the same reference rows derived from different matrices."""
    return identity_match(m1, m2, n_candidates)


def procrustes(ref: np.ndarray, sus: np.ndarray) -> np.ndarray:
    """Orthogonal Q minimising ‖ref·Q − sus‖_F."""
    u, _, vt = np.linalg.svd(np.asarray(ref, np.float64).T @ np.asarray(sus, np.float64), full_matrices=False)
    return u @ vt


def log10_bonferroni(alpha: float, m: int) -> float:
    return math.log10(alpha) - math.log10(max(1, m))
