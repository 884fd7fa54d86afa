"""Bradley-Terry ratings with bootstrap confidence intervals, after FastChat's ``rating_systems.py``.

P(A beats B) = 1 / (1 + 10^((R_B - R_A) / 400)); a tie (or "both bad") counts half a win for each side.
The log-likelihood (weighted by each vote's post-stratification weight) is maximised with L-BFGS;
ratings are shifted so their mean is 1000.  CIs: percentile bootstrap over battles (resampled with
replacement, seed fixed).  Rank by CI: 1 + the number of models whose lower bound exceeds this model's
upper bound.  Style control (optional): a contextual BT with normalised style differences (length,
headers, lists, bold) as covariates, L2-regularised, as in LMSYS's style control.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

SCALE = 400.0
BASE = 10.0
INIT = 1000.0
OUTCOME_Y = {"a": 1.0, "b": 0.0, "tie": 0.5, "bothbad": 0.5}
STYLE_FEATURES = ("length", "headers", "lists", "bold")


@dataclass(frozen=True)
class Battle:
    a: str
    b: str
    outcome: str  # 'a', 'b', 'tie', 'bothbad'
    weight: float = 1.0
    answer_a: str = ""
    answer_b: str = ""


@dataclass(frozen=True)
class Row:
    model: str
    rating: float
    lo: float
    hi: float
    rank: int
    battles: int
    win_rate: float  # (wins + ties/2) / battles, unweighted


@dataclass(frozen=True)
class Leaderboard:
    rows: tuple[Row, ...]
    n_battles: int
    replicates: int
    confidence: float
    style_control: bool
    style_coefficients: dict[str, float]
    note: str


def _design(battles: Sequence[Battle], models: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    idx = {m: i for i, m in enumerate(models)}
    ia = np.array([idx[b.a] for b in battles], dtype=int)
    ib = np.array([idx[b.b] for b in battles], dtype=int)
    y = np.array([OUTCOME_Y[b.outcome] for b in battles], dtype=float)
    w = np.array([b.weight for b in battles], dtype=float)
    return ia, ib, y, w


def style_features(text: str) -> np.ndarray:
    return np.array([
        len(text.split()),
        len(re.findall(r"^#{1,6}\s", text, flags=re.MULTILINE)),
        len(re.findall(r"^\s*(?:[-*+]|\d+\.)\s", text, flags=re.MULTILINE)),
        len(re.findall(r"\*\*[^*]+\*\*|__[^_]+__", text)),
    ], dtype=float)  # fmt: skip


def style_matrix(battles: Sequence[Battle]) -> np.ndarray:
    """(N, 4): (a - b) / (a + b) per feature, then z-scored over battles (FastChat's normalisation)."""
    fa = np.array([style_features(b.answer_a) for b in battles])
    fb = np.array([style_features(b.answer_b) for b in battles])
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(fa + fb > 0, (fa - fb) / (fa + fb), 0.0)
    sd = x.std(axis=0)
    return np.where(sd > 0, (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0), 0.0)


def fit(ia: np.ndarray, ib: np.ndarray, y: np.ndarray, w: np.ndarray, n_models: int,
        x: np.ndarray | None = None, reg: float = 0.5) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Maximum-likelihood strengths (natural log-odds scale, mean 0) and style coefficients."""
    k = 0 if x is None else x.shape[1]

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        theta, beta = params[:n_models], params[n_models:]
        z = theta[ia] - theta[ib] + (x @ beta if k else 0.0)
        p = 1.0 / (1.0 + np.exp(-z))
        eps = 1e-12
        ll = w * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))
        g_z = w * (p - y)  # d(-ll)/dz
        grad = np.zeros_like(params)
        np.add.at(grad, ia, g_z)
        np.add.at(grad, ib, -g_z)
        # a tiny ridge on theta fixes the free offset; the style coefficients get the LMSYS penalty
        value = -ll.sum() + 1e-6 * (theta**2).sum()
        grad[:n_models] += 2e-6 * theta
        if k:
            grad[n_models:] = x.T @ g_z + 2 * reg * beta
            value += reg * (beta**2).sum()
        return float(value), grad

    res = minimize(loss, np.zeros(n_models + k), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    theta = res.x[:n_models]
    return theta - theta.mean(), res.x[n_models:]


def to_rating(theta: np.ndarray) -> np.ndarray:
    return INIT + SCALE / math.log(BASE) * theta


def leaderboard(battles: Sequence[Battle], *, replicates: int = 500, seed: int = 0, confidence: float = 0.95,
                style_control: bool = False) -> Leaderboard:  # fmt: skip
    models = sorted({b.a for b in battles} | {b.b for b in battles})
    if not battles or len(models) < 2:
        return Leaderboard((), len(battles), 0, confidence, style_control, {}, "not enough battles yet")
    ia, ib, y, w = _design(battles, models)
    x = style_matrix(battles) if style_control else None
    theta, beta = fit(ia, ib, y, w, len(models), x)
    # without covariates, identical (a, b, outcome) rows collapse into one weighted row (FastChat's
    # preprocess_for_bt); the bootstrap then resamples battles and sums their weights per row
    n = len(battles)
    if x is None:
        keys = np.stack([ia, ib, (2 * y).astype(int)], axis=1)
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        ua, ub, uy = uniq[:, 0], uniq[:, 1], uniq[:, 2] / 2.0
    else:
        inv, ua, ub, uy = np.arange(n), ia, ib, y
    rng = np.random.default_rng(seed)
    boot = np.empty((replicates, len(models)))
    for r in range(replicates):
        pick = rng.integers(0, n, size=n)
        wr = np.bincount(inv[pick], weights=w[pick], minlength=len(ua))
        boot[r], _ = fit(ua, ub, uy, wr, len(models), x)
    a = (1 - confidence) / 2
    rating = to_rating(theta)
    lo, hi = to_rating(np.quantile(boot, a, axis=0)), to_rating(np.quantile(boot, 1 - a, axis=0))
    played = np.bincount(ia, minlength=len(models)) + np.bincount(ib, minlength=len(models))
    score = np.zeros(len(models))
    np.add.at(score, ia, y)
    np.add.at(score, ib, 1 - y)
    rows = []
    for i, m in enumerate(models):
        rank = 1 + int(sum(lo[j] > hi[i] for j in range(len(models)) if j != i))
        rows.append(Row(str(m), float(rating[i]), float(lo[i]), float(hi[i]), rank, int(played[i]),
                        float(score[i] / played[i]) if played[i] else 0.0))  # fmt: skip
    rows.sort(key=lambda r: (-r.rating, r.model))
    coef = {f: float(c) for f, c in zip(STYLE_FEATURES, beta, strict=False)} if style_control else {}
    return Leaderboard(tuple(rows), n, replicates, confidence, style_control, coef,
                       f"Bradley-Terry, {replicates} bootstrap replicates over battles (seed {seed})")  # fmt: skip
