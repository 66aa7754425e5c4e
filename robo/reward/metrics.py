"""Reward-model metrics on scored episodes, and the time-only baseline.

Keys (overall and per task), all from per-step progress traces Φ float[T]:

* ``voc_s``: Spearman(Φ, t) on successful episodes (mean over episodes).
* ``voc_rev``: the same on the episode played backwards (near -1 is good).
* ``voc_p``: Pearson(Φ, progress_gt) where the sim has it (mean over episodes).
* ``tau_a``: Kendall tau-a between the episode score (Φ at the end: mean of the last 5 steps)
  and kind rank (failure < noisy < expert), over pairs of episodes of the same task whose kinds
  differ. ``tau_a_mean`` (extra) uses the mean Φ over the episode instead, which ranks a long
  failure that hovers half way above a short expert episode that starts at 0.
  ``tau_a_time`` (extra) counts time: each episode's Φ is held at its end value out to the
  length of the task's longest scored episode and averaged, so of two runs that finish, the one
  that finishes sooner scores higher (the undiscounted return of Φ over a common horizon).
* ``auroc``: successful vs failed episodes from the final Φ.
* ``ece``: expected calibration error of Φ against progress_gt (10 equal-width bins).
* ``regress_recall``: fraction of regress segments over which Φ drops by more than 0.02. A
  regress segment is a recorded rewind that really undid progress (see
  :func:`robo.reward.evaluate.regress_segments`: inside the episode, the task not finished
  during it, and progress_gt, where the sim has it, down by more than 0.02 over it).
  ``regress_recall_all`` (extra) counts every recorded rewind that lies inside the episode, and
  ``regress_n`` is the number of regress segments.
* ``voc_fail``: Spearman(Φ, t) on failure episodes (low is good).
* ``std_coverage`` (extra): fraction of steps with |Φ - progress_gt| <= the predicted std
  (0.68 for calibrated Gaussian errors).
* ``unc_ece`` (extra): calibration error of the predicted std: the mean over nominal levels
  q in {0.1, ..., 0.9} of |coverage(q) - q|, where coverage(q) is the fraction of steps with
  |Φ - progress_gt| <= z_q std (z_q the two-sided Gaussian quantile). 0 = calibrated.
* ``ece_label`` (extra): ``ece`` against the automatic training labels instead of
  progress_gt: how well Φ matches what the model was taught, apart from how the labels
  (equal shares per subtask, Φ = 0 for failures) differ from the simulator's own progress.

The time-only baseline predicts Φ_t = t / (T-1) for every episode; it scores voc_s = 1 on any
successful episode, which is why failure, rewind and unseen-task numbers matter.

The privileged-progress ceiling (``baseline_gt``) scores the simulator's own ``progress_gt`` as
if it were the model's Φ, on the episodes that have it: what a perfect progress estimator would
get on the same episodes. It is a ceiling for the ranking metrics, not a bar to clear: where the
data cannot separate kinds by progress (e.g. noisy episodes that finish like experts) its
``tau_a`` stays low, and a model near it has no more to gain from better progress alone. Its
``regress_recall`` is 1 by construction (regress segments are defined by progress_gt).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import stats

COVERAGE_LEVELS = np.round(np.arange(0.1, 1.0, 0.1), 2)

KIND_RANK = {"failure": 0, "noisy": 1, "expert": 2}
METRIC_KEYS = ("voc_s", "voc_rev", "voc_p", "tau_a", "auroc", "ece", "regress_recall", "voc_fail")
REGRESS_DROP = 0.02


@dataclass
class ScoredEpisode:
    """What the metrics need of one episode: Φ (float[T]) and, for successes, Φ reversed."""

    task: str
    kind: str
    success: bool
    phi: np.ndarray
    phi_reversed: np.ndarray | None = None
    progress_gt: np.ndarray | None = None
    rewind_segments: list = field(default_factory=list)
    std: np.ndarray | None = None
    label: np.ndarray | None = None
    rewinds_all: list | None = None
    """Every recorded rewind ``[start, end)`` (for ``regress_recall_all``); None = the same as
    ``rewind_segments`` (the regress segments ``regress_recall`` counts)."""


def spearman_time(phi: np.ndarray) -> float:
    """Spearman correlation of a trace with time (0 for a constant trace)."""
    phi = np.asarray(phi, np.float64)
    if len(phi) < 3 or np.ptp(phi) < 1e-9:
        return 0.0
    return float(stats.spearmanr(np.arange(len(phi)), phi).statistic)


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) < 1e-9 or np.ptp(b[ok]) < 1e-9:
        return None
    return float(stats.pearsonr(a[ok], b[ok]).statistic)


def auroc(scores_pos: list[float], scores_neg: list[float]) -> float | None:
    """Area under the ROC curve (ties count half); None if a class is empty."""
    if not scores_pos or not scores_neg:
        return None
    p, n = np.asarray(scores_pos)[:, None], np.asarray(scores_neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def tau_a(scores: list[float], ranks: list[int]) -> float | None:
    """Kendall tau-a over pairs with different ranks: (concordant - discordant) / pairs."""
    s, r = np.asarray(scores), np.asarray(ranks)
    i, j = np.triu_indices(len(s), 1)
    diff = r[i] != r[j]
    if not diff.any():
        return None
    sign = np.sign(s[i] - s[j]) * np.sign(r[i] - r[j])
    return float(sign[diff].sum() / diff.sum())


def ece(phi: np.ndarray, gt: np.ndarray, n_bins: int = 10) -> float | None:
    """Expected calibration error: sum_b (n_b / n) |mean Φ_b - mean gt_b| over Φ bins."""
    phi, gt = np.asarray(phi, np.float64), np.asarray(gt, np.float64)
    ok = np.isfinite(phi) & np.isfinite(gt)
    if not ok.any():
        return None
    phi, gt = phi[ok], gt[ok]
    b = np.minimum((phi * n_bins).astype(int), n_bins - 1)
    err = 0.0
    for k in range(n_bins):
        m = b == k
        if m.any():
            err += m.sum() / len(phi) * abs(phi[m].mean() - gt[m].mean())
    return float(err)


def reliability(phi: np.ndarray, gt: np.ndarray, n_bins: int = 10) -> tuple[np.ndarray, ...]:
    """(bin centres, mean gt per bin (NaN if empty), counts) for a reliability diagram."""
    phi, gt = np.asarray(phi, np.float64), np.asarray(gt, np.float64)
    ok = np.isfinite(phi) & np.isfinite(gt)
    b = np.minimum((phi[ok] * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(b, minlength=n_bins)
    sums = np.bincount(b, weights=gt[ok], minlength=n_bins)
    with np.errstate(invalid="ignore"):
        return (np.arange(n_bins) + 0.5) / n_bins, sums / counts, counts


def coverage_curve(
    err: np.ndarray, std: np.ndarray, levels: np.ndarray = COVERAGE_LEVELS
) -> np.ndarray:
    """float[L]: fraction of |err| <= z_q std for each nominal central level q in ``levels``.

    Args:
        err, std: float[N] errors (Φ - reference) and predicted stds.
    """
    z = stats.norm.ppf(0.5 + np.asarray(levels) / 2.0)
    ratio = np.abs(np.asarray(err, np.float64)) / np.maximum(np.asarray(std, np.float64), 1e-9)
    return (ratio[None, :] <= z[:, None]).mean(1)


def uncertainty_ece(err: np.ndarray, std: np.ndarray) -> float | None:
    """Mean |coverage(q) - q| over :data:`COVERAGE_LEVELS` (None without data)."""
    ok = np.isfinite(err) & np.isfinite(std)
    if not ok.any():
        return None
    return float(np.mean(np.abs(coverage_curve(err[ok], std[ok]) - COVERAGE_LEVELS)))


def _mean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None and np.isfinite(x)]
    return float(np.mean(xs)) if xs else None


def _dropped(phi: np.ndarray, start: int, end: int) -> float:
    """1.0 if Φ at ``end`` (clipped to the episode) is more than REGRESS_DROP below Φ at ``start``."""
    return float(phi[min(int(end), len(phi) - 1)] < phi[int(start)] - REGRESS_DROP)


def _held_to_horizon(eps: list[ScoredEpisode]) -> list[float]:
    """Mean Φ of each episode with its end value (mean of the last 5 steps) held out to the
    longest episode's length."""
    H = max(len(e.phi) for e in eps)
    return [float((e.phi.sum() + (H - len(e.phi)) * np.mean(e.phi[-5:])) / H) for e in eps]


