"""Stratified jury quotas and post-stratification weights.

The planned 500-person public jury (program-facts §1.8) fixed marginal quotas: gender 250/250, capital
region / other 250/250, ages 20s-60+ at 100 each, AI proficiency 100 advanced / 250 intermediate / 150
beginner.  An invitation carries the juror's strata; accepting it is refused when any of the juror's
categories is full.  Because the jurors who actually vote need not match the targets, votes are weighted
by raking (iterative proportional fitting) of the voters' strata to the target margins.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np


def _default_targets() -> dict[str, dict[str, int]]:
    return {
        "gender": {"female": 250, "male": 250},
        "region": {"capital": 250, "other": 250},
        "age": {"20s": 100, "30s": 100, "40s": 100, "50s": 100, "60+": 100},
        "proficiency": {"advanced": 100, "intermediate": 250, "beginner": 150},
    }


@dataclass(frozen=True)
class Quotas:
    targets: Mapping[str, Mapping[str, int]] = field(default_factory=_default_targets)

    @property
    def size(self) -> int:
        return max(sum(cats.values()) for cats in self.targets.values())

    def check_profile(self, profile: Mapping[str, str]) -> str | None:
        for dim, cats in self.targets.items():
            if profile.get(dim) not in cats:
                return f"juror profile needs {dim} in {sorted(cats)} (got {profile.get(dim)!r})"
        return None

    def full(self, profile: Mapping[str, str], profiles: Sequence[Mapping[str, str]]) -> str | None:
        """Why a juror with ``profile`` cannot join a jury that already has ``profiles`` (None: they can)."""
        bad = self.check_profile(profile)
        if bad:
            return bad
        for dim, cats in self.targets.items():
            have = sum(1 for p in profiles if p.get(dim) == profile[dim])
            if have >= cats[profile[dim]]:
                return f"the jury quota for {dim} = {profile[dim]} is full ({have}/{cats[profile[dim]]})"
        return None

    def fill(self, profiles: Sequence[Mapping[str, str]]) -> dict[str, dict[str, tuple[int, int]]]:
        """dimension -> category -> (jurors, target)."""
        out: dict[str, dict[str, tuple[int, int]]] = {}
        for dim, cats in self.targets.items():
            c = Counter(p.get(dim) for p in profiles)
            out[dim] = {cat: (c.get(cat, 0), n) for cat, n in cats.items()}
        return out


def rake(profiles: Sequence[Mapping[str, str]], quotas: Quotas, *, iterations: int = 100, tol: float = 1e-8,
         cap: float = 5.0) -> np.ndarray:  # fmt: skip
    """Post-stratification weights (mean 1) so the weighted margins match the quota proportions.

    Categories nobody in ``profiles`` belongs to are left out of that margin (their share is spread over
    the others); weights are capped at ``cap`` times the mean to limit variance.
    """
    n = len(profiles)
    if n == 0:
        return np.zeros(0)
    w = np.ones(n)
    for _ in range(iterations):
        before = w.copy()
        for dim, cats in quotas.targets.items():
            present = {c: t for c, t in cats.items() if any(p.get(dim) == c for p in profiles)}
            total_t = sum(present.values())
            if not total_t:
                continue
            for cat, target in present.items():
                mask = np.array([p.get(dim) == cat for p in profiles])
                share = w[mask].sum() / w.sum()
                want = target / total_t
                if share > 0:
                    w[mask] *= want / share
        w = np.minimum(w / w.mean(), cap)
        if np.abs(w - before).max() < tol:
            break
    return w / w.mean()
