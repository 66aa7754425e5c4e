"""The wire-level Dynamixel mock drives lerobot's real DynamixelMotorsBus and the Koch driver."""

from __future__ import annotations

import time

import numpy as np
import pytest
from dynamixel_bus import KOCH_MOTORS, FakeDynamixelBus, crc16, packet

from hardware.calibration import default_calibration, write_calibration
from hardware.config import make_shield, robot_config
from hardware.errors import ConnectionLostError

pytest.importorskip("dynamixel_sdk")

NAMES = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")


def test_crc_and_packet_match_the_protocol():
    # ROBOTIS e-manual, Protocol 2.0 PING to id 1: FF FF FD 00 01 03 00 01 19 4E
    assert packet(1, 0x01, b"") == bytes.fromhex("FFFFFD0001030001194E")
    from dynamixel_sdk.protocol2_packet_handler import Protocol2PacketHandler

    data = list(bytes.fromhex("FFFFFD00010700020084000400"))
    assert crc16(bytes(data)) == Protocol2PacketHandler().updateCRC(0, data, len(data))
    # Byte stuffing: a body holding FF FF FD gets an extra FD (and the length counts it).
    stuffed = packet(1, 0x03, bytes([0x74, 0x00, 0xFF, 0xFF, 0xFD, 0x00]))
    assert b"\xff\xff\xfd\xfd" in stuffed[4:]


@pytest.fixture
def koch_bus():
    from lerobot.motors import Motor, MotorNormMode
    from lerobot.motors.dynamixel import DynamixelMotorsBus

    fake = FakeDynamixelBus(positions={1: 1000, 2: 3000})
    motors = {
        name: Motor(i, model, MotorNormMode.DEGREES)
        for name, (i, model) in zip(NAMES, KOCH_MOTORS, strict=True)
    }
    bus = DynamixelMotorsBus(port=fake.port, motors=motors)
    bus.connect()  # real handshake: ping every id, check model numbers
    yield fake, bus
    if bus.is_connected:
        bus.port_handler.closePort()
    fake.close()


def test_lerobot_dynamixel_bus_reads_and_writes(koch_bus):
    fake, bus = koch_bus
    raw = bus.sync_read("Present_Position", normalize=False)
    assert raw["shoulder_pan"] == 1000 and raw["shoulder_lift"] == 3000
    bus.write("Torque_Enable", "shoulder_pan", 1)
    bus.sync_write("Goal_Position", {"shoulder_pan": 1100}, normalize=False)
    time.sleep(0.2)  # 100 ticks at <= 3000 ticks/s
    assert bus.read("Present_Position", "shoulder_pan", normalize=False) == 1100
    assert fake.motor(1).get("Goal_Position") == 1100 and fake.sync_writes >= 1
    bus.write("Homing_Offset", "elbow_flex", -300)  # 4-byte two's complement round trip
    assert bus.read("Homing_Offset", "elbow_flex", normalize=False) == -300
    assert fake.bad_crc == 0


def _koch(tmp_path, fake):
    cfg = robot_config("koch", port=fake.port, calibration_dir=str(tmp_path))
    lim = cfg.limits()
    write_calibration(
        tmp_path / f"{cfg.id}.json", default_calibration(lim.joint_names, lim.lower, lim.upper)
    )
    return cfg


def test_koch_driver_connects_reads_and_moves_through_the_shield(tmp_path):
    home = np.array([0.0, -1.2, 1.2, 0.6, 0.0, 0.3])
    ticks = {i + 1: int(round(2048 + q * 4096 / (2 * np.pi))) for i, q in enumerate(home)}
    fake = FakeDynamixelBus(positions=ticks)
    cfg = _koch(tmp_path, fake)
    robot = cfg.build()
    try:
        with robot:
            # lerobot's KochFollower configured the servos (extended position for the body).
            assert fake.motor(1).get("Operating_Mode") == 4
            assert fake.motor(6).get("Operating_Mode") == 5
            state = robot.read()
            np.testing.assert_allclose(state.joint_pos[:5], home[:5], atol=3e-3)
            shield = make_shield(cfg, robot, 1 / 30)
            target = state.joint_pos + np.array([0.1, 0.0, -0.1, 0.0, 0.0, 0.0])
            for _ in range(15):
                robot.send(shield.check(robot.read(), target))
                time.sleep(1 / 30)
            np.testing.assert_allclose(robot.read().joint_pos[[0, 2]], target[[0, 2]], atol=0.01)
            fake.go_silent()
            with pytest.raises(ConnectionLostError, match="lost the bus.*hint"):
                robot.read()
        assert not robot.is_connected
    finally:
        fake.close()


def test_control_loop_drives_koch_like_the_other_arms(tmp_path):
    """The deploy code path (config -> driver -> shield -> loop) on the Koch over the mock."""
    from hardware.loop import ControlLoop, LoopConfig
    from hardware.policies import ScriptedPolicy

    home = (0.0, -1.2, 1.2, 0.6, 0.0, 0.3)
    ticks = {i + 1: int(round(2048 + q * 4096 / (2 * np.pi))) for i, q in enumerate(home)}
    fake = FakeDynamixelBus(positions=ticks)
    cfg = _koch(tmp_path, fake)
    try:
        with cfg.build() as robot:
            shield = make_shield(cfg, robot, 1 / 30)
            result = ControlLoop(
                robot,
                ScriptedPolicy(home=home, control_dt=1 / 30),
                shield,
                LoopConfig(rate_hz=30, duration_s=1.5),
            ).run()
    finally:
        fake.close()
    assert result.error is None and result.stop_reason == "duration"
    assert result.stats.unchecked_commands == 0 and result.stats.commands_outside_limits == 0
    moved = np.ptp(np.stack([f.state[:6] for f in result.frames]), axis=0)
    assert moved[0] > 0.05  # the pan servo followed the sway (read back over the bus)
