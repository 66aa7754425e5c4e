import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sims
from sims.metaworld import TASKS
from sims.metaworld.rendering import CAMERAS, upright

SAMPLE = ["reach", "pick-place", "door-open", "drawer-close"]


@pytest.fixture
def make():
    envs = []

    def _make(task: str, **overrides):
        env = sims.make(f"metaworld/{task}", **overrides)
        envs.append(env)
        return env

    yield _make
    for env in envs:
        env.close()


def test_all_50_tasks_registered_with_instructions():
    names = sims.list_tasks("metaworld")
    assert len(names) == 50
    assert "metaworld/pick-place" in names and "metaworld/door-open" in names
    assert not any(n.endswith("-v3") for n in names)
    for name in names:
        spec = sims.get_spec(name)
        assert spec.instruction and spec.instruction[0].islower()
        assert {"camera", "lighting"} <= set(spec.shifts)
        assert 200 <= spec.default_config().max_episode_steps <= 500
    for task in ("reach", "push", "pick-place"):
        assert "obstacle" in sims.get_spec(f"metaworld/{task}").shifts


@pytest.mark.parametrize("task", SAMPLE)
def test_check_env(make, task):
    check_env(make(task, image_size=32), skip_render_check=True)


def test_spaces_and_info(make):
    env = make("pick-place", image_size=32)
    obs, info = env.reset(seed=1)
    assert env.action_space.shape == (4,) and env.unwrapped.gripper_dims == (3,)
    assert env.unwrapped.action_mode == "delta"
    assert obs["state"].shape == (4,) and obs["state"].dtype == np.float32
    assert set(obs["images"]) == {"front", "side", "wrist"}
    assert all(im.shape == (32, 32, 3) and im.dtype == np.uint8 for im in obs["images"].values())
    assert obs["instruction"] == TASKS["pick-place"].instruction
    for _ in range(5):
        obs, reward, term, trunc, info = env.step(env.action_space.sample())
        assert {"success", "progress_gt", "env_reward", "subtask"} <= set(info)
        assert 0.0 <= info["progress_gt"] <= 1.0
        assert np.isfinite(info["env_reward"]) and info["subtask"] in (0, 1, 2)
        assert reward == float(info["success"])


def test_state_is_hand_position_and_gripper_opening(make):
    env = make("reach", render=False)
    obs, _ = env.reset(seed=0)
    hand = env.unwrapped.raw_env.data.body("hand").xpos
    np.testing.assert_allclose(obs["state"][:3], hand, atol=1e-5)
    assert 0.0 <= obs["state"][3] <= 1.0


def test_truncates_at_max_episode_steps(make):
    env = make("reach", render=False, max_episode_steps=7)
    env.reset(seed=0)
    flags = [env.step(np.zeros(4, dtype=np.float32))[2:4] for _ in range(7)]
    assert flags[-1] == (False, True) and all(f == (False, False) for f in flags[:-1])


def test_same_seed_same_scene_different_seed_different_scene(make):
    env = make("pick-place", render=False)
    other = make("pick-place", render=False)
    env.reset(seed=5)
    first = env.unwrapped.raw_observation
    env.reset(seed=9)  # an episode in between must not leak into the next one
    env.step(np.ones(4, dtype=np.float32))
    env.reset(seed=5)
    other.reset(seed=5)
    np.testing.assert_array_equal(env.unwrapped.raw_observation, first)
    np.testing.assert_array_equal(other.unwrapped.raw_observation, first)
    layouts = set()
    for seed in range(6):
        env.reset(seed=seed)
        raw = env.unwrapped.raw_observation
        layouts.add(tuple(np.round(np.r_[raw[4:7], raw[-3:]], 5)))
    assert len(layouts) == 6


def test_bad_camera_and_bad_action_are_rejected(make):
    with pytest.raises(sims.BadOverrideError, match="cameras"):
        sims.make("metaworld/reach", cameras="front,top")
    env = make("reach", render=False)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="NaN"):
        env.step(np.array([np.nan, 0, 0, 0], dtype=np.float32))


