"""Wire-level Feetech bus mock for tests: simulated STS3215 motors behind a pty.

The implementation lives in :mod:`hardware.drivers.feetech_sim` (``robot=mock`` uses it at
run time too); this module re-exports it and adds helpers that build lerobot's real
``FeetechMotorsBus`` on top of it.
"""

from __future__ import annotations

from hardware.drivers.feetech_sim import ADDR, FakeFeetechBus, SimMotor, checksum

__all__ = ["ADDR", "FakeFeetechBus", "SimMotor", "checksum", "lerobot_bus"]

SO101_MOTORS = (
    "shoulder_pan",
    "shoulder_lift",
    "elbow_flex",
    "wrist_flex",
    "wrist_roll",
    "gripper",
)


def lerobot_bus(fake: FakeFeetechBus, calibration: dict | None = None):
    """lerobot's ``FeetechMotorsBus`` for the SO-101's six STS3215 motors on ``fake.port``."""
    from lerobot.motors import Motor, MotorNormMode
    from lerobot.motors.feetech import FeetechMotorsBus

    motors = {
        name: Motor(i + 1, "sts3215", MotorNormMode.DEGREES) for i, name in enumerate(SO101_MOTORS)
    }
    return FeetechMotorsBus(port=fake.port, motors=motors, calibration=calibration)
