"""Statistics for success rates and scores: Wilson intervals, bootstrap IQM, percentiles.

* :func:`wilson_ci` — the Wilson score interval of a binomial proportion (good at small n and
  at 0 % / 100 %, where the normal interval collapses).
* :func:`iqm` / :func:`bootstrap_ci` — interquartile mean (rliable's recommendation for
  aggregate RL scores) with a percentile-bootstrap confidence interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import norm


def wilson_ci(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval ``(low, high)`` in [0, 1] for ``successes`` out of ``n``.

    ``center = (p + z^2/2n) / (1 + z^2/n)``, ``half = z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n)``
    with ``z`` the two-sided normal quantile. ``n = 0`` gives ``(0, 1)``.
    """
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence} must be in (0, 1)")
    if n == 0:
        return 0.0, 1.0
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # Exact bounds at the extremes (the formula gives them up to rounding).
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)
    return low, high


def success_summary(outcomes: Sequence[bool], confidence: float = 0.95) -> dict[str, float]:
    """``{"success": rate, "ci_low", "ci_high", "n", "successes"}`` for boolean outcomes."""
    k, n = int(np.sum(np.asarray(outcomes, dtype=bool))), len(outcomes)
    low, high = wilson_ci(k, n, confidence)
    return {
        "success": k / n if n else float("nan"),
        "ci_low": low,
        "ci_high": high,
        "n": n,
        "successes": k,
    }


def iqm(values: Sequence[float] | np.ndarray) -> float:
    """Interquartile mean: the mean of the middle 50 % of the values (25 % trimmed each side)."""
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if x.size == 0:
        raise ValueError("iqm of an empty sequence")
    lo, hi = int(np.floor(0.25 * x.size)), int(np.ceil(0.75 * x.size))
    return float(x[lo:hi].mean()) if hi > lo else float(x.mean())


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    stat: Callable[[np.ndarray], float] = iqm,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(estimate, low, high)``: ``stat`` of the values and its percentile-bootstrap interval."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("bootstrap_ci of an empty sequence")
    rng = np.random.default_rng(seed)
    boots = np.array([stat(x[rng.integers(0, x.size, x.size)]) for _ in range(resamples)])
    alpha = (1 - confidence) / 2
    return float(stat(x)), float(np.quantile(boots, alpha)), float(np.quantile(boots, 1 - alpha))


def percentiles(values: Sequence[float], qs: Sequence[float] = (50, 99)) -> dict[str, float]:
    """``{"p50": ..., "p99": ...}`` of the values (NaN when empty)."""
    x = np.asarray(values, dtype=np.float64)
    return {f"p{q:g}": (float(np.percentile(x, q)) if x.size else float("nan")) for q in qs}
