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
