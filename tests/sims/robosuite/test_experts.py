"""robosuite scripted experts: succeed on a couple of seeds, fail on purpose when asked."""

from __future__ import annotations

import numpy as np
import pytest

import sims

pytest.importorskip("robosuite")


def run(env, expert, seed):
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


@pytest.mark.parametrize("task", ["lift", "stack", "pick-place-can", "door"])
def test_expert_succeeds(task):
    name = f"robosuite/{task}"
    env = sims.make(name, render=False)
    try:
        expert = sims.get_spec(name).expert()
        assert expert.subtask_names()
        for seed in (0, 1):
            info, progress = run(env, expert, seed)
            assert info["success"], f"{name} seed {seed}"
            assert progress[-1] == 1.0 and progress[0] < 0.2
    finally:
        env.close()


@pytest.mark.parametrize("task", ["lift", "door"])
def test_expert_failure_mode_fails(task):
    name = f"robosuite/{task}"
    env = sims.make(name, render=False, max_episode_steps=120)
    try:
        expert = sims.get_spec(name).expert(failure=True)
        for seed in (0, 1):
            info, progress = run(env, expert, seed)
            assert not info["success"] and progress.max() < 1.0
    finally:
        env.close()
