import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from robo.eval.stats import bootstrap_ci, iqm, percentiles, success_summary, wilson_ci


def test_wilson_known_values():
    # Reference values (Wilson 1927; e.g. statsmodels proportion_confint(method="wilson")).
    low, high = wilson_ci(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)
    low, high = wilson_ci(0, 20)
    assert low == 0.0 and high == pytest.approx(0.1611, abs=1e-3)
    assert wilson_ci(0, 0) == (0.0, 1.0)


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_rate_and_narrows_with_n(kn):
    k, n = kn
    low, high = wilson_ci(k, n)
    assert 0 <= low <= k / n <= high <= 1
    low4, high4 = wilson_ci(4 * k, 4 * n)
    assert high4 - low4 <= high - low + 1e-12


def test_wilson_rejects_bad_input():
    with pytest.raises(ValueError, match="successes <= n"):
        wilson_ci(5, 3)
    with pytest.raises(ValueError, match="confidence"):
        wilson_ci(1, 3, confidence=1.5)


def test_success_summary():
    s = success_summary([True, False, True, True])
    assert s["success"] == 0.75 and s["n"] == 4 and s["successes"] == 3
    assert s["ci_low"] < 0.75 < s["ci_high"]


def test_iqm_trims_outliers():
    assert iqm([1, 2, 3, 4]) == pytest.approx(2.5)
    assert iqm([0, 1, 1, 1, 1, 1, 1, 1000]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        iqm([])


def test_bootstrap_ci_brackets_the_estimate():
    x = np.random.default_rng(0).normal(3.0, 1.0, 200)
    est, low, high = bootstrap_ci(x, resamples=500)
    assert low < est < high and low < 3.0 < high
    est, low, high = bootstrap_ci(x, stat=np.mean, resamples=500)
    assert est == pytest.approx(x.mean())


def test_percentiles():
    p = percentiles(list(range(101)))
    assert p == {"p50": 50.0, "p99": 99.0}
    assert np.isnan(percentiles([])["p50"])
