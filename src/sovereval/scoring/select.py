"""Ranking and selection, vectorised over bootstrap replicates.

Teams are ordered by total points rounded to ``rank_decimals`` (the precision the programme compares
at), then by each tie-break key in order, then by lot: a fixed random order drawn from the run's seed
and printed with the sheet, so a tie decided by lot is reproducible and visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sovereval.program.spec import Selection


@dataclass(frozen=True)
class Ranked:
    rank: np.ndarray  # (R, T) 1 = best, over all teams
    selected: np.ndarray  # (R, T) bool
    vacated: np.ndarray  # (R,) slots left empty
    lot_decided: tuple[tuple[int, int], ...]  # row-0 pairs (i, j) whose order only lot decided


def lot_order(n_teams: int, seed: int) -> np.ndarray:
    """Priority per team for the final tie-break (higher wins), reproducible from the seed."""
    return np.random.default_rng([seed, 0x107]).permutation(n_teams).astype(float)


def rank_and_select(
    sel: Selection,
    totals: np.ndarray,
    tie_keys: list[np.ndarray],
    eligible: np.ndarray,
    lot: np.ndarray,
) -> Ranked:
    r, t = totals.shape
    keys = [np.round(totals, sel.rank_decimals)] + [np.round(k, sel.rank_decimals) for k in tie_keys]
    above = np.zeros((r, t, t), dtype=bool)  # above[r, i, j]: team j ranks above team i
    eq = np.ones((r, t, t), dtype=bool)
    for k in keys:
        ki, kj = k[:, :, None], k[:, None, :]
        above |= eq & (kj > ki)
        eq &= kj == ki
    lot_above = eq & (lot[None, None, :] > lot[None, :, None])
    above |= lot_above
    rank = 1 + above.sum(axis=2)
    if sel.min_total is not None:
        eligible = eligible & (keys[0] >= sel.min_total)
    if sel.gate_failure == "vacate":
        selected = (rank <= sel.slots) & eligible
    else:
        rank_eligible = 1 + (above & eligible[:, None, :]).sum(axis=2)
        selected = eligible & (rank_eligible <= sel.slots)
    vacated = sel.slots - selected.sum(axis=1)
    decided = tuple((int(i), int(j)) for i, j in zip(*np.nonzero(lot_above[0]), strict=True) if i != j)
    return Ranked(rank, selected, vacated, decided)
