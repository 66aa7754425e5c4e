"""robosuite shifts: each builds and changes the scene the way its name says."""

from __future__ import annotations

import numpy as np
import pytest

import sims
from sims.robosuite.scene import OBSTACLE_BODY, SURFACE_RAISE

pytest.importorskip("robosuite")


def _body(env, name):
    raw = env.unwrapped.raw
    return np.array(raw.sim.data.body_xpos[raw.sim.model.body_name2id(name)])


@pytest.mark.parametrize("task", ["lift", "pick-place-can"])
def test_obstacle_sits_on_the_nominal_path(task):
    env = sims.make(f"robosuite/{task}", render=False, shift="obstacle")
    try:
        env.reset(seed=3)
        box = _body(env, OBSTACLE_BODY)
        raw = env.unwrapped.raw
        if task == "lift":
            start, end = env.unwrapped.eef_pos, np.array(raw.sim.data.body_xpos[raw.cube_body_id])
            end = end + [0.0, 0.0, 0.1]
            np.testing.assert_allclose(box, 0.5 * (start + end), atol=1e-6)
        else:  # between the can's bin and its target bin
            assert raw.bin1_pos[1] < box[1] < raw.bin2_pos[1]
            assert box[2] > raw.bin2_pos[2] + 0.1
    finally:
        env.close()


def test_surface_raises_table_and_objects():
    nominal = sims.make("robosuite/lift", render=False)
    raised = sims.make("robosuite/lift", render=False, shift="surface")
    try:
        nominal.reset(seed=0)
        raised.reset(seed=0)
        for _ in range(10):  # let the cube settle on the table
            nominal.step(nominal.unwrapped.hold_action())
            raised.step(raised.unwrapped.hold_action())
        z0 = nominal.unwrapped.raw.sim.data.body_xpos[nominal.unwrapped.raw.cube_body_id][2]
        z1 = raised.unwrapped.raw.sim.data.body_xpos[raised.unwrapped.raw.cube_body_id][2]
        assert z1 - z0 == pytest.approx(SURFACE_RAISE, abs=0.005)
    finally:
        nominal.close()
        raised.close()


def test_surface_raises_bins():
    env = sims.make("robosuite/pick-place-can", render=False, shift="surface")
    try:
        env.reset(seed=0)
        assert env.unwrapped.raw.bin1_pos[2] == pytest.approx(0.8 + SURFACE_RAISE)
    finally:
        env.close()


def test_camera_jitter_changes_views_per_seed_but_not_wrist():
    env = sims.make("robosuite/lift", image_size=32, shift="camera")
    nominal = sims.make("robosuite/lift", image_size=32)
    try:
        a, _ = env.reset(seed=1)
        n, _ = nominal.reset(seed=1)
        assert np.abs(a["images"]["front"].astype(int) - n["images"]["front"]).mean() > 2
        np.testing.assert_array_equal(a["images"]["wrist"], n["images"]["wrist"])
        b, _ = env.reset(seed=2)
        assert np.abs(a["images"]["side"].astype(int) - b["images"]["side"]).mean() > 1
        a2, _ = env.reset(seed=1)
        np.testing.assert_array_equal(a2["images"]["front"], a["images"]["front"])
    finally:
        env.close()
        nominal.close()
