import numpy as np
import pytest
import torch

from robo.reward.evaluate import goal_frame
from robo.reward.model import ProgressRewardModel, RewardModelConfig
from robo.reward.scoring import ProgressTracker, fuse, score_episode
from robo.reward.synthetic import make_episode


def test_fusion_weights_follow_inverse_variance():
    phi, std, w = fuse(np.array([0.2, 0.6, np.nan]), np.array([0.1, 0.2, 0.05]))
    np.testing.assert_allclose(w, [0.8, 0.2, 0.0])
    assert phi == pytest.approx(0.8 * 0.2 + 0.2 * 0.6)
    assert std < 0.1  # fused is more certain than the best input
    _, _, w2 = fuse(np.array([0.5, 0.5, 0.5]), np.array([0.1, 0.1, 0.1]))
    np.testing.assert_allclose(w2, [1 / 3] * 3)


def test_tracker_matches_batch_scoring():
    torch.manual_seed(0)
    m = ProgressRewardModel(RewardModelConfig(image_size=32, text_backend="hash")).eval()
    ep = make_episode(length=12, image_size=32)
    goal = goal_frame(make_episode(seed=5, length=12, image_size=32))
    tr = score_episode(m, ep, goal_images=goal)
    assert tr.phi.shape == tr.std.shape == (12,)
    np.testing.assert_allclose(tr.weights.sum(1), 1.0, atol=1e-9)
    tracker = ProgressTracker(m, ep.instruction, goal)
    online = [tracker.reset({c: v[0] for c, v in ep.images.items()})[0]]
    for t in range(1, 12):
        online.append(tracker.step({c: v[t] for c, v in ep.images.items()})[0])
    np.testing.assert_allclose(online, tr.phi, atol=1e-4)
    assert len(tracker.cache) == 12  # one cached embedding per step


def test_missing_camera_still_scores():
    m = ProgressRewardModel(RewardModelConfig(image_size=32, text_backend="hash")).eval()
    ep = make_episode(length=8, image_size=32)
    del ep.images["side"]
    tr = score_episode(m, ep)
    assert np.isfinite(tr.phi).all()
    with pytest.raises(ValueError, match="none of the cameras"):
        score_episode(m, ep, views=["top"])


def test_std_calibration_scales_reported_std():
    from robo.reward.labels import progress_labels
    from robo.reward.scoring import calibrate_std

    torch.manual_seed(0)
    m = ProgressRewardModel(RewardModelConfig(image_size=32, text_backend="hash")).eval()
    eps = [make_episode(seed=s, length=10, image_size=32) for s in range(2)]
    raw = score_episode(m, eps[0]).std
    scale = calibrate_std(m, eps, [progress_labels(e) for e in eps])
    assert scale > 0 and m.config.extra["std_scale"] == scale
    np.testing.assert_allclose(score_episode(m, eps[0]).std, raw * scale, rtol=1e-6)


def test_tracker_matches_batch_scoring_with_process_noise():
    torch.manual_seed(0)
    m = ProgressRewardModel(RewardModelConfig(image_size=32, text_backend="hash")).eval()
    m.config.extra["process_std"] = 0.05
    ep = make_episode(length=10, image_size=32)
    tr = score_episode(
        m, ep, goal_images=goal_frame(make_episode(seed=5, length=10, image_size=32))
    )
    tracker = ProgressTracker(
        m, ep.instruction, goal_frame(make_episode(seed=5, length=10, image_size=32))
    )
    online = [tracker.reset({c: v[0] for c, v in ep.images.items()})[0]]
    for t in range(1, 10):
        online.append(tracker.step({c: v[t] for c, v in ep.images.items()})[0])
    np.testing.assert_allclose(online, tr.phi, atol=1e-4)


def test_process_noise_stops_a_biased_incremental_step_from_dragging_phi_down():
    from robo.reward.scoring import _recurse

    T = 60
    inc_hop = np.full(T - 1, -0.03)  # a slight negative bias on every step
    inc_std = np.full(T - 1, 0.05)
    fwd_hop = np.full(T, 0.5)  # the anchored estimate says "half done" throughout
    fwd_std = np.full(T, 0.2)
    without = _recurse(inc_hop, inc_std, fwd_hop, fwd_std, None, None, True, q=0.0).phi
    with_q = _recurse(inc_hop, inc_std, fwd_hop, fwd_std, None, None, True, q=0.1).phi
    assert without[-1] < 0.35  # the filter trusts its own prior, pulled well off the anchor
    assert with_q[-1] > 0.45  # bounded confidence: the anchored estimate keeps its say