def compute_metrics(episodes: list[ScoredEpisode]) -> dict[str, float | None]:
    """All :data:`METRIC_KEYS` (None where the data has no such episodes) plus ``n_episodes``."""
    succ = [e for e in episodes if e.success and e.kind != "rewind"]
    fail = [e for e in episodes if not e.success and e.kind == "failure"]
    out: dict[str, float | None] = {
        "voc_s": _mean([spearman_time(e.phi) for e in succ]),
        "voc_rev": _mean(
            [spearman_time(e.phi_reversed) for e in succ if e.phi_reversed is not None]
        ),
        "voc_p": _mean(
            [pearson(e.phi, e.progress_gt) for e in episodes if e.progress_gt is not None]
        ),
        "voc_fail": _mean([spearman_time(e.phi) for e in fail]),
        "auroc": auroc([float(e.phi[-1]) for e in succ], [float(e.phi[-1]) for e in fail]),
    }
    by_task: dict[str, list[ScoredEpisode]] = defaultdict(list)
    for e in episodes:
        if e.kind in KIND_RANK:
            by_task[e.task].append(e)
    ranks = {t: [KIND_RANK[e.kind] for e in eps] for t, eps in by_task.items()}
    out["tau_a"] = _mean(
        [tau_a([float(np.mean(e.phi[-5:])) for e in eps], ranks[t]) for t, eps in by_task.items()]
    )
    out["tau_a_mean"] = _mean(
        [tau_a([float(np.mean(e.phi)) for e in eps], ranks[t]) for t, eps in by_task.items()]
    )
    out["tau_a_time"] = _mean(
        [tau_a(_held_to_horizon(eps), ranks[t]) for t, eps in by_task.items()]
    )
    with_gt = [e for e in episodes if e.progress_gt is not None]
    out["ece"] = (
        ece(
            np.concatenate([e.phi for e in with_gt]),
            np.concatenate([e.progress_gt for e in with_gt]),
        )
        if with_gt
        else None
    )
    drops = [_dropped(e.phi, a, b) for e in episodes for a, b in e.rewind_segments]
    out["regress_recall"] = _mean(drops)
    out["regress_n"] = len(drops)
    out["regress_recall_all"] = _mean(
        [
            _dropped(e.phi, a, b)
            for e in episodes
            for a, b in (e.rewind_segments if e.rewinds_all is None else e.rewinds_all)
            if int(a) < len(e.phi) - 1
        ]
    )
    cover = [
        np.abs(e.phi - e.progress_gt) <= e.std
        for e in episodes
        if e.std is not None and e.progress_gt is not None
    ]
    out["std_coverage"] = float(np.mean(np.concatenate(cover))) if cover else None
    with_std = [e for e in episodes if e.std is not None and e.progress_gt is not None]
    out["unc_ece"] = (
        uncertainty_ece(
            np.concatenate([e.phi - e.progress_gt for e in with_std]),
            np.concatenate([e.std for e in with_std]),
        )
        if with_std
        else None
    )
    with_label = [e for e in episodes if e.label is not None]
    out["ece_label"] = (
        ece(
            np.concatenate([e.phi for e in with_label]),
            np.concatenate([e.label for e in with_label]),
        )
        if with_label
        else None
    )
    out["n_episodes"] = float(len(episodes))
    return out


