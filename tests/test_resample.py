"""Bootstrap machinery against brute force and known sampling variances."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sovereval.program.records import BenchmarkResult
from sovereval.program.spec import AbsoluteScale, RankPoints, RatioToTargetCapped, RelativeToBest
from sovereval.scoring import normalise, resample


def _items(team: str, scores, clusters=()) -> BenchmarkResult:
    return BenchmarkResult(team=team, benchmark="b", item_ids=tuple(f"i{k}" for k in range(len(scores))),
                           scores=tuple(float(s) for s in scores), clusters=tuple(clusters))


def test_binomial_summary_matches_sampling_variance() -> None:
    r = BenchmarkResult(team="t", benchmark="b", n=400, mean=70.0)
    out = resample.benchmark_replicates([r], 20000, np.random.default_rng(1))
    assert out.percent[0, 0] == 70.0
    sd = out.percent[1:, 0].std()
    assert sd == pytest.approx(100 * np.sqrt(0.7 * 0.3 / 400), rel=0.03)
    assert "binomial" in out.method


def test_paired_items_share_every_draw() -> None:
    rng = np.random.default_rng(0)
    s = rng.integers(0, 2, 300)
    a, b = _items("a", s), _items("b", s)
    out = resample.benchmark_replicates([a, b], 2000, np.random.default_rng(2))
    assert np.array_equal(out.percent[:, 0], out.percent[:, 1])  # identical answers -> identical replicates
    assert out.percent[1:, 0].std() > 1.0
    assert "paired" in out.method


def test_grouped_multinomial_equals_index_resampling_in_distribution(monkeypatch) -> None:
    rng = np.random.default_rng(3)
    s1 = np.round(rng.random(500) * 4) / 4  # partial credit in quarters: 25 joint groups at most
    s2 = np.round(np.clip(s1 + rng.normal(0, 0.2, 500), 0, 1) * 4) / 4
    rs = [_items("a", s1), _items("b", s2)]
    calls: list[str] = []

    class Spy:  # records which drawing method the resampler uses
        def __init__(self, seed: int) -> None:
            self.g = np.random.default_rng(seed)

        def __getattr__(self, name: str):
            calls.append(name)
            return getattr(self.g, name)

    grouped = resample.benchmark_replicates(rs, 4000, Spy(4)).percent
    assert "multinomial" in calls and "integers" not in calls, calls
    monkeypatch.setattr(resample, "MAX_GROUPS", 1)  # force explicit index resampling
    calls.clear()
    indexed = resample.benchmark_replicates(rs, 4000, Spy(4)).percent
    assert calls == ["integers"] * len(calls) and calls and np.array_equal(grouped[0], indexed[0])
    for k in range(2):
        assert grouped[1:, k].std() == pytest.approx(indexed[1:, k].std(), rel=0.08)
        assert grouped[1:, k].mean() == pytest.approx(indexed[1:, k].mean(), abs=0.1)
    d_g, d_i = grouped[1:, 0] - grouped[1:, 1], indexed[1:, 0] - indexed[1:, 1]
    assert d_g.std() == pytest.approx(d_i.std(), rel=0.08)
    # the paired difference is far less variable than independent resampling would make it
    assert d_g.std() < 0.6 * np.hypot(grouped[1:, 0].std(), grouped[1:, 1].std())


def test_clusters_widen_the_interval_when_items_in_a_passage_agree() -> None:
    rng = np.random.default_rng(5)
    passage = rng.integers(0, 2, 40)
    scores = np.repeat(passage, 10)  # 40 passages x 10 items that share the passage's outcome
    clusters = np.repeat(np.arange(40), 10).astype(str)
    plain = resample.benchmark_replicates([_items("a", scores)], 5000, np.random.default_rng(6)).percent[1:, 0]
    clustered = resample.benchmark_replicates([_items("a", scores, clusters)], 5000, np.random.default_rng(6)).percent[1:, 0]
    assert clustered.std() > 2.5 * plain.std()  # ~sqrt(10) larger


def test_trimmed_mean_drops_one_copy_of_each_extreme() -> None:
    v = np.array([5.0, 5.0, 5.0, 1.0, 1.0])
    w = np.ones((1, 5))
    assert resample.weighted_trimmed_mean(v, w, 1, 5)[0] == pytest.approx((5 + 5 + 1) / 3)
    x = np.random.default_rng(7).normal(size=10)
    assert resample.weighted_trimmed_mean(x, np.ones((1, 10)), 1, 5)[0] == pytest.approx(stats.trim_mean(x, 0.1))
    assert resample.weighted_trimmed_mean(x[:4], np.ones((1, 4)), 1, 5)[0] == pytest.approx(x[:4].mean())  # too few


def test_weighted_trimmed_mean_equals_expanding_the_resample() -> None:
    rng = np.random.default_rng(8)
    v = rng.integers(0, 20, 10).astype(float)
    v[3] = np.nan  # a rater who did not rate this team
    w = resample.rater_weights(10, 500, rng)
    got = resample.weighted_trimmed_mean(v, w, 1, 5)
    for row in range(w.shape[0]):
        expanded = np.repeat(v, w[row].astype(int))
        expanded = np.sort(expanded[~np.isnan(expanded)])
        want = expanded[1:-1].mean() if len(expanded) >= 5 else (expanded.mean() if len(expanded) else np.nan)
        assert (np.isnan(want) and np.isnan(got[row])) or got[row] == pytest.approx(want)


def test_normalisers_by_hand() -> None:
    pct = np.array([[[80.0, 40.0], [60.0, 100.0], [40.0, 60.0]]])  # 1 replicate, 3 teams, 2 items
    w = np.array([[3.0, 1.0]] * 3)
    pts, raw = normalise.apply(AbsoluteScale(kind="absolute_scale"), 40, pct, w)
    assert raw[0].tolist() == [70.0, 70.0, 45.0] and pts[0].tolist() == pytest.approx([28, 28, 18])
    pts, _ = normalise.apply(RelativeToBest(kind="relative_to_best"), 10, pct, w)
    assert pts[0].tolist() == pytest.approx([10, 10, 10 * 45 / 70])
    pts, _ = normalise.apply(RankPoints(kind="rank_points", table=(9, 6, 0)), 9, pct, w)
    assert pts[0].tolist() == pytest.approx([7.5, 7.5, 0])  # a and b share places 1-2
    tg = np.array([[100.0, 50.0], [50.0, 100.0], [80.0, 80.0]])
    pts, raw = normalise.apply(RatioToTargetCapped(kind="ratio_to_target_capped"), 10, pct, w, tg)
    assert raw[0].tolist() == pytest.approx([(3 * 0.8 + 0.8) / 4, (3 * 1.0 + 1.0) / 4, (3 * 0.5 + 0.75) / 4])
    pts, _ = normalise.apply(RatioToTargetCapped(kind="ratio_to_target_capped", full_at=0.95), 10, pct + 16, w, tg)
    assert pts[0, 1] == pytest.approx(10.0)


def test_rank_points_three_way_tie_shares_the_places() -> None:
    x = np.array([[5.0, 5.0, 5.0, 1.0]])
    assert normalise.rank_points((10, 6, 2, 0), x)[0].tolist() == pytest.approx([6, 6, 6, 0])
