"""GRPO: advantage normalisation, executed-prefix masking, clipping, KL zero at init."""

import pytest
import torch
from toy_token_policy import ToyTokenPolicy, toy_obs

from robo.rft.grpo import group_advantages, grpo_loss, is_flat


def test_group_advantages_are_normalised_per_group():
    r = torch.tensor([[1.0, 2.0, 3.0, 6.0], [0.0, 0.0, 1.0, 1.0]])
    a = group_advantages(r)
    assert torch.allclose(a.mean(-1), torch.zeros(2), atol=1e-6)
    assert torch.allclose(a.std(-1, unbiased=False), torch.ones(2), atol=1e-4)
    assert (a.argsort(-1) == r.argsort(-1)).all()  # order kept


def test_equal_rewards_give_zero_advantage_and_tiny_groups_fail():
    assert torch.equal(group_advantages(torch.full((5,), 0.3)), torch.zeros(5))
    with pytest.raises(ValueError, match=">= 2"):
        group_advantages(torch.ones(1))


def test_is_flat_flags_groups_without_signal():
    assert is_flat(torch.tensor([1.0, 1.0, 1.0])) and is_flat(torch.zeros(4))
    assert not is_flat(torch.tensor([0.0, 1.0, 0.0, 0.0]))


def test_tokens_outside_executed_prefix_get_zero_gradient():
    policy = ToyTokenPolicy(horizon=4, executed=2, action_dim=2)
    obs = toy_obs([0.3, -0.2])
    tokens = policy.sample_tokens(obs, n=6)
    logp = policy.token_log_probs(obs, tokens)
    leaf = logp.detach().clone().requires_grad_(True)
    mask = policy.tokenizer.prefix_mask(policy.executed)
    assert mask.tolist() == [True] * 4 + [False] * 4
    loss, _ = grpo_loss(leaf, leaf.detach(), leaf.detach() - 0.1, torch.randn(6), mask)
    loss.backward()
    assert (leaf.grad[:, ~mask] == 0).all()
    assert (leaf.grad[:, mask] != 0).any()
    # through the network: a loss on the suffix only would move it, the masked loss doesn't use it
    policy.zero_grad()
    full, _ = grpo_loss(logp, logp.detach(), None, torch.randn(6), mask)
    full.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in policy.parameters())


def test_clipped_ratio_stops_gradient_beyond_the_clip():
    old = torch.zeros(2, 3)
    mask = torch.ones(3, dtype=torch.bool)
    # ratio e^0.5 ≈ 1.65 > 1 + 0.2 with a positive advantage: clipped, no gradient
    logp = torch.full((2, 3), 0.5, requires_grad=True)
    loss, stats = grpo_loss(logp, old, None, torch.ones(2), mask, clip=0.2, kl_coef=0.0)
    loss.backward()
    assert stats.clip_frac == 1.0
    assert torch.equal(logp.grad, torch.zeros(2, 3))
    # negative advantage: the unclipped (pessimistic) term is active and pushes log π down
    logp2 = torch.full((2, 3), 0.5, requires_grad=True)
    loss2, _ = grpo_loss(logp2, old, None, -torch.ones(2), mask, clip=0.2, kl_coef=0.0)
    loss2.backward()
    assert (logp2.grad > 0).all()
    # inside the clip range the gradient is -A·ρ / count
    logp3 = torch.zeros(2, 3, requires_grad=True)
    grpo_loss(logp3, old, None, torch.ones(2), mask, clip=0.2, kl_coef=0.0)[0].backward()
    assert torch.allclose(logp3.grad, torch.full((2, 3), -1 / 6))


def test_kl_term_is_zero_at_init_and_positive_after_a_change():
    policy = ToyTokenPolicy()
    obs = toy_obs([0.1, 0.4])
    tokens = policy.sample_tokens(obs, n=8)
    mask = policy.tokenizer.prefix_mask(policy.executed)
    logp = policy.token_log_probs(obs, tokens)
    _, stats = grpo_loss(logp, logp.detach(), logp.detach(), torch.zeros(8), mask, kl_coef=1.0)
    assert stats.kl == pytest.approx(0.0, abs=1e-7)
    _, stats = grpo_loss(
        logp + 0.3, logp.detach(), logp.detach(), torch.zeros(8), mask, kl_coef=1.0
    )
    assert stats.kl > 1e-3


def test_empty_prefix_is_refused():
    x = torch.zeros(2, 4)
    with pytest.raises(ValueError, match="no token"):
        grpo_loss(x, x, None, torch.ones(2), torch.zeros(4, dtype=torch.bool))