def _rescored(ep: ScoredEpisode, phi: np.ndarray, phi_reversed: np.ndarray) -> ScoredEpisode:
    """``ep`` with a baseline's Φ (no std); the reversed trace only where ``ep`` has one."""
    return replace(
        ep, phi=phi, phi_reversed=None if ep.phi_reversed is None else phi_reversed, std=None
    )


def time_baseline(ep: ScoredEpisode) -> ScoredEpisode:
    """The same episode scored by the time-only baseline Φ_t = t / (T-1)."""
    T = len(ep.phi)
    phi = np.arange(T) / max(T - 1, 1)
    return _rescored(ep, phi, phi.copy())


def gt_baseline(ep: ScoredEpisode) -> ScoredEpisode | None:
    """The same episode scored by its privileged ``progress_gt`` (None where it has none)."""
    if ep.progress_gt is None:
        return None
    phi = np.asarray(ep.progress_gt, np.float64)
    return _rescored(ep, phi, phi[::-1].copy())


def _overall_and_per_task(episodes: list[ScoredEpisode]) -> dict:
    tasks = sorted({e.task for e in episodes})
    return {
        "overall": compute_metrics(episodes),
        "per_task": {t: compute_metrics([e for e in episodes if e.task == t]) for t in tasks},
    }


def metrics_report(episodes: list[ScoredEpisode]) -> dict:
    """``{"overall", "per_task", "baseline_time": {overall, per_task}}`` plus ``"baseline_gt"``
    (same shape) when any episode has ``progress_gt``."""
    report = _overall_and_per_task(episodes)
    report["baseline_time"] = _overall_and_per_task([time_baseline(e) for e in episodes])
    oracle = [g for g in map(gt_baseline, episodes) if g is not None]
    if oracle:
        report["baseline_gt"] = _overall_and_per_task(oracle)
    return report
