"""Trajectory DPO: loss sign and gradient, trajectory log-prob = sum of chunk log-probs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from toy_token_policy import toy_obs

from robo.tpo import ChunkRecord, Trajectory, dpo_loss, trajectory_log_probs


def _traj(policy, states, executed, task="t", seed=0) -> Trajectory:
    chunks = []
    for s, e in zip(states, executed):
        obs = toy_obs(s)
        tokens = policy.sample_tokens(obs, 1)[0]
        chunks.append(ChunkRecord(obs=obs, tokens=tokens, executed=e))
    n = sum(executed)
    return Trajectory(
        task=task, init_seed=seed, sample=0, instruction="", chunks=chunks,
        actions=np.zeros((n, policy.action_dim), np.float32), success=np.zeros(n, bool),
        progress_gt=np.zeros(n, np.float32), ee_path=None, contacts=np.zeros(n, np.int64),
    )  # fmt: skip


def test_loss_is_log2_at_the_reference_and_falls_when_chosen_rises():
    zero = torch.zeros(3)
    loss, stats = dpo_loss(zero, zero, zero, zero, beta=0.5)
    assert loss.item() == pytest.approx(math.log(2))
    assert stats.accuracy == 0.0
    up, _ = dpo_loss(zero + 1.0, zero, zero, zero, beta=0.5)
    down, _ = dpo_loss(zero - 1.0, zero, zero, zero, beta=0.5)
    assert up.item() < math.log(2) < down.item()
    worse_rejected, _ = dpo_loss(zero, zero + 1.0, zero, zero, beta=0.5)
    assert worse_rejected.item() > math.log(2)
    # only the difference to the reference matters
    shifted, _ = dpo_loss(zero + 5, zero + 2, zero + 4, zero + 1, beta=0.5)
    assert shifted.item() == pytest.approx(math.log(2))


def test_gradient_raises_chosen_and_lowers_rejected():
    lw = torch.tensor([-3.0, -1.0], requires_grad=True)
    ll = torch.tensor([-2.0, -4.0], requires_grad=True)
    ref = torch.tensor([-2.5, -2.5])
    loss, _ = dpo_loss(lw, ll, ref, ref, beta=0.3)
    loss.backward()
    assert (lw.grad < 0).all() and (ll.grad > 0).all()  # descent raises log π(τ_w)
    # analytic: dL/dlw = -β σ(-z) / P
    z = 0.3 * ((lw - ref) - (ll - ref)).detach()
    assert torch.allclose(lw.grad, -0.3 * torch.sigmoid(-z) / 2)


def test_bad_beta_is_refused():
    zero = torch.zeros(1)
    with pytest.raises(ValueError, match="beta"):
        dpo_loss(zero, zero, zero, zero, beta=0.0)


def test_trajectory_log_prob_is_the_sum_of_chunk_log_probs(toy_policy):
    torch.manual_seed(1)
    trajs = [
        _traj(toy_policy, [[0.1, 0.2], [0.3, -0.4], [0.0, 0.9]], [1, 1, 1]),
        _traj(toy_policy, [[0.5, 0.5]], [1], seed=1),
    ]
    full = trajectory_log_probs(toy_policy, trajs, prefix_only=False, chunk_batch=2)
    prefix = trajectory_log_probs(toy_policy, trajs, prefix_only=True)
    for k, traj in enumerate(trajs):
        per_chunk = [toy_policy.token_log_probs(c.obs, c.tokens[None])[0] for c in traj.chunks]
        want_full = sum(lp.sum() for lp in per_chunk)
        a = toy_policy.action_dim
        want_prefix = sum(lp[: c.executed * a].sum() for lp, c in zip(per_chunk, traj.chunks))
        assert full[k].item() == pytest.approx(want_full.item(), abs=1e-5)
        assert prefix[k].item() == pytest.approx(want_prefix.item(), abs=1e-5)
        assert prefix[k].item() > full[k].item()  # fewer (negative) terms
    # valid chunks: the policy's own chunk log-prob gives the same sum
    for traj in trajs:
        for c in traj.chunks:
            chunk, valid = toy_policy.tokenizer.decode(c.tokens[None])
            if valid.all():
                lp = toy_policy.log_prob(c.obs, chunk)[0]
                tok = toy_policy.token_log_probs(c.obs, c.tokens[None])[0].sum()
                assert lp.item() == pytest.approx(tok.item(), abs=1e-5)


def test_length_normalised_log_prob_is_the_mean_per_counted_token(toy_policy):
    torch.manual_seed(2)
    trajs = [
        _traj(toy_policy, [[0.1, 0.2], [0.3, -0.4], [0.0, 0.9]], [1, 1, 1]),
        _traj(toy_policy, [[0.5, 0.5]], [1], seed=1),
    ]
    total = trajectory_log_probs(toy_policy, trajs, prefix_only=True)
    mean = trajectory_log_probs(toy_policy, trajs, prefix_only=True, length_normalize=True)
    a = toy_policy.action_dim
    for k, traj in enumerate(trajs):
        tokens = sum(c.executed * a for c in traj.chunks)
        assert mean[k].item() == pytest.approx(total[k].item() / tokens, abs=1e-5)


def test_trajectory_log_prob_is_differentiable(toy_policy):
    traj = _traj(toy_policy, [[0.1, 0.2], [0.3, -0.4]], [1, 1])
    lp = trajectory_log_probs(toy_policy, [traj])
    lp.sum().backward()
    assert toy_policy.head.weight.grad is not None
    assert toy_policy.head.weight.grad.abs().sum() > 0


def test_length_normalisation_skips_the_padding_of_variable_length_chunks():
    """A FAST-token VLA: a chunk's real tokens run up to its EOS; the padding after it counts
    neither in the sum nor in the per-token mean."""
    from robo.policy.vla import VLAConfig, VLAPolicy

    torch.manual_seed(0)
    cfg = VLAConfig(action_dim=2, state_dim=2, horizon=3, executed=2, tokenizer="fast",
                    fast_scale=4.0, fast_vocab=40, d_model=16, heads=2, layers=1,
                    text_backend="hash")  # fmt: skip
    policy = VLAPolicy(cfg)
    policy.fit_tokenizer(torch.rand(64, 3, 2) * 2 - 1)
    obs = [toy_obs(s) for s in ([0.1, 0.2], [0.3, -0.4])]
    chunks = torch.tensor([[[0.2, 0.2]] * 3, [[-0.5, 0.1], [-0.4, 0.2], [-0.3, 0.3]]])
    tokens = policy.tokenizer.encode(chunks)
    real = policy.tokenizer.token_mask(tokens).sum(-1)
    assert bool((real < policy.tokenizer.length).all())  # both chunks are padded
    records = [ChunkRecord(obs=o, tokens=t, executed=2) for o, t in zip(obs, tokens)]
    traj = Trajectory(
        task="t", init_seed=0, sample=0, instruction="", chunks=records,
        actions=np.zeros((4, 2), np.float32), success=np.zeros(4, bool),
        progress_gt=np.zeros(4, np.float32), ee_path=None, contacts=np.zeros(4, np.int64),
    )  # fmt: skip
    total = trajectory_log_probs(policy, [traj])
    mean = trajectory_log_probs(policy, [traj], length_normalize=True)
    expected = policy.token_log_probs_batch(obs, tokens).sum()
    assert total.item() == pytest.approx(expected.item(), abs=1e-4)
    assert mean.item() == pytest.approx(total.item() / int(real.sum()), abs=1e-5)
