"""The sim twin, the shield's kinematics and the ``so101/*`` sim tasks describe one arm: same
joint order, limits, actuator gains, world frame and forward kinematics."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

import sims.so101.kinematics as sk
from hardware.config import robot_config
from hardware.drivers.sim import build_twin_model
from hardware.kinematics import SO101_JOINT_NAMES, ArmKinematics


@pytest.fixture(scope="module")
def twin():
    return build_twin_model()


def _q_samples(n: int = 20) -> np.ndarray:
    lim = sk.joint_limits()
    rng = np.random.default_rng(0)
    return rng.uniform(lim[:, 0], lim[:, 1], size=(n, 6))


def test_joint_order_and_limits_agree(twin):
    assert SO101_JOINT_NAMES == sk.JOINT_NAMES
    twin_rng = np.array([twin.joint(n).range for n in SO101_JOINT_NAMES])
    np.testing.assert_array_equal(twin_rng, sk.joint_limits())
    lo, hi = ArmKinematics().joint_range
    np.testing.assert_array_equal(np.stack([lo, hi], 1), sk.joint_limits())
    # The shield's limits are the same ranges shrunk by the configured margin.
    cfg = robot_config("so101_sim")
    lim = cfg.limits()
    np.testing.assert_allclose(lim.lower, sk.joint_limits()[:, 0] + cfg.margin)
    np.testing.assert_allclose(lim.upper, sk.joint_limits()[:, 1] - cfg.margin)


def test_actuators_are_the_sim_tasks(twin):
    arm = sk.arm_model()
    for name in SO101_JOINT_NAMES:
        a, b = twin.actuator(name), arm.actuator(name)
        np.testing.assert_array_equal(a.gainprm[:3], b.gainprm[:3])
        np.testing.assert_array_equal(a.biasprm[:3], b.biasprm[:3])
        np.testing.assert_array_equal(a.forcerange, b.forcerange)


def test_forward_kinematics_agree(twin):
    data = mujoco.MjData(twin)
    qadr = [twin.joint(n).qposadr[0] for n in SO101_JOINT_NAMES]
    shield_kin = ArmKinematics()
    for q in _q_samples():
        data.qpos[qadr] = q
        mujoco.mj_kinematics(twin, data)
        # The tip the sim tasks measure success with, on the twin, in the same world frame.
        np.testing.assert_allclose(data.site("tip").xpos, sk.forward_kinematics(q), atol=1e-9)
        # The shield's end-effector site (raw MJCF) is the twin's too.
        np.testing.assert_allclose(
            data.site("gripperframe").xpos, shield_kin.ee_position(q), atol=1e-9
        )
