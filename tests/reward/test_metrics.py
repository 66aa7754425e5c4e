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
    assert set(rep) == {"overall", "per_task", "baseline_time"} and "t" in rep["per_task"]


def test_metric_helpers():
    assert auroc([0.9, 0.8], [0.1, 0.8]) == pytest.approx(0.875)
    assert auroc([], [0.1]) is None
    assert tau_a([1, 2, 3], [0, 1, 2]) == 1.0
    assert tau_a([3, 2, 1], [0, 1, 2]) == -1.0
    assert ece(np.array([0.05, 0.95]), np.array([0.05, 0.55])) == pytest.approx(0.2)
