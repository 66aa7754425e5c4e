"""SafetyShield: property tests (hypothesis) that nothing outside limits reaches a driver."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware.errors import SafetyError
from hardware.kinematics import ArmKinematics
from hardware.robot import Robot, RobotState, SafeCommand
from hardware.safety import SafetyConfig, SafetyShield

DT = 1.0 / 30.0


@pytest.fixture(scope="module")
def kin():
    return ArmKinematics()


@pytest.fixture(scope="module")
def shield_factory(so101_limits, kin):
    def make():
        return SafetyShield(so101_limits, kin, SafetyConfig(dt=DT))

    return make


HOME = np.array([0.0, -1.2, 1.2, 0.6, 0.0, 0.3])
adversarial = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e6, 1e6),
    st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -1e308, 0.0, 3.2, -3.2]),
)


def _state(q):
    return RobotState(np.asarray(q, dtype=np.float64), np.zeros(6), 0.0)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    requests=st.lists(st.lists(adversarial, min_size=6, max_size=6), min_size=1, max_size=8),
    effort=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
)
def test_no_command_outside_limits(shield_factory, so101_limits, requests, effort):
    shield = shield_factory()
    lim = so101_limits
    measured = HOME.copy()
    prev = None
    for req in requests:
        cmd = shield.check(_state(measured), np.array(req), effort)
        t = cmd.target
        assert np.all(np.isfinite(t))
        assert np.all(t >= lim.lower) and np.all(t <= lim.upper)
        assert shield.in_limits(t), "target outside the workspace box / below the table"
        assert 0.0 <= cmd.gripper_effort <= lim.gripper_effort_max
        if prev is not None:  # velocity clamp on the commanded target (up to float rounding)
            assert np.all(np.abs(t - prev) <= lim.max_velocity * DT + 1e-9)
        assert np.all(np.abs(t - measured) <= lim.max_step + 1e-9)
        prev = t
        measured = t.copy()  # a perfect servo reaches each target


def test_nan_holds_and_is_counted(shield_factory):
    shield = shield_factory()
    first = shield.check(_state(HOME), HOME + 0.05)
    cmd = shield.check(_state(HOME), [np.nan, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(cmd.target, first.target)
    assert "nonfinite" in cmd.interventions and shield.counts["nonfinite"] == 1
    bad = shield.check(_state(HOME), [1.0, 2.0])
    assert "bad_shape" in bad.interventions


def test_out_of_range_is_clamped_per_step(shield_factory, so101_limits):
    shield = shield_factory()
    cmd = shield.check(_state(HOME), [10.0, 10.0, 10.0, 10.0, 10.0, 10.0])
    assert np.all(np.abs(cmd.target - HOME) <= so101_limits.max_step + 1e-12)
    assert "step" in cmd.interventions or "velocity" in cmd.interventions


def test_table_plane_blocks_diving(shield_factory, kin):
    shield = shield_factory()
    q = HOME.copy()
    # Drive the shoulder down repeatedly; the gripper must never go below the table.
    for _ in range(200):
        target = q + np.array([0.0, 0.3, 0.3, 0.3, 0.0, 0.0])
        cmd = shield.check(_state(q), target)
        q = cmd.target.copy()
        assert kin.check_points(q)[:, 2].min() >= -1e-9
    assert shield.counts["workspace"] > 0


def test_ee_delta_goes_through_ik_and_shield(shield_factory, kin):
    shield = shield_factory()
    before = kin.ee_position(HOME)
    cmd = shield.check_ee_delta(_state(HOME), [0.01, 0.0, 0.0])
    after = kin.ee_position(cmd.target)
    assert after[0] - before[0] == pytest.approx(0.01, abs=2e-3)


def test_safe_command_cannot_be_forged():
    with pytest.raises(SafetyError):
        SafeCommand(HOME, 0.5, HOME, ())
    with pytest.raises(SafetyError):
        SafeCommand(HOME, 0.5, HOME, (), _seal=object())


class _Recorder(Robot):
    def __init__(self, limits):
        super().__init__(limits)
        self.sent = []

    def _connect(self):
        pass

    def _disconnect(self):
        pass

    def _read(self):
        return _state(HOME)

    def _send_target(self, target, gripper_effort):
        self.sent.append(target)

    def _torque_off(self):
        pass


def test_driver_accepts_only_safe_commands(so101_limits, shield_factory):
    robot = _Recorder(so101_limits)
    with robot:
        with pytest.raises(SafetyError):
            robot.send(HOME)  # a raw array
        cmd = shield_factory().check(robot.read(), HOME)
        robot.send(cmd)
        with pytest.raises((AttributeError, ValueError)):
            cmd.target[0] = 99.0  # read-only once issued
    assert len(robot.sent) == 1


def test_shield_cannot_be_disabled(so101_limits):
    with pytest.raises(ValueError, match="cannot be disabled"):
        SafetyShield(so101_limits, None, SafetyConfig(enabled=False))
