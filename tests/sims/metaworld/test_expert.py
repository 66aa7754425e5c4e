import numpy as np
import pytest
from scipy.stats import spearmanr

import sims
from sims.experts.base import Expert
from sims.metaworld import MetaWorldExpert

FAST = ["reach", "push", "pick-place", "drawer-close", "button-press", "door-open"]


def run_episode(task: str, seed: int, **expert_kwargs) -> tuple[list[dict], list[np.ndarray]]:
    env = sims.make(f"metaworld/{task}", render=False)
    expert = sims.get_spec(f"metaworld/{task}").expert(**expert_kwargs)
    obs, info = env.reset(seed=seed)
    expert.reset(env, obs, info)
    infos, actions = [info], []
    done = False
    while not done:
        action = expert.act(env, obs, info)
        assert env.action_space.contains(action)
        obs, _, term, trunc, info = env.step(action)
        infos.append(info)
        actions.append(action)
        done = term or trunc
    env.close()
    return infos, actions


def test_expert_is_an_expert_with_stage_names():
    expert = sims.get_spec("metaworld/pick-place").expert()
    assert isinstance(expert, Expert) and isinstance(expert, MetaWorldExpert)
    assert expert.subtask_names() == ("reach", "grasp", "carry")
    with pytest.raises(ValueError, match="failure_mode"):
        MetaWorldExpert("reach", failure=True, failure_mode="wobble")  # type: ignore[arg-type]


@pytest.mark.parametrize("task", FAST)
def test_expert_succeeds(task):
    for seed in range(2):
        infos, _ = run_episode(task, seed)
        assert infos[-1]["success"], f"{task} seed {seed}"
        progress = np.array([i["progress_gt"] for i in infos])
        assert np.all((progress >= 0) & (progress <= 1)) and progress[-1] == 1.0
        assert progress[0] < 0.2
        # Monotone-ish: progress rises with time along an expert episode.
        assert spearmanr(np.arange(len(progress)), progress)[0] > 0.6


def test_pick_place_subtasks_advance_in_order():
    infos, _ = run_episode("pick-place", 0)
    stages = [i["subtask"] for i in infos]
    assert stages[0] == 0 and stages[-1] == 2
    assert all(b >= a for a, b in zip(stages, stages[1:]))
    assert 1 in stages


@pytest.mark.parametrize(
    "task", ["reach", "pick-place", "drawer-close", "door-open", "handle-press-side"]
)
def test_failure_kind_fails(task):
    results = [run_episode(task, seed, failure=True)[0][-1]["success"] for seed in range(3)]
    assert not any(results)


def test_abandon_failure_drops_the_puck():
    infos, actions = run_episode("pick-place", 1, failure=True, failure_mode="abandon")
    assert not infos[-1]["success"]
    assert max(i["progress_gt"] for i in infos) >= 0.2  # it made progress before giving up
    assert actions[-1][3] == -1.0  # gripper open at the end


def test_expert_works_around_the_obstacle():
    successes = 0
    for seed in range(3):
        env = sims.make("metaworld/reach", render=False, shift="obstacle")
        expert = MetaWorldExpert("reach")
        obs, info = env.reset(seed=seed)
        expert.reset(env, obs, info)
        for _ in range(env.unwrapped.config.max_episode_steps):
            obs, _, term, trunc, info = env.step(expert.act(env, obs, info))
            if term or trunc:
                break
        successes += info["success"]
        env.close()
    assert successes >= 2
