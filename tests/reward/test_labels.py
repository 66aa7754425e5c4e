import numpy as np

from robo.reward.labels import (
    gripper_events,
    progress_from_boundaries,
    progress_labels,
    segment_episode,
    speed_minima,
)
from robo.reward.synthetic import make_episode
from robo.types import Episode


def _trajectory(T=60, grasp=20, pause=(40, 44)):
    """Arm moves, closes its gripper at ``grasp``, moves, pauses, moves; success at T-1."""
    t = np.arange(T, dtype=np.float64)
    speed = np.ones(T)
    speed[pause[0] : pause[1]] = 0.0
    speed[grasp - 1 : grasp + 2] = 0.0
    x = np.cumsum(speed)
    state = np.stack([x, 0.5 * x, np.zeros(T), (t >= grasp).astype(float)], 1).astype(np.float32)
    action = np.zeros((T, 4), np.float32)
    action[:, 3] = np.where(t >= grasp, 1.0, -1.0)
    success = np.zeros(T, bool)
    success[-1] = True
    return Episode(
        task="synth/known",
        instruction="do it",
        kind="expert",
        seed=0,
        images={},
        state=state,
        action=action,
        success=success,
        progress_gt=np.full(T, np.nan, np.float32),
        timestamp=t * 0.05,
        meta={"gripper_dims": [3]},
    )


def test_known_segments_give_known_progress():
    ep = _trajectory()
    bounds = segment_episode(ep)
    assert any(abs(b - 20) <= 1 for b in bounds), bounds  # gripper event
    assert any(40 <= b <= 45 for b in bounds), bounds  # pause (speed minimum)
    phi = progress_labels(ep)
    k = len(bounds) + 1
    for i, b in enumerate(bounds):
        assert phi[b] == np.float32((i + 1) / k)
    assert phi[0] == 0 and phi[-1] == 1
    assert np.all(np.diff(phi) >= 0)


def test_progress_from_boundaries_is_piecewise_linear():
    phi = progress_from_boundaries(11, [4], end=10)
    np.testing.assert_allclose(phi[[0, 2, 4, 7, 10]], [0, 0.25, 0.5, 0.75, 1.0])


def test_gripper_and_speed_detectors():
    assert gripper_events(np.r_[np.zeros(10), np.ones(10)]) == [10]
    assert gripper_events(np.zeros(20)) == []
    x = np.r_[np.arange(20), np.full(6, 19), np.arange(20, 40)].astype(float)[:, None]
    assert any(19 <= m <= 26 for m in speed_minima(x))


def test_failure_is_zero_and_rewind_mirrors():
    assert not progress_labels(make_episode(kind="failure")).any()
    ep = make_episode(kind="rewind")
    phi = progress_labels(ep, reference_length=39)
    ((start, end),) = ep.meta["rewinds"]
    for k in range(1, end - start + 1):
        assert phi[start + k] == phi[start - k]
    assert phi[end] < phi[start]


def test_pauses_hold_progress_and_time_mode():
    ep = make_episode(kind="expert", length=40)
    ep.meta["pauses"] = [[5, 9]]
    phi = progress_labels(ep)
    assert np.allclose(phi[5:10], phi[5])
    lin = progress_labels(make_episode(), mode="time")
    np.testing.assert_allclose(lin, np.arange(40) / 39, atol=1e-6)
