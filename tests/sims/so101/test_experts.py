import numpy as np
import pytest

import sims

TASKS = ["reach", "pick-cube", "push-cube", "place-cube-in-bin"]


def rollout(task, seed, failure=False, shift=None):
    env = sims.make(f"so101/{task}", render=False, shift=shift)
    expert = sims.get_spec(f"so101/{task}").expert(failure=failure)
    obs, info = env.reset(seed=seed)
    expert.reset(env, obs, info)
    actions, progress = [], []
    touches = 0
    done = False
    while not done:
        action = expert.act(env, obs, info)
        assert env.action_space.contains(action)
        actions.append(action)
        obs, _, term, trunc, info = env.step(action)
        progress.append(info["progress_gt"])
        if shift == "obstacle":
            touches += env.unwrapped.contacts_with("obstacle")
        done = term or trunc
    env.close()
    info["obstacle_contacts"] = touches
    return info, np.array(actions), np.array(progress)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("seed", [0, 1])
def test_expert_succeeds(task, seed):
    info, actions, progress = rollout(task, seed)
    assert info["success"] and progress[-1] == 1.0
    # smooth targets: no joint target jumps
    assert np.max(np.abs(np.diff(actions[:, :5], axis=0))) <= 0.12 + 1e-6


@pytest.mark.parametrize("task", TASKS)
def test_failure_expert_fails(task):
    for seed in (0, 1):
        info, _, progress = rollout(task, seed, failure=True)
        assert not info["success"] and progress.max() < 1.0


@pytest.mark.parametrize("task", ["pick-cube", "place-cube-in-bin"])
def test_obstacle_blocks_the_nominal_expert(task):
    info, _, _ = rollout(task, 0, shift="obstacle")
    assert not info["success"] and info["obstacle_contacts"] > 0


def test_surface_shift_nominal_expert_adapts():
    info, _, _ = rollout("pick-cube", 0, shift="surface")
    assert info["success"]
