import numpy as np
import pytest

import sims
from sims.so101.layout import CUBE_HALF


def reset(task, shift, seed=3):
    env = sims.make(f"so101/{task}", image_size=32, shift=shift)
    env.reset(seed=seed)
    return env, env.unwrapped


def test_obstacle_sits_between_start_and_goal():
    env, e = reset("place-cube-in-bin", "obstacle")
    pos = e.data.geom_xpos[e.model.geom("obstacle").id]
    cube, bin_xy = e.cube_pos()[:2], e.layout.bin_xy
    mid = 0.5 * (cube + bin_xy)
    assert np.linalg.norm(pos[:2] - mid) < 0.02
    env.close()


def test_surface_raises_objects():
    env, e = reset("pick-cube", "surface")
    top = e.layout.surface_z
    assert 0.02 <= top <= 0.05
    for _ in range(10):
        env.step(e.hold_action())
    assert e.cube_pos()[2] == pytest.approx(top + CUBE_HALF, abs=2e-3)  # resting on the platform
    env.close()


def test_distractors_added():
    env, e = reset("push-cube", "distractor")
    names = [e.model.body(i).name for i in range(e.model.nbody)]
    assert sum(n.startswith("distractor_") for n in names) == 3
    env.close()


def test_camera_and_lighting_change_with_seed():
    nominal, n = reset("reach", None)
    jittered, j = reset("reach", "camera")
    cam = n.model.camera("front").id
    assert not np.allclose(n.model.cam_pos[cam], j.model.cam_pos[cam])
    lit, li = reset("reach", "lighting")
    key = n.model.light("key").id
    assert not np.allclose(n.model.light_diffuse[key], li.model.light_diffuse[key])
    li.reset(seed=4)
    other = li.model.light_diffuse[key].copy()
    li.reset(seed=3)
    assert not np.allclose(other, li.model.light_diffuse[key])
    for env in (nominal, jittered, lit):
        env.close()


def _reach_obstacle_rollout(seed, via_above=None):
    """Expert rollout on so101/reach under the obstacle shift, optionally through a via point
    ``via_above`` metres above the block: (success, obstacle contacts)."""
    from sims.so101.experts import SO101Expert, Waypoint
    from sims.so101.kinematics import GRIPPER_OPEN

    env = sims.make("so101/reach", shift="obstacle", render=False)
    obs, info = env.reset(seed=seed)
    e = env.unwrapped
    expert = SO101Expert("reach")
    expert.reset(env, obs, {**info, "seed": seed})
    if via_above is not None:
        via = e.layout.obstacle.pos + [0.0, 0.0, via_above]
        expert.plan.insert(0, Waypoint(lambda _: via, GRIPPER_OPEN, speed=0.2, tol=0.02))
    success, touches, done = False, 0, False
    while not done:
        obs, _, term, trunc, info = env.step(expert.act(env, obs, info))
        touches += e.contacts_with("obstacle")
        success, done = success or info["success"], term or trunc
    env.close()
    return success, touches


def test_reach_obstacle_blocks_the_straight_path_but_not_a_detour():
    """The shift is fair: home and target poses clear the block, the straight expert runs into
    it, and a detour over it reaches the target without touching it (seed 1003)."""
    import mujoco

    from sims.so101.kinematics import HOME_Q

    env, e = reset("reach", "obstacle", seed=1003)
    target, block = e.layout.target, e.layout.obstacle.pos
    assert np.linalg.norm(target - e.tip_pos()) > 0.1
    data = mujoco.MjData(e.model)
    for q in (e.joint_positions(), e.kinematics.ik_steepest(target, HOME_Q).q):
        data.qpos[:] = e.data.qpos
        data.qpos[e._qadr] = q
        mujoco.mj_forward(e.model, data)
        gid = e.model.geom("obstacle").id
        assert not any(gid in (c.geom1, c.geom2) for c in data.contact[: data.ncon])
    env.close()
    assert np.linalg.norm(block[:2] - 0.5 * (target[:2] + [0.2145, 0.0])) < 0.01
    straight = _reach_obstacle_rollout(1003)
    assert not straight[0] and straight[1] > 0
    assert _reach_obstacle_rollout(1003, via_above=0.07) == (True, 0)


def _reach_surface_rollout(seed, over=None):
    """Expert rollout on so101/reach under the surface shift, optionally through a via point
    ``over`` metres above the step's top over the target: (success, step contacts, start
    contacts)."""
    from sims.so101.experts import SO101Expert, Waypoint
    from sims.so101.kinematics import GRIPPER_OPEN

    env = sims.make("so101/reach", shift="surface", render=False)
    obs, info = env.reset(seed=seed)
    e = env.unwrapped
    gid = e.model.geom("step").id

    def touching():
        return sum(gid in (c.geom1, c.geom2) for c in e.data.contact[: e.data.ncon])

    at_start = touching()
    expert = SO101Expert("reach")
    expert.reset(env, obs, {**info, "seed": seed})
    if over is not None:
        top = e.layout.step.pos[2] + e.layout.step.half[2]
        via = np.array([*e.layout.target[:2], top + over])
        expert.plan.insert(0, Waypoint(lambda _: via, GRIPPER_OPEN, speed=0.2, tol=0.02))
    success, touches, done = False, 0, False
    while not done:
        obs, _, term, trunc, info = env.step(expert.act(env, obs, info))
        touches += touching()
        success, done = success or info["success"], term or trunc
    env.close()
    return success, touches, at_start


@pytest.mark.parametrize("seed", [1000, 1001])
def test_reach_surface_step_blocks_the_straight_path_but_not_a_path_over_it(seed):
    """The reach surface shift is fair: a raised table section between home and a low target,
    top above the target, clear of the arm at home; the straight expert runs into it and never
    reaches the target, going over it and down reaches the target without touching it."""
    env, e = reset("reach", "surface", seed=seed)
    step, target = e.layout.step, e.layout.target
    top = step.pos[2] + step.half[2]
    assert 0.015 <= top - target[2] <= 0.025  # the target lies below the step's top
    assert abs(target[1]) - abs(step.pos[1]) == pytest.approx(0.035 + step.half[1])
    assert e.layout.surface_z == 0.0 and e.layout.platform is None
    env.close()
    straight = _reach_surface_rollout(seed)
    assert not straight[0] and straight[1] > 0 and straight[2] == 0
    assert _reach_surface_rollout(seed, over=0.05) == (True, 0, 0)
