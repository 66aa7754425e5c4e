"""The wire-level Feetech mock drives lerobot's real FeetechMotorsBus and SO-101 driver."""

from __future__ import annotations

import numpy as np
import pytest
from feetech_bus import FakeFeetechBus, checksum, lerobot_bus

from hardware.calibration import default_calibration
from hardware.errors import ConnectionLostError


def test_checksum_matches_feetech_docs():
    # PING id 1: FF FF 01 02 01 FB (Feetech STS manual example)
    assert checksum([0x01, 0x02, 0x01]) == 0xFB


@pytest.fixture
def bus():
    fake = FakeFeetechBus(list(range(1, 7)), {1: 1000, 2: 3000})
    lb = lerobot_bus(fake)
    lb.connect()  # real handshake: ping every id, read model numbers and firmware
    yield fake, lb
    if lb.is_connected:
        lb.port_handler.closePort()
    fake.close()


def test_ping_read_sync_read_write(bus):
    fake, lb = bus
    assert lb.ping("shoulder_pan") == 777
    raw = lb.sync_read("Present_Position", normalize=False)
    assert raw["shoulder_pan"] == 1000 and raw["shoulder_lift"] == 3000
    lb.write("Torque_Enable", "shoulder_pan", 1)
    lb.sync_write("Goal_Position", {"shoulder_pan": 1100}, normalize=False)
    import time

    time.sleep(0.2)  # 100 ticks at <= 3400 ticks/s
    assert lb.read("Present_Position", "shoulder_pan", normalize=False) == 1100
    assert fake.motor(1).get("Goal_Position") == 1100
    assert fake.sync_writes >= 1


def test_goal_clamped_to_position_limits(bus):
    fake, lb = bus
    lb.write("Max_Position_Limit", "shoulder_pan", 1050)
    lb.write("Torque_Enable", "shoulder_pan", 1)
    lb.sync_write("Goal_Position", {"shoulder_pan": 4000}, normalize=False)
    import time

    time.sleep(0.1)
    assert lb.read("Present_Position", "shoulder_pan", normalize=False) == 1050


def test_corrupt_packet_is_retried(bus):
    fake, lb = bus
    fake.corrupt_next(1)
    raw = lb.sync_read("Present_Position", normalize=False, num_retry=2)
    assert raw["shoulder_pan"] == 1000
    fake.corrupt_next(10)
    with pytest.raises(ConnectionError):
        lb.sync_read("Present_Position", normalize=False, num_retry=0)


def test_calibration_roundtrip_through_the_bus(bus, so101_limits):
    from lerobot.motors import MotorCalibration

    fake, lb = bus
    cal = default_calibration(so101_limits.joint_names, so101_limits.lower, so101_limits.upper)
    cal_objs = {k: MotorCalibration(**v) for k, v in cal.items()}
    lb.write_calibration(cal_objs)
    assert lb.is_calibrated
    assert fake.motor(6).get("Min_Position_Limit") == cal["gripper"]["range_min"]


@pytest.fixture(scope="module")
def mock_arm(so101_limits):
    from hardware.drivers.mock import MockArm

    arm = MockArm(so101_limits)
    arm.connect()
    yield arm
    arm.disconnect()


def test_mock_arm_reads_home_in_rad(mock_arm):
    state = mock_arm.read()
    np.testing.assert_allclose(state.joint_pos, [0.0, -1.2, 1.2, 0.6, 0.0, 0.3], atol=3e-3)
    assert state.torque_enabled


def test_mock_arm_silent_bus_is_a_clear_error(so101_limits):
    from hardware.drivers.mock import MockArm

    arm = MockArm(so101_limits)
    with arm:
        arm.fake_bus.go_silent()
        with pytest.raises(ConnectionLostError, match="lost the bus"):
            arm.read()
    assert not arm.is_connected


def test_mock_arm_retries_a_timeout_in_the_calibration_check(so101_limits, monkeypatch):
    """A reply lost while connect checks the motors' calibration (a busy host) is retried like
    one lost during the handshake, instead of failing the whole connect."""
    from hardware.drivers.lerobot_arm import LerobotArm
    from hardware.drivers.mock import MockArm

    real_check = LerobotArm._check_calibration
    calls = []

    def flaky_check(self, robot, path):
        calls.append(path)
        if len(calls) == 1:
            self.fake_bus.drop_next(1)  # one status packet goes missing: a real SDK timeout
        real_check(self, robot, path)

    monkeypatch.setattr(LerobotArm, "_check_calibration", flaky_check)
    arm = MockArm(so101_limits)
    with arm:
        assert len(calls) >= 2 and arm.read().torque_enabled


def test_mock_arm_gives_up_after_its_connect_attempts(so101_limits, monkeypatch):
    from hardware.drivers.lerobot_arm import LerobotArm
    from hardware.drivers.mock import MockArm

    def always_silent(self, robot, path):
        raise ConnectionError("Failed to read 'Min_Position_Limit' (no status packet)")

    monkeypatch.setattr(LerobotArm, "_check_calibration", always_silent)
    arm = MockArm(so101_limits)
    arm.connect_attempts = 2
    with pytest.raises(ConnectionLostError, match="cannot connect.*hint"):
        arm.connect()
    assert not arm.is_connected
