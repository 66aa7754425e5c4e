"""All 50 tasks: env checker and expert success (slow; run with ``-m slow``)."""

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sims

ALL = [name.split("/", 1)[1] for name in sims.list_tasks("metaworld")]


@pytest.mark.slow
@pytest.mark.parametrize("task", ALL)
def test_check_env_all_tasks(task):
    env = sims.make(f"metaworld/{task}", image_size=32)
    check_env(env, skip_render_check=True)
    env.close()


@pytest.mark.slow
@pytest.mark.parametrize("task", ALL)
def test_expert_all_tasks(task):
    env = sims.make(f"metaworld/{task}", render=False)
    expert = sims.get_spec(f"metaworld/{task}").expert()
    wins = []
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        expert.reset(env, obs, info)
        done = False
        while not done:
            obs, _, term, trunc, info = env.step(expert.act(env, obs, info))
            assert 0.0 <= info["progress_gt"] <= 1.0
            done = term or trunc
        wins.append(info["success"])
    env.close()
    assert np.mean(wins) >= 2 / 3, f"{task}: expert won {wins}"
