import importlib.util

import numpy as np
import pytest

from sims.so101 import assets
from sims.so101.kinematics import (
    HOME_Q,
    JOINT_NAMES,
    ArmKinematics,
    forward_kinematics,
    inverse_kinematics,
    joint_limits,
)


def test_joint_names_follow_real_arm_motor_order():
    # lerobot so_follower motor ids 1..6
    assert JOINT_NAMES == (
        "shoulder_pan",
        "shoulder_lift",
        "elbow_flex",
        "wrist_flex",
        "wrist_roll",
        "gripper",
    )


def test_joint_limits_match_mjcf_and_are_radians():
    limits = joint_limits()
    assert limits.shape == (6, 2)
    assert np.all(limits[:, 0] < limits[:, 1])
    assert np.all(np.abs(limits) < 3.2)  # radians, not degrees
    assert limits[0, 1] == pytest.approx(1.91986, abs=1e-4)
    assert limits[5, 0] == pytest.approx(-0.17453, abs=1e-4)


def test_arm_xml_path_points_at_package_file():
    path = assets.so101_arm_xml_path()
    assert path.name == "so101_new_calib.xml" and path.is_file()


def test_missing_assets_give_hint(monkeypatch):
    assets.so101_asset_dir.cache_clear()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    try:
        with pytest.raises(assets.MissingAssetsError, match="pip install"):
            assets.so101_asset_dir()
    finally:
        monkeypatch.undo()
        assets.so101_asset_dir.cache_clear()


def test_fk_changes_with_pan_and_is_deterministic():
    p0 = forward_kinematics(HOME_Q)
    q = HOME_Q.copy()
    q[0] = 0.5
    p1 = forward_kinematics(q)
    assert np.allclose(p0, forward_kinematics(HOME_Q))
    # pan rotates the tip about the base z axis: same height, same radius (base axis ~ origin)
    assert p1[2] == pytest.approx(p0[2], abs=1e-6)
    # positive shoulder_pan turns the arm clockwise seen from above (towards -y)
    assert np.arctan2(p1[1], p1[0]) < np.arctan2(p0[1], p0[0]) - 0.3


@pytest.mark.parametrize("seed", range(8))
def test_ik_round_trip_reaches_fk_target(seed):
    rng = np.random.default_rng(seed)
    kin = ArmKinematics()
    q_true = HOME_Q.copy()
    q_true[:4] += rng.uniform(-0.4, 0.4, size=4)
    q_true = np.clip(q_true, joint_limits()[:, 0], joint_limits()[:, 1])
    target = kin.fk(q_true)[0]
    res = kin.ik(target, HOME_Q, max_iters=200)
    assert res.pos_error < 3e-3
    assert np.linalg.norm(kin.fk(res.q)[0] - target) < 3e-3
    assert np.all(res.q >= joint_limits()[:, 0] - 1e-9)
    assert np.all(res.q <= joint_limits()[:, 1] + 1e-9)


@pytest.mark.parametrize("xy", [(0.17, -0.1), (0.22, 0.0), (0.26, 0.1)])
def test_top_down_ik_over_the_workspace(xy):
    yaw = 0.3
    res = inverse_kinematics(np.array([*xy, 0.015]), jaw_yaw=yaw)
    assert res.ok and res.pos_error < 2e-3
    assert res.pitch == pytest.approx(np.pi / 2, abs=0.11)
    rot = ArmKinematics().fk(res.q)[1]
    err = (ArmKinematics.jaw_yaw(rot) - yaw + np.pi / 2) % np.pi - np.pi / 2
    assert abs(err) < 0.05
