import numpy as np
import pytest

from robo.reward.metrics import (
    ScoredEpisode,
    auroc,
    compute_metrics,
    ece,
    metrics_report,
    tau_a,
    time_baseline,
)


def _ep(kind, phi, success, gt=None, rewinds=()):
    phi = np.asarray(phi, float)
    return ScoredEpisode(
        "t", kind, success, phi, phi[::-1].copy() if success else None, gt, list(rewinds)
    )


def test_perfect_model_and_time_baseline():
    T = 20
    ramp = np.linspace(0, 1, T)
    eps = [
        _ep("expert", ramp, True, gt=ramp),
        _ep("noisy", ramp * 0.9, True),
        _ep("failure", np.r_[np.linspace(0, 0.3, 10), np.linspace(0.3, 0.0, 10)], False),
        _ep("rewind", np.r_[ramp[:10], ramp[9::-1]], False, rewinds=[(9, 19)]),
    ]
    m = compute_metrics(eps)
    assert m["voc_s"] == pytest.approx(1.0)
    assert m["voc_rev"] == pytest.approx(-1.0)
    assert m["auroc"] == 1.0 and m["regress_recall"] == 1.0
    assert m["voc_fail"] < 0.3 and m["tau_a"] == 1.0
    assert m["ece"] == pytest.approx(0.0, abs=1e-9) and m["voc_p"] == pytest.approx(1.0)
    base = compute_metrics([time_baseline(e) for e in eps])
    assert base["voc_s"] == 1.0 and base["voc_rev"] == 1.0 and base["auroc"] == 0.5
    assert base["regress_recall"] == 0.0
    rep = metrics_report(eps)
    assert set(rep) == {"overall", "per_task", "baseline_time", "baseline_gt"}
    assert "t" in rep["per_task"] and rep["baseline_gt"]["overall"]["n_episodes"] == 1.0


def test_progress_gt_ceiling_cannot_rank_noisy_runs_that_finish():
    """The privileged ceiling scores progress_gt as Φ: a noisy run that finishes ties the expert."""
    ramp = np.r_[np.linspace(0, 1, 15), np.ones(5)]
    slow = np.r_[np.linspace(0, 1, 30), np.ones(5)]
    eps = [
        _ep("expert", ramp, True, gt=ramp),
        _ep("noisy", slow * 0.5, True, gt=slow),
        _ep("failure", ramp * 0.2, False, gt=ramp * 0.3),
        _ep("rewind", ramp, True),  # no progress_gt: left out of the ceiling
    ]
    rep = metrics_report(eps)
    assert rep["overall"]["tau_a"] == 1.0  # this Φ separates all three kinds
    gt = rep["baseline_gt"]["overall"]
    assert gt["n_episodes"] == 3.0
    assert gt["tau_a"] == pytest.approx(2 / 3)  # expert-vs-noisy is a tie at progress 1
    assert gt["voc_p"] == pytest.approx(1.0) and gt["ece"] == pytest.approx(0.0)
    assert gt["tau_a_time"] == 1.0  # counting time, the expert that finishes sooner wins
    assert metrics_report([_ep("expert", ramp, True)]).keys() == {
        "overall",
        "per_task",
        "baseline_time",
    }


def test_metric_helpers():
    assert auroc([0.9, 0.8], [0.1, 0.8]) == pytest.approx(0.875)
    assert auroc([], [0.1]) is None
    assert tau_a([1, 2, 3], [0, 1, 2]) == 1.0
    assert tau_a([3, 2, 1], [0, 1, 2]) == -1.0
    assert ece(np.array([0.05, 0.95]), np.array([0.05, 0.55])) == pytest.approx(0.2)


def test_uncertainty_calibration_error():
    from robo.reward.metrics import COVERAGE_LEVELS, coverage_curve, uncertainty_ece

    rng = np.random.default_rng(0)
    std = rng.uniform(0.05, 0.2, 20000)
    err = rng.normal(0.0, std)
    cov = coverage_curve(err, std)
    assert np.allclose(cov, COVERAGE_LEVELS, atol=0.02)
    assert uncertainty_ece(err, std) < 0.02
    # over-confident (std 3x too small) and under-confident (3x too large) are both caught
    assert uncertainty_ece(err, std / 3) > 0.2
    assert uncertainty_ece(err, std * 3) > 0.2


def test_label_ece_and_unc_ece_keys():
    from robo.reward.metrics import ScoredEpisode

    phi = np.linspace(0, 1, 20)
    ep = ScoredEpisode("t", "expert", True, phi, phi[::-1].copy(), progress_gt=phi**2,
                       std=np.full(20, 0.1), label=phi.copy())  # fmt: skip
    m = compute_metrics([ep])
    assert m["ece_label"] == pytest.approx(0.0, abs=1e-9)
    assert m["ece"] > 0.05 and m["unc_ece"] is not None


def test_regress_recall_counts_regress_segments_and_reports_all_rewinds():
    ramp = np.linspace(0, 1, 20)
    phi = np.r_[ramp[:10], np.full(10, ramp[9])]  # Φ never drops
    ep = _ep("rewind", phi, False, rewinds=[])
    ep.rewinds_all = [(9, 19), (19, 40)]  # the second starts at the last frame: not counted
    m = compute_metrics([ep])
    assert m["regress_recall"] is None and m["regress_n"] == 0
    assert m["regress_recall_all"] == 0.0
    drop = _ep("rewind", np.r_[ramp[:10], ramp[9::-1]], False, rewinds=[(9, 19)])
    m = compute_metrics([drop, ep])
    assert m["regress_recall"] == 1.0 and m["regress_n"] == 1
    assert m["regress_recall_all"] == pytest.approx(0.5)
