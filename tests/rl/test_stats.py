"""IQM and stratified bootstrap CIs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from robo.rl.stats import iqm, stratified_bootstrap_ci


@pytest.mark.parametrize("n", [4, 8, 20, 7, 5])
def test_iqm_matches_trimmed_mean_and_ignores_outliers(n):
    x = np.random.default_rng(n).normal(size=n)
    if n % 4 == 0:
        assert iqm(x) == pytest.approx(sps.trim_mean(x, 0.25))
    y = x.copy()
    y[np.argmax(y)] = 1e9  # one wild run does not move the IQM
    assert iqm(y) == pytest.approx(iqm(x))
    assert np.isnan(iqm(np.array([])))


def test_iqm_fractional_weights():
    # n = 5: keep [1.25, 3.75) -> 0.75*x1 + x2 + x3 + ... weights (0, .75, 1, .75, 0)
    assert iqm(np.arange(5.0)) == pytest.approx((0.75 * 1 + 2 + 0.75 * 3) / 2.5)


def test_stratified_bootstrap_ci_brackets_point_and_shrinks_with_data():
    rng = np.random.default_rng(0)
    small = {"a": rng.uniform(size=5), "b": rng.uniform(size=5)}
    big = {"a": rng.uniform(size=200), "b": rng.uniform(size=200)}
    p, lo, hi = stratified_bootstrap_ci(small, reps=500)
    assert lo <= p <= hi
    _, lo2, hi2 = stratified_bootstrap_ci(big, reps=500)
    assert hi2 - lo2 < hi - lo
    # constant scores: zero-width interval
    assert stratified_bootstrap_ci({"a": np.ones(5)}, reps=50) == (1.0, 1.0, 1.0)
    # NaN runs are dropped; all-NaN gives NaN
    assert np.isnan(stratified_bootstrap_ci({"a": np.full(3, np.nan)})[0])


def test_wilson_ci_known_values_and_errors():
    from robo.rl.stats import wilson_ci

    p, lo, hi = wilson_ci(8, 10)
    assert p == pytest.approx(0.8)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert wilson_ci(0, 20)[1] == pytest.approx(0.0, abs=1e-12) and wilson_ci(0, 20)[2] > 0.1
    with pytest.raises(ValueError, match="successes"):
        wilson_ci(3, 2)


def test_ratio_bootstrap_ci_brackets_point_and_pairs_seeds():
    from robo.rl.stats import ratio_bootstrap_ci

    num = np.array([400.0, 500, 600, 500, 450])
    den = np.array([1000.0, 900, 1100, 1000, 950])
    p, lo, hi = ratio_bootstrap_ci(num, den, reps=500)
    assert p == pytest.approx(iqm(num) / iqm(den))
    assert lo <= p <= hi and hi < 1.0
    # Perfectly proportional pairs: the paired ratio has no spread, the unpaired one does.
    p2, lo2, hi2 = ratio_bootstrap_ci(den / 2, den, reps=300, paired=True)
    assert lo2 == pytest.approx(0.5) and hi2 == pytest.approx(0.5)
    _, lo3, hi3 = ratio_bootstrap_ci(den / 2, den, reps=300, paired=False)
    assert hi3 - lo3 > 0.01
    with pytest.raises(ValueError, match="equal sizes"):
        ratio_bootstrap_ci(num[:3], den, paired=True)


def test_exact_under_censoring_iqm_and_median():
    from robo.rl.stats import exact_under_censoring, median_weights

    v = np.array([1000.0, 1500, 5000, 8000, 8000])
    # one censored seed of 5 at the top: the IQM gives it weight 0, so the IQM is exact
    assert exact_under_censoring(v, np.array([0, 0, 0, 0, 1], bool))
    # two censored seeds: the second one has IQM weight 0.75 -> only a lower bound
    assert not exact_under_censoring(v, np.array([0, 0, 0, 1, 1], bool))
    # a tie with an uncensored value at the budget is ordered before the censored one
    assert exact_under_censoring(v, np.array([0, 0, 0, 1, 0], bool))
    assert exact_under_censoring(v, np.array([0, 0, 0, 1, 1], bool), median_weights)
    assert not exact_under_censoring(v, np.ones(5, bool), median_weights)
