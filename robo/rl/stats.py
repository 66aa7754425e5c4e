"""Aggregate statistics over seeds (rliable-style): IQM and stratified bootstrap 95% CIs.

Scores come as ``{task: float[n_seeds]}`` for one method. The IQM pools every run of every
task and averages the middle 50% (Agarwal et al. 2021); the bootstrap resamples seeds
*within* each task (stratified), so tasks with many seeds do not dominate the interval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of a flat array: mean of the values between the 25th and 75th
    percentile, with fractional weights at the cut points (as ``scipy.stats.trim_mean(.25)``
    for n divisible by 4)."""
    x = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    if x.size == 0:
        return float("nan")
    w = iqm_weights(x.size)
    return float(np.dot(w, x) / w.sum())


def iqm_weights(n: int) -> np.ndarray:
    """float[n] weights of the sorted samples in the IQM: the overlap of [i, i+1) with
    [n/4, 3n/4) (0 for the bottom and top quarter)."""
    lo, hi = 0.25 * n, 0.75 * n
    idx = np.arange(n)
    return np.clip(np.minimum(idx + 1, hi) - np.maximum(idx, lo), 0.0, 1.0)


def median_weights(n: int) -> np.ndarray:
    """float[n] weights of the sorted samples in the median (the middle one or two)."""
    w = np.zeros(n)
    if n:
        w[(n - 1) // 2] += 0.5
        w[n // 2] += 0.5
    return w


def exact_under_censoring(
    values: np.ndarray, censored: np.ndarray, weights: Callable[[int], np.ndarray] = iqm_weights
) -> bool:
    """Whether a sorted-weights statistic (IQM, median) of right-censored samples is exact.

    A censored sample is stored at its budget, a lower bound on its true value; its true value
    can only move it up the order. If every censored sample sits (after ties with uncensored
    ones) at a position of weight 0, moving it up changes nothing: the statistic is exact.
    Otherwise it is a lower bound on the true statistic.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    censored = np.asarray(censored, dtype=bool).ravel()
    order = np.lexsort((censored, values))  # by value, censored after uncensored ties
    w = weights(values.size)
    return bool(np.all(w[np.flatnonzero(censored[order])] == 0.0))


def stratified_bootstrap_ci(
    scores: Mapping[str, np.ndarray],
    statistic: Callable[[np.ndarray], float] = iqm,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(point, low, high)`` of ``statistic`` over all runs, CI by stratified bootstrap.

    Args:
        scores: task -> float[n_runs] (NaN entries are dropped).
        reps: bootstrap resamples; confidence: two-sided interval mass.
    """
    groups = [np.asarray(v, dtype=np.float64) for v in scores.values()]
    groups = [g[~np.isnan(g)] for g in groups]
    groups = [g for g in groups if g.size]
    if not groups:
        return float("nan"), float("nan"), float("nan")
    point = statistic(np.concatenate(groups))
    rng = np.random.default_rng(seed)
    stats = np.empty(reps)
    for b in range(reps):
        stats[b] = statistic(
            np.concatenate([g[rng.integers(0, g.size, size=g.size)] for g in groups])
        )
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(point), float(low), float(high)


def ratio_bootstrap_ci(
    num: np.ndarray,
    den: np.ndarray,
    statistic: Callable[[np.ndarray], float] = iqm,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    paired: bool = False,
) -> tuple[float, float, float]:
    """``(point, low, high)`` of ``statistic(num) / statistic(den)`` with a bootstrap CI.

    Args:
        num, den: float[n] per-seed scores of two methods (e.g. steps to 80% [env steps]).
        paired: resample seed indices jointly (``num[i]`` and ``den[i]`` share seed i, e.g. the
            same warm start); otherwise each side is resampled on its own.

    A resample whose denominator statistic is 0 is dropped; NaN when none is left.
    """
    a = np.asarray(num, dtype=np.float64).ravel()
    b = np.asarray(den, dtype=np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise ValueError("ratio_bootstrap_ci needs at least one score on each side")
    if paired and a.size != b.size:
        raise ValueError(f"paired bootstrap needs equal sizes, got {a.size} and {b.size}")
    d = statistic(b)
    point = statistic(a) / d if d else float("nan")
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(reps):
        ia = rng.integers(0, a.size, size=a.size)
        ib = ia if paired else rng.integers(0, b.size, size=b.size)
        d = statistic(b[ib])
        if d:
            stats.append(statistic(a[ia]) / d)
    if not stats:
        return float(point), float("nan"), float("nan")
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(np.array(stats), [alpha, 1.0 - alpha])
    return float(point), float(low), float(high)


def wilson_ci(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(rate, low, high)``: the Wilson score interval of a binomial success rate."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"wilson_ci needs 0 <= successes <= n and n > 0, got {successes}/{n}")
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return float(p), float(max(0.0, centre - half)), float(min(1.0, centre + half))
