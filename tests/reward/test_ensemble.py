import numpy as np
import pytest
import torch

from robo.reward.checkpoint import save_checkpoint
from robo.reward.ensemble import (
    EnsembleTracker,
    check_members,
    combine,
    load_ensemble,
    score_episode_ensemble,
    split_ckpts,
)
from robo.reward.evaluate import goal_frame, score_for_metrics
from robo.reward.model import ProgressRewardModel, RewardModelConfig
from robo.reward.scoring import score_episode
from robo.reward.synthetic import make_episode


def _model(seed: int, image_size: int = 32) -> ProgressRewardModel:
    torch.manual_seed(seed)
    return ProgressRewardModel(RewardModelConfig(image_size=image_size, text_backend="hash")).eval()


def test_combine_is_mean_and_mixture_std():
    phi, std = combine([np.array([0.2, 0.4]), np.array([0.4, 0.4])], [np.zeros(2), np.ones(2)])
    np.testing.assert_allclose(phi, [0.3, 0.4])
    np.testing.assert_allclose(std, np.sqrt([0.5 + 0.01, 0.5]))  # mean var + spread of means


def test_ensemble_trace_is_the_mean_of_its_members_and_tracks_online():
    a, b = _model(0), _model(1)
    ep = make_episode(length=10, image_size=32)
    goal = goal_frame(make_episode(seed=5, length=10, image_size=32))
    ta, tb = score_episode(a, ep, goal_images=goal), score_episode(b, ep, goal_images=goal)
    tr = score_episode_ensemble([a, b], ep, goal_images=goal)
    assert not np.allclose(ta.phi, tb.phi)  # two different members
    np.testing.assert_allclose(tr.phi, (ta.phi + tb.phi) / 2)
    assert (tr.std >= np.minimum(ta.std, tb.std) - 1e-12).all()
    assert set(tr.perspectives) == set(ta.perspectives)
    assert score_episode_ensemble([a], ep, goal_images=goal) is not None
    tracker = EnsembleTracker([a, b], ep.instruction, goal)
    online = [tracker.reset({c: v[0] for c, v in ep.images.items()})[0]]
    for t in range(1, 10):
        online.append(tracker.step({c: v[t] for c, v in ep.images.items()})[0])
    np.testing.assert_allclose(online, tr.phi, atol=1e-4)


def test_score_for_metrics_takes_a_model_or_members():
    a, b = _model(0), _model(1)
    eps = [make_episode(seed=s, length=8, image_size=32) for s in range(3)]
    one = score_for_metrics(a, eps)[0]
    both = score_for_metrics([a, b], eps)[0]
    alone_b = score_for_metrics([b], eps)[0]
    for x, y, z in zip(one, both, alone_b):
        np.testing.assert_allclose(y.phi, (x.phi + z.phi) / 2)


def test_load_ensemble_and_member_checks(tmp_path):
    for i, size in enumerate((32, 32, 48)):
        save_checkpoint(_model(i, size), tmp_path / f"m{i}")
    assert split_ckpts(f" {tmp_path}/m0, {tmp_path}/m1 ,") == [f"{tmp_path}/m0", f"{tmp_path}/m1"]
    models = load_ensemble(f"{tmp_path}/m0,{tmp_path}/m1")
    assert len(models) == 2
    with pytest.raises(ValueError, match="same cameras and image size"):
        load_ensemble([str(tmp_path / "m0"), str(tmp_path / "m2")])
    with pytest.raises(ValueError, match="at least one"):
        check_members([], [])
