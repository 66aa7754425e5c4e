"""A tiny offline RFT run on the toy token policy raises the expected reward; a run with the
advantage sign flipped lowers it (so the check can fail)."""

import numpy as np
import torch
from toy_token_policy import ToyTokenPolicy, fit_toy_bc, toy_obs

from robo.rft.grpo import grpo_loss
from robo.rft.rewards import RewardWeights
from robo.rft.trainer import DemoSample, GRPOTrainer, RFTConfig, Rows, expected_offline_reward


def _demos(n: int = 24, seed: int = 0) -> list[DemoSample]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        s = rng.uniform(-0.8, 0.8, 2).astype(np.float32)
        chunk = torch.tensor(np.tile(s, (4, 1)))  # the demo holds the state as its action
        out.append(DemoSample(toy_obs(s), chunk, "toy/hold"))
    return out


def _run(flip: bool) -> tuple[float, float, dict]:
    torch.manual_seed(0)
    demos = _demos(12)
    policy = ToyTokenPolicy(horizon=4, executed=2, action_dim=2, bins=9)
    fit_toy_bc(policy, [d.obs for d in demos], torch.stack([d.chunk for d in demos]), steps=15)
    cfg = RFTConfig(group_size=8, epochs=2, minibatch=64, lr=1e-2, kl_coef=0.01)
    trainer = GRPOTrainer(policy, cfg, RewardWeights(qacr=0.5, ctar=1.0, fcr=0.5))
    before = expected_offline_reward(trainer, demos, n=16)
    stats = {}
    for _ in range(6):
        rows, _ = trainer.offline_rows(demos)
        if flip:
            rows = Rows(rows.obs, rows.tokens, -rows.advantages)
        stats = trainer.update(rows)
    after = expected_offline_reward(trainer, demos, n=16)
    return before, after, stats


def test_offline_rft_increases_expected_reward():
    before, after, stats = _run(flip=False)
    assert after > before + 0.1, (before, after)
    assert stats["kl"] > 0  # moved away from the reference


def test_flipped_advantages_decrease_it():
    before, after, _ = _run(flip=True)
    assert after < before - 0.05, (before, after)


def test_offline_rows_shapes_and_prefix_only_gradient():
    torch.manual_seed(1)
    demos = _demos(8)
    policy = ToyTokenPolicy(horizon=4, executed=1, action_dim=2)
    trainer = GRPOTrainer(policy, RFTConfig(group_size=4, kl_coef=0.0, drop_flat_groups=False))
    rows, means = trainer.offline_rows(demos)
    assert len(rows) == 32 and rows.tokens.shape == (32, 8)
    assert set(means) >= {"qacr", "ctar", "fcr", "reward", "flat_groups"}
    # with dropping on, exactly the groups with equal rewards are left out
    torch.manual_seed(1)
    trainer.config.drop_flat_groups = True
    kept, means = trainer.offline_rows(demos)
    assert len(kept) == 4 * (8 - round(8 * means["flat_groups"]))
    assert (kept.advantages.view(-1, 4).abs().amax(-1) > 0).all()
    logp = policy.token_log_probs_batch(rows.obs, rows.tokens)
    loss, _ = grpo_loss(logp, logp.detach(), None, rows.advantages, trainer.mask)
    grad = torch.autograd.grad(loss, logp)[0].abs().sum(0)
    assert (grad[2:] == 0).all() and (grad[:2] > 0).all()  # executed=1 step = 2 tokens


def test_positive_only_never_pushes_samples_down():
    torch.manual_seed(2)
    demos = _demos(4)
    policy = ToyTokenPolicy(horizon=4, executed=2, action_dim=2)
    cfg = RFTConfig(group_size=4, kl_coef=0.0, lr=1e-2, positive_only=True)
    trainer = GRPOTrainer(policy, cfg)
    rows, _ = trainer.offline_rows(demos)
    before = [p.detach().clone() for p in policy.parameters()]
    # only below-mean samples: clamped to 0 advantage, no gradient, Adam leaves weights alone
    trainer.update(Rows(rows.obs, rows.tokens, -rows.advantages.abs() - 0.1))
    assert all(torch.equal(a, b) for a, b in zip(before, policy.parameters()))
    trainer.config.positive_only = False
    trainer.update(Rows(rows.obs, rows.tokens, -rows.advantages.abs() - 0.1))
    assert not all(torch.equal(a, b) for a, b in zip(before, policy.parameters()))
