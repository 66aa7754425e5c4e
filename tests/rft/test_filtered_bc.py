"""Filtered BC: lockstep collection records what the evaluator sees, and fine-tuning clones
only the successful own episodes (a tiny VLA on a 1-D point env and synthetic episodes)."""

import numpy as np
import pytest
import torch
from toy_point_env import PointEnv

from robo.policy.vla import VLAConfig
from robo.policy.vla.train import VLATrainConfig, train_vla
from robo.rft.evaluate import success_rate_lockstep
from robo.rft.filtered_bc import FilteredBCConfig, collect_lockstep, finetune_filtered
from robo.types import Episode

torch.set_num_threads(1)
TEXT = "move to the goal"


def point_env() -> PointEnv:
    """The toy point env with a 3-D state [x, g, 0] and this file's instruction."""
    return PointEnv(TEXT, pad=1)


def episode(c: float, seed: int, success: bool, t_len: int = 10) -> Episode:
    """Random states; action dim 0 is the constant ``c``, dim 1 follows state[0]."""
    rng = np.random.default_rng(seed)
    state = rng.uniform(-1, 1, (t_len, 3)).astype(np.float32)
    action = np.stack([np.full(t_len, c), 0.5 * state[:, 0]], 1).astype(np.float32)
    return Episode(
        task="toy/point", instruction=TEXT, kind="policy", seed=seed, images={}, state=state,
        action=action, success=np.full(t_len, success), progress_gt=np.zeros(t_len),
        timestamp=np.arange(t_len) * 0.05,
    )  # fmt: skip


def base_policy():
    """A tiny VLA imitating demos whose dim-0 action is spread over [-0.8, 0.8]."""
    torch.manual_seed(0)
    demos = [episode(c, s, True) for s, c in enumerate(np.linspace(-0.8, 0.8, 8))]
    cfg = VLAConfig(
        action_dim=2, state_dim=3, horizon=2, executed=2, bins=16, d_model=32, heads=2,
        layers=1, text_backend="hash",
    )  # fmt: skip
    policy, _ = train_vla(
        demos, cfg, VLATrainConfig(steps=60, batch_size=32, lr=3e-3, ema=0.0), progress=False,
        log=lambda m: None,
    )  # fmt: skip
    return policy, demos


def test_collect_lockstep_records_the_evaluated_episodes():
    policy, _ = base_policy()
    seeds = [1, 2, 3, 4, 5]
    eps = collect_lockstep([point_env(), point_env()], policy, seeds, temperature=0.0)
    res = success_rate_lockstep([point_env(), point_env()], policy, seeds, temperature=0.0)
    assert [bool(ep.success.any()) for ep in eps] == res["per_seed"]
    assert np.mean([len(ep) for ep in eps]) == res["steps"]
    for ep, s in zip(eps, seeds):
        assert ep.seed == s and ep.task == "toy/point" and ep.kind == "policy"
        assert ep.state.shape == (len(ep), 3) and ep.action.shape == (len(ep), 2)
        np.testing.assert_array_equal(ep.state[0], point_env().reset(seed=s)[0]["state"])
        assert not ep.success[:-1].any()  # an episode ends at its first success
        # replaying the recorded actions reproduces the recorded states
        env = point_env()
        env.reset(seed=s)
        for t in range(1, len(ep)):
            obs = env.step(ep.action[t - 1])[0]
            np.testing.assert_allclose(obs["state"], ep.state[t])


def test_finetune_clones_successes_only():
    policy, demos = base_policy()
    own = [episode(0.8, 100 + s, True) for s in range(6)]
    own += [episode(-0.8, 200 + s, False) for s in range(6)]
    stats = finetune_filtered(
        policy, demos, own, FilteredBCConfig(steps=80, lr=3e-3, warmup=5, ema=0.9,
                                             demo_fraction=0.0),
    )  # fmt: skip
    assert stats["kept"] == 6 and stats["own_episodes"] == 12 and stats["windows_demo"] == 0
    assert stats["windows_own"] == 60 and stats["nll_last"] < stats["nll_first"]
    obs = {"images": {}, "state": np.array([0.2, 0.0, 0.1], np.float32), "instruction": TEXT,
           "timestamp": np.float64(0)}  # fmt: skip
    dim0 = policy.sample(obs, n=32, generator=torch.Generator().manual_seed(0))[:, :, 0]
    assert float(dim0.mean()) > 0.5  # the failed episodes' −0.8 was not cloned
    assert all(p.requires_grad for p in policy.parameters())


def test_mix_falls_back_to_demos_and_rejects_nothing_to_clone():
    policy, demos = base_policy()
    failed = [episode(-0.8, 300, False)]
    stats = finetune_filtered(policy, demos, failed, FilteredBCConfig(steps=2))
    assert stats["kept"] == 0 and stats["demo_fraction"] == 1.0 and stats["windows_own"] == 0
    with pytest.raises(ValueError, match="nothing to clone"):
        finetune_filtered(policy, [], failed, FilteredBCConfig(steps=2))
    with pytest.raises(ValueError, match="demo_fraction"):
        FilteredBCConfig(demo_fraction=1.5)
