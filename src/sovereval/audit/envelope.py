"""Negative envelope: the largest effect seen on known-independent pairs, per statistic.

Rule 3 of the decision rule asks for an effect ``MARGIN`` times beyond this envelope.  The values are
the maxima measured by ``sovereval audit validate`` over the negative panel (scratch-trained
same-architecture seeds, a distilled student, cross-family real pairs), rounded *up*; the validation
command re-measures them and fails if a negative exceeds its envelope.
"""

from __future__ import annotations

MARGIN = 5.0

# statistic -> largest |effect| observed on negatives (rounded up)
ENVELOPE: dict[str, float] = {
    "block_pearson": 0.06,  # |r| of 64x256 aligned sub-blocks (null sd ≈ 0.008)
    "norm_pearson": 0.15,  # mean Pearson of norm-gain vectors (short vectors are noisy)
    "embed_pearson": 0.05,  # |r| of shared-token embedding rows (a distilled student reached 0.041)
    "identity_match": 0.05,  # fraction of rows whose best match is the same index / token
    "order_spearman": 0.12,  # ρ of matched order on rows whose match is confident
    "cross_view": 0.05,  # fraction of rows where two views agree
}


def required_effect(stat: str) -> float:
    return MARGIN * ENVELOPE[stat]


def beyond_envelope(stat: str, value: float) -> bool:
    return stat not in ENVELOPE or value > ENVELOPE[stat]
