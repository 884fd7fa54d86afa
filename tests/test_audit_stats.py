"""Statistics with explicit nulls, the decision rule, and the Solar (LayerNorm cosine) regression."""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from sovereval.audit.battery import BatteryResult, TestResult
from sovereval.audit.decision import (
    DERIVED_CLASSES,
    INCONCLUSIVE,
    NO_EVIDENCE,
    classify_pattern,
    decide,
)
from sovereval.audit.stats import (
    block_perm_test,
    identity_match,
    norm_joint_perm_test,
    pearson,
    predicted_cosine,
    raw_cosine,
)


def test_block_null_is_calibrated_and_derivatives_are_extreme() -> None:
    rng = np.random.default_rng(0)
    ps = []
    for _ in range(150):
        a, b = rng.standard_normal((64, 128)), rng.standard_normal((64, 128))
        ps.append(10 ** block_perm_test(a, b, 200, rng).log10_p)
    assert sps.kstest(ps, "uniform").pvalue > 1e-3
    a = rng.standard_normal((64, 128))
    t = block_perm_test(a, a + 0.5 * rng.standard_normal(a.shape), 200, rng)
    assert t.value > 0.8 and t.z > 50 and t.log10_p < -100


def test_identity_match_binomial() -> None:
    idx = np.arange(64)
    assert identity_match(idx, idx, 1536).log10_p < -150
    assert identity_match(idx, np.random.default_rng(1).integers(0, 1536, 64), 1536).log10_p > -3


def test_solar_regression_cosine_is_not_evidence() -> None:
    """Independent positive gain vectors: raw cosine ≈ 0.99, Pearson ≈ 0, joint-permutation p not small."""
    rng = np.random.default_rng(2)
    a = 1.0 + 0.1 * rng.standard_normal((40, 4096))
    b = 1.0 + 0.1 * rng.standard_normal((40, 4096))
    cos = np.mean([raw_cosine(x, y) for x, y in zip(a, b, strict=True)])
    r = np.mean([pearson(x, y) for x, y in zip(a, b, strict=True)])
    assert cos > 0.98 and abs(r) < 0.01
    assert abs(predicted_cosine(a[0], b[0]) - raw_cosine(a[0], b[0])) < 0.005
    t = norm_joint_perm_test(a, b, 500, rng)
    assert t.log10_p > -3
    # a battery whose only "signal" is the raw cosine must not yield DERIVED
    res = BatteryResult("solar-like", "glm-like", {"suspect": {"n_layers": 40}, "reference": {"n_layers": 40}}, None)
    res.components = {"blocks": 10_000_000}
    res.n_tests = 1
    res.results = [
        TestResult("T3", "norm_raw_cosine", "blocks", "norm", "40 vectors", "same", float(cos), evidence=False),
        TestResult("T3", "norm_pearson", "blocks", "norm", "40 vectors", "same", t.value, t.null_mean, t.null_sd,
                   t.null_max, t.z, t.log10_p),
    ]  # fmt: skip
    v = decide(res, None)
    assert v.verdict not in DERIVED_CLASSES
    assert v.verdict in (NO_EVIDENCE, INCONCLUSIVE)


def test_single_family_or_isolated_hits_are_review_not_derived() -> None:
    res = BatteryResult("s", "r", {"suspect": {"n_layers": 4}, "reference": {"n_layers": 4}}, None)
    res.components = {"blocks": 1000}
    res.n_tests = 10
    res.results = [TestResult("T3", "block_pearson", "blocks", "attn", "text.L1.attn.q", "text.L1.attn.q", 0.9,
                              0.0, 0.01, 0.03, 90.0, -500.0)]  # fmt: skip
    v = decide(res, None)
    assert v.verdict == INCONCLUSIVE
    assert v.components[0].status == "REVIEW"


def test_layer_patterns() -> None:
    assert classify_pattern([(i, i) for i in range(6)], 6, 6) == "diagonal"
    dus = [(i, i) for i in range(4)] + [(4 + i, 2 + i) for i in range(4)]
    assert classify_pattern(dus, 8, 6).startswith("two stripes")
    assert classify_pattern([(0, 0), (1, 1), (2, 3), (3, 4), (4, 5)], 5, 6).startswith("diagonal with gaps")
    assert classify_pattern([(0, 0), (1, 1)], 6, 6).startswith("block")
    assert classify_pattern([(3, 3)], 6, 6) == "isolated"
