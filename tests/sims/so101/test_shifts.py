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
