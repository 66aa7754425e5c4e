"""Shared helpers for the robosuite family tests."""

from __future__ import annotations

import numpy as np
import pytest


def _run_episode(env, expert, seed):
    """Run ``expert`` on ``env`` from ``seed`` to the end; return (last info, progress[T+1])."""
    obs, info = env.reset(seed=seed)
    expert.reset(env, obs, info)
    progress = [info["progress_gt"]]
    done = False
    while not done:
        action = expert.act(env, obs, info)
        assert action.shape == (7,) and env.action_space.contains(action)
        obs, _, terminated, truncated, info = env.step(action)
        progress.append(info["progress_gt"])
        done = terminated or truncated
    return info, np.array(progress)


@pytest.fixture
def run_episode():
    return _run_episode
