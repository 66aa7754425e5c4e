import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sims
from sims.so101.kinematics import JOINT_NAMES, joint_limits

TASKS = ["reach", "pick-cube", "push-cube", "place-cube-in-bin"]


def test_tasks_registered_with_shifts_and_experts():
    names = sims.list_tasks("so101")
    assert names == sorted(f"so101/{t}" for t in TASKS)
    for name in names:
        spec = sims.get_spec(name)
        assert set(spec.shifts) == {"obstacle", "surface", "distractor", "camera", "lighting"}
        assert spec.expert is not None


@pytest.mark.parametrize("task", TASKS)
def test_env_checker(task):
    env = sims.make(f"so101/{task}", image_size=32)
    check_env(env.unwrapped, skip_render_check=False)
    env.close()


def test_spaces_units_and_info_keys():
    env = sims.make("so101/pick-cube", image_size=48)
    assert env.unwrapped.action_mode == "absolute" and env.unwrapped.gripper_dims == (5,)
    assert env.action_space.shape == (len(JOINT_NAMES),)
    assert np.allclose(env.action_space.low, joint_limits()[:, 0], atol=1e-6)
    assert np.allclose(env.action_space.high, joint_limits()[:, 1], atol=1e-6)
    assert env.unwrapped.control_dt == pytest.approx(0.05)
    assert env.unwrapped.n_substeps == 25
    obs, info = env.reset(seed=1)
    assert set(obs["images"]) == {"front", "side", "wrist"}
    for img in obs["images"].values():
        assert img.shape == (48, 48, 3) and img.dtype == np.uint8 and img.std() > 5
    assert obs["state"].shape == (12,) and obs["state"].dtype == np.float32
    obs, reward, term, trunc, info = env.step(env.unwrapped.hold_action())
    for key in ("success", "progress_gt", "env_reward", "subtask"):
        assert key in info
    assert 0.0 <= info["progress_gt"] <= 1.0 and np.isfinite(info["env_reward"])
    assert info["subtask"] == 0 and reward == 0.0
    env.close()


def test_front_camera_is_upright():
    env = sims.make("so101/reach", image_size=64, cameras=("front",))
    obs, _ = env.reset(seed=0)
    img = obs["images"]["front"].astype(float)
    top, bottom = img[:4].mean(axis=(0, 1)), img[-4:].mean(axis=(0, 1))
    assert top[2] > top[0]  # blue-grey sky above
    assert bottom[0] > bottom[2]  # brown table below
    env.close()


def test_hold_action_keeps_the_arm_still():
    env = sims.make("so101/reach", render=False)
    obs, _ = env.reset(seed=4)
    q0 = obs["state"][:6].copy()
    for _ in range(20):
        obs, *_ = env.step(env.unwrapped.hold_action())
    assert np.max(np.abs(obs["state"][:6] - q0)) < 0.03
    assert np.max(np.abs(obs["state"][6:])) < 0.05


def test_absolute_targets_are_tracked():
    env = sims.make("so101/reach", render=False)
    env.reset(seed=0)
    target = env.unwrapped.hold_action()
    target[0] += 0.3
    target[2] -= 0.2
    for _ in range(20):
        obs, *_ = env.step(target)
    assert np.max(np.abs(obs["state"][:5] - target[:5])) < 0.03


@pytest.mark.parametrize("task", TASKS)
def test_seed_decides_the_scene(task):
    env = sims.make(f"so101/{task}", image_size=32)
    obs_a, _ = env.reset(seed=7)
    cube_a, layout_a = env.unwrapped.cube_pos(), env.unwrapped.layout
    action = env.unwrapped.hold_action()
    action[0] += 0.2
    step_a = env.step(action)[0]["state"]
    obs_b, _ = env.reset(seed=7)
    assert np.allclose(env.unwrapped.cube_pos(), cube_a)
    assert np.allclose(env.unwrapped.layout.target, layout_a.target)
    assert np.array_equal(obs_a["images"]["front"], obs_b["images"]["front"])
    assert np.array_equal(env.step(action)[0]["state"], step_a)
    env.reset(seed=8)
    moved = not np.allclose(env.unwrapped.cube_pos(), cube_a) or not np.allclose(
        env.unwrapped.layout.target, layout_a.target
    )
    assert moved
    env.close()


def test_bad_options_fail_with_hints():
    with pytest.raises(sims.UnknownShiftError, match="supported"):
        sims.make("so101/reach", shift="earthquake")
    with pytest.raises(ValueError, match="multiple of"):
        sims.make("so101/reach", control_dt=0.05, sim_dt=0.003)
