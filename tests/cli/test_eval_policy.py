"""`robo eval-policy`: reproducible (steering randomness, i.e. SMC resampling, comes from a
generator per episode and chunk, not from torch's global RNG) and the ``fast`` switch."""

import numpy as np
import pytest
import torch

import sims
from robo.cli.cmd_eval_policy import evaluate, seeded_steers, steer_seed
from robo.policy import DiffusionConfig, DiffusionPolicy

# resample at every step (ESS threshold 1.01) and select by weight, with a soft tilt (the
# weights do not collapse onto one particle): every SMC step's draw matters
SMC = {
    "method": "smc", "particles": 4, "beta": 0.01, "ess_threshold": 1.01, "guidance_scale": 0.3,
    "inner_steps": 1, "eta": 1.0, "select": "sample",
}  # fmt: skip


@pytest.fixture(scope="module")
def policy():
    env = sims.make("so101/reach", render=False)
    obs, _ = env.reset(seed=0)
    env.close()
    torch.manual_seed(0)
    config = DiffusionConfig(
        action_dim=6, state_dim=len(obs["state"]), horizon=8, executed=4, cameras=(),
        unet_dims=(16, 32), num_train_steps=50, num_inference_steps=4, eta=0.0,
    )  # fmt: skip
    return DiffusionPolicy(config).eval()


def _run(policy, global_seed: int) -> tuple[dict, list[torch.Tensor]]:
    """Two SMC episodes of 8 steps after seeding torch's global RNG with ``global_seed``; the
    metrics and every sampled chunk."""
    chunks: list[torch.Tensor] = []
    sample = policy.sample

    def recording_sample(*args, **kwargs):
        chunks.append(sample(*args, **kwargs))
        return chunks[-1]

    torch.manual_seed(global_seed)
    policy.sample = recording_sample
    try:
        m = evaluate(policy, "so101/reach", "obstacle", SMC, 2, 1000, max_episode_steps=8)
    finally:
        del policy.sample
    return m, chunks


def test_same_command_same_episodes_whatever_the_global_rng(policy):
    m1, c1 = _run(policy, 1)
    m2, c2 = _run(policy, 2)
    assert len(c1) == len(c2) == 4  # 2 episodes x 2 chunks of 4 executed steps
    for a, b in zip(c1, c2):
        assert torch.equal(a, b)
    keys = ("per_episode_success", "per_episode_collision", "episode_steps_mean", "seeds")
    assert {k: m1[k] for k in keys} == {k: m2[k] for k in keys}


def test_unseeded_smc_follows_the_global_rng(policy):
    """The control: the same steer without the per-chunk generator draws from the global RNG,
    so the chunks change with it (what made SMC cells move between runs)."""
    from robo.steer import build_steer

    env = sims.make("so101/reach", render=False)
    obs, _ = env.reset(seed=1000)
    env.close()
    steer = build_steer(SMC, lambda actions, ctx: actions.pow(2).sum((1, 2)))
    out = []
    for global_seed in (1, 2, 3, 4):
        torch.manual_seed(global_seed)
        out.append(policy.sample(obs, steer=steer, generator=torch.Generator().manual_seed(0)))
    assert any(not torch.equal(out[0], o) for o in out[1:])


def test_steer_seeds_differ_per_episode_and_chunk():
    seeds = {steer_seed(e, c) for e in range(1000, 1020) for c in range(30)}
    assert len(seeds) == 600
    assert steer_seed(1000, 3) == steer_seed(1000, 3)
    assert seeded_steers(None, 1000) is None


def test_seeded_steers_sets_a_fresh_generator_per_chunk():
    class Steer:
        generator = None

    steer = Steer()
    make = seeded_steers(lambda env, obs: steer, 1007)
    draws = []
    for chunk in range(3):
        assert make(None, {}) is steer
        draws.append(float(torch.rand((), generator=steer.generator)))
        expect = torch.Generator().manual_seed(steer_seed(1007, chunk))
        assert draws[-1] == float(torch.rand((), generator=expect))
    assert len(set(draws)) == 3
    assert np.isfinite(draws).all()


@pytest.mark.parametrize("fast", [False, True])
def test_fast_switch_sets_the_sampling_path(policy, monkeypatch, tmp_path, fast):
    import robo.policy
    from robo.cli.main import main

    monkeypatch.setattr(robo.policy, "load_policy", lambda path: policy)
    policy.fast = not fast
    rc = main([
        "eval-policy", f"ckpt={tmp_path}", "task=so101/reach", f"fast={str(fast).lower()}",
        "episodes=1", "videos=0", "max_episode_steps=4", f"out={tmp_path}",
    ])  # fmt: skip
    assert rc == 0 and policy.fast is fast
    policy.fast = True
