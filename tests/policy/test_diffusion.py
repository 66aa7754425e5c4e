import dataclasses

import numpy as np
import pytest
import torch

from robo.policy import ChunkPolicy, DiffusionConfig, DiffusionPolicy
from robo.policy.ddim import cosine_alphas_cumprod, ddim_timesteps
from robo.policy.train import TrainConfig, random_shift, train_diffusion
from robo.steer import BestOfN, GradientGuidance, ParticleSteering

from .conftest import obs_of, toy_episode


def test_bc_learns_the_state_dependent_chunk(tiny_config):
    episodes = [toy_episode(s) for s in range(8)]
    config = dataclasses.replace(tiny_config, cameras=())  # state-only keeps the test fast
    train = TrainConfig(steps=300, batch_size=32, lr=3e-3, ema=0.9, log_every=1000)
    policy, stats = train_diffusion(episodes, config, train, log=lambda s: None)
    assert stats["loss_last"] < 0.5 * stats["loss_first"]
    g = torch.Generator().manual_seed(0)
    for ep in (toy_episode(100), toy_episode(101)):  # unseen seeds, one of each sign
        chunks = policy.sample(obs_of(ep), n=16, generator=g)
        assert chunks.shape == (16, 8, 2)
        sign = np.sign(ep.state[0, 0])
        assert (torch.sign(chunks[..., 0].mean(1)) == sign).float().mean() >= 0.75


def test_protocol_nfe_and_no_log_prob(tiny_config):
    policy = DiffusionPolicy(tiny_config)
    assert isinstance(policy, ChunkPolicy)
    assert (policy.horizon, policy.action_dim, policy.executed) == (8, 2, 4)
    policy.sample(obs_of(toy_episode(0)), n=3)
    assert policy.last_info["nfe"] == 3 * 8 and policy.last_info["calls"] == 8
    with pytest.raises(NotImplementedError, match="no tractable log_prob"):
        policy.log_prob(obs_of(toy_episode(0)), torch.zeros(1, 8, 2))


def _cost(actions, context):
    return (actions[..., 0] - 0.5).pow(2).mean(1)


@pytest.mark.parametrize(
    "steer",
    [
        GradientGuidance(_cost, scale=0.5, inner_steps=2),
        ParticleSteering(_cost, particles=6, guidance_scale=0.2, repulsion_scale=0.1),
        BestOfN(_cost, num_samples=6),
    ],
    ids=["guidance", "smc", "best_of_n"],
)
def test_steering_leaves_weights_untouched(tiny_config, steer):
    policy = DiffusionPolicy(tiny_config)
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    grads_before = [p.grad for p in policy.parameters()]
    out = policy.sample(obs_of(toy_episode(0)), n=2, steer=steer)
    assert out.shape == (2, 8, 2)
    after = policy.state_dict()
    assert before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k]), k
    assert all(g is None for g in grads_before) and all(p.grad is None for p in policy.parameters())


def test_config_validation():
    with pytest.raises(ValueError, match="executed=9"):
        DiffusionConfig(action_dim=2, state_dim=3, horizon=8, executed=9)
    with pytest.raises(ValueError, match="divisible"):
        DiffusionConfig(action_dim=2, state_dim=3, horizon=6, executed=2, unet_dims=(8, 16, 32))
    with pytest.raises(ValueError, match="unknown diffusion config keys"):
        DiffusionConfig.from_dict({"action_dim": 2, "state_dim": 3, "bogus": 1})


def test_bad_observations_are_named(tiny_config):
    policy = DiffusionPolicy(tiny_config)
    obs = obs_of(toy_episode(0))
    with pytest.raises(ValueError, match="lacks cameras"):
        policy.sample({**obs, "images": {}})
    with pytest.raises(ValueError, match="state has 2 dims"):
        policy.sample({**obs, "state": np.zeros(2, np.float32)})


def test_schedule_and_augmentation():
    a = cosine_alphas_cumprod(100)
    assert a[0] > 0.99 and a[-1] < 1e-3 and torch.all(a[1:] < a[:-1])
    ts = ddim_timesteps(100, 10)
    assert ts[0] == 90 and ts[-1] == 0 and len(ts) == 10
    imgs = torch.rand(2, 3, 3, 16, 16)
    out = random_shift(imgs, 2, torch.Generator().manual_seed(0))
    assert out.shape == imgs.shape


def test_image_windows_and_a_training_step(tiny_config):
    from robo.policy.train import ChunkWindows

    episodes = [toy_episode(s) for s in range(2)]
    policy, stats = train_diffusion(
        episodes,
        tiny_config,
        TrainConfig(steps=2, batch_size=4, log_every=1000),
        log=lambda s: None,
    )
    data = ChunkWindows(episodes, policy)
    assert data.images.shape == (24, 1, 3, 16, 16) and data.images.dtype == torch.uint8
    assert data.actions.shape == (24, 8, 2)
    torch.testing.assert_close(data.actions[11], torch.from_numpy(episodes[0].action[[11] * 8]))
    assert np.isfinite(stats["loss_last"])
