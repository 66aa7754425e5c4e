"""The twin in an ``so101/*`` sim task's scene: same objects, layout, dynamics and cameras as the
sim task, keypoints for goal-conditioned policies and steering, clear errors."""

from __future__ import annotations

import time

import numpy as np
import pytest

import sims
from hardware.config import make_shield, robot_config
from sims.keypoints import sim_scene

TASK, SHIFT, SEED = "so101/reach", "obstacle", 3


@pytest.fixture()
def env():
    e = sims.make(TASK, shift=SHIFT)
    e.reset(seed=SEED)
    yield e
    e.close()


def test_twin_scene_is_the_sim_tasks_scene_and_moves_like_it(env):
    u = env.unwrapped
    cfg = robot_config(
        "so101_sim",
        task=TASK,
        seed=SEED,
        shift=SHIFT,
        cameras=[],
        pacing="fast",
        control_dt=u.control_dt,
    )
    robot = cfg.build()
    assert robot.model.nq == u.model.nq and robot.model.ngeom == u.model.ngeom
    assert robot.model.geom("obstacle").id >= 0
    want = sim_scene(env)
    assert set(robot.keypoints) == set(want)
    for key, value in want.items():
        np.testing.assert_allclose(robot.keypoints[key], value)
    with robot:
        shield = make_shield(cfg, robot, u.control_dt)
        q0 = robot.read().joint_pos
        np.testing.assert_allclose(q0, u.joint_positions(), atol=1e-12)
        worst = np.zeros(6)
        for k in range(25):  # the same shield-checked targets through both
            cmd = shield.check(robot.read(), q0 + 0.3 * np.sin(0.1 * k + np.arange(6)))
            robot.send(cmd)
            env.step(cmd.target.astype(np.float32))
            worst = np.maximum(worst, np.abs(robot.read().joint_pos - u.joint_positions()))
    assert worst[:5].max() < 1e-4  # arm joints: same physics
    assert worst[5] < 0.05  # gripper: the twin also applies the shield's effort cap


def test_twin_task_camera_renders_the_task_scene(env):
    u = env.unwrapped
    cfg = robot_config("so101_sim", task=TASK, seed=SEED, shift=SHIFT, cameras=["front"])
    with cfg.build() as robot:
        frame = None
        end = time.monotonic() + 60.0
        while frame is None and time.monotonic() < end:
            try:
                frame, _ = robot.cameras["front"].latest(5.0)
            except Exception:
                time.sleep(0.1)
    assert frame is not None
    sim = u._render_camera("front")
    bare = robot_config("so101_sim", cameras=[]).build()  # the arm-only scene differs
    assert frame.shape == sim.shape
    assert np.abs(frame.astype(int) - sim.astype(int)).mean() < 2.0
    assert bare.model.ngeom < u.model.ngeom


def test_twin_task_must_be_an_so101_task():
    with pytest.raises(ValueError, match="SO-101 task"):
        robot_config("so101_sim", task="metaworld/reach", cameras=[]).build()
