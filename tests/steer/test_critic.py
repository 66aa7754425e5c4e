import numpy as np
import pytest
import torch

from robo.steer.critic import (
    ChunkCritic,
    CriticConfig,
    CriticCost,
    critic_windows,
    distill_critic,
    progress_from_gt,
)
from robo.types import Episode


def _episode(sign: float, seed: int, t_len: int = 30) -> Episode:
    """1-D toy: progress grows when the action is positive, shrinks when negative."""
    rng = np.random.default_rng(seed)
    action = (sign * 0.5 + 0.1 * rng.standard_normal((t_len, 2))).astype(np.float32)
    pos = np.cumsum(action[:, 0]) * 0.05
    state = np.stack([pos, np.zeros(t_len)], 1).astype(np.float32)
    progress = np.clip(0.5 + pos, 0, 1).astype(np.float32)
    return Episode(
        task="toy", instruction="", kind="policy", seed=seed, images={}, state=state, action=action,
        success=progress >= 1, progress_gt=progress, timestamp=np.arange(t_len) * 0.05,
    )  # fmt: skip


def test_windows_and_targets():
    ep = _episode(1.0, 0)
    s, a, y = critic_windows([ep], progress_from_gt, horizon=4)
    assert s.shape == (30, 2) and a.shape == (30, 4, 2) and y.shape == (30,)
    np.testing.assert_allclose(y[0], ep.progress_gt[4])
    np.testing.assert_allclose(a[-1], np.repeat(ep.action[-1:], 4, 0))


def test_distilled_critic_ranks_chunks_and_steers(tmp_path):
    episodes = [_episode(s, i) for i, s in enumerate([1.0, -1.0] * 6)]
    critic = distill_critic(episodes, horizon=4, steps=200, hidden=32, batch_size=64)
    cost = CriticCost(critic)
    ctx = {"obs": {"state": np.zeros(2, np.float32)}}
    up = torch.full((1, 4, 2), 0.5)
    down = -up
    assert cost(up, ctx) < cost(down, ctx)
    # Gradient of the cost points toward positive actions (what guidance would follow).
    x = torch.zeros(1, 4, 2, requires_grad=True)
    cost(x, ctx).sum().backward()
    assert x.grad[..., 0].sum() < 0
    critic.save(tmp_path)
    again = ChunkCritic.load(tmp_path)
    torch.testing.assert_close(again(torch.zeros(1, 2), up), critic(torch.zeros(1, 2), up))


def test_sum_cost_adds_parts_and_forwards_fast():
    from robo.steer import SumCost

    class Part:
        def __init__(self, k):
            self.k, self.fast = k, True

        def __call__(self, actions, ctx):
            return self.k * actions.sum(dim=(1, 2))

    a, b = Part(1.0), Part(2.0)
    total = SumCost(a, b, lambda actions, ctx: torch.ones(actions.shape[0]))
    x = torch.ones(3, 4, 2)
    torch.testing.assert_close(total(x, {}), torch.full((3,), 8.0 + 16.0 + 1.0))
    total.fast = False
    assert a.fast is False and b.fast is False and total.fast is False


def test_critic_cost_reads_the_leading_state_entries():
    critic = ChunkCritic(CriticConfig(state_dim=2, action_dim=2, horizon=4, hidden=8)).eval()
    cost = CriticCost(critic)
    chunk = torch.zeros(2, 4, 2)
    plain = cost(chunk, {"obs": {"state": np.array([0.1, 0.2], np.float32)}})
    goal_appended = np.array([0.1, 0.2, 9.0, 9.0, 9.0], np.float32)  # goal_in_state adds 3
    torch.testing.assert_close(cost(chunk, {"obs": {"state": goal_appended}}), plain)
    with pytest.raises(ValueError, match="expects a state of 2"):
        cost(chunk, {"obs": {"state": np.array([0.1], np.float32)}})