@pytest.mark.parametrize("camera", ["front", "side"])
def test_third_person_images_are_upright(make, camera):
    # Label each pixel by the height of the geom it shows: geoms high above the table (arm,
    # walls) must appear in the upper part of the image, the floor/table legs in the lower part.
    env = make("pick-place", image_size=64, cameras=(camera,))
    obs, _ = env.reset(seed=0)
    raw = env.unwrapped.raw_env
    seg = mujoco.Renderer(raw.model, 64, 64)
    seg.enable_segmentation_rendering()
    seg.update_scene(raw.data, camera=CAMERAS[camera][0])
    ids = upright(seg.render()[..., 0], camera)
    seg.close()
    z = np.where(ids >= 0, raw.data.geom_xpos[np.clip(ids, 0, None), 2], np.nan)
    rows = np.broadcast_to(np.arange(64)[:, None], z.shape)
    high_rows = rows[z > 0.5]
    low_rows = rows[z < -0.1]
    assert high_rows.size > 20 and low_rows.size > 20
    assert high_rows.mean() + 10 < low_rows.mean()
    # The env's RGB image is produced with the same orientation as the segmentation here.
    rgb = mujoco.Renderer(raw.model, 64, 64)
    rgb.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
    rgb.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
    rgb.update_scene(raw.data, camera=CAMERAS[camera][0])
    np.testing.assert_array_equal(upright(rgb.render(), camera), obs["images"][camera])
    rgb.close()


def test_images_deterministic_per_seed(make):
    env = make("door-open", image_size=32)
    a, _ = env.reset(seed=3)
    b, _ = env.reset(seed=3)
    for cam in a["images"]:
        np.testing.assert_array_equal(a["images"][cam], b["images"][cam])


@pytest.mark.parametrize("shift", ["camera", "lighting"])
def test_visual_shifts_change_images_not_the_layout(make, shift):
    nominal = make("reach", image_size=32)
    shifted = make("reach", image_size=32, shift=shift)
    a, _ = nominal.reset(seed=2)
    b, _ = shifted.reset(seed=2)
    np.testing.assert_array_equal(
        nominal.unwrapped.raw_observation, shifted.unwrapped.raw_observation
    )
    diff = np.abs(a["images"]["front"].astype(int) - b["images"]["front"].astype(int)).mean()
    assert diff > 3.0
    c, _ = shifted.reset(seed=3)  # the shift itself depends on the seed
    assert np.abs(c["images"]["front"].astype(int) - b["images"]["front"].astype(int)).mean() > 1


def test_obstacle_shift_adds_geometry_in_the_hand_path(make):
    nominal = make("push", render=False)
    env = make("push", render=False, shift="obstacle")
    assert env.unwrapped.raw_env.model.ngeom == nominal.unwrapped.raw_env.model.ngeom + 1
    assert nominal.unwrapped.obstacle_position is None
    for seed in range(4):
        env.reset(seed=seed)
        raw = env.unwrapped.raw_env
        pos = env.unwrapped.obstacle_position
        geom = raw.data.geom("robo_obstacle")
        np.testing.assert_allclose(geom.xpos, pos)
        hand, obj = raw.tcp_center, env.unwrapped.raw_observation[4:7]
        # Between hand start and object (horizontally), above the table, touching nothing yet.
        assert np.linalg.norm(pos[:2] - obj[:2]) < np.linalg.norm(hand[:2] - obj[:2]) + 0.1
        assert pos[2] > obj[2]
        contacts = raw.data.contact[: raw.data.ncon]
        assert not any(geom.id in (c.geom1, c.geom2) for c in contacts)


def test_unknown_shift_rejected():
    with pytest.raises(sims.UnknownShiftError):
        sims.make("metaworld/door-open", shift="obstacle")
