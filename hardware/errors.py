"""Hardware exception types: each message is one line with a reason and a hint."""

from __future__ import annotations


class HardwareError(RuntimeError):
    """Base class of every error the HAL raises on purpose."""


class ConnectionLostError(HardwareError):
    """The link to the robot failed (serial disconnect, timeout, corrupt packets)."""


class CalibrationError(HardwareError):
    """The calibration file for a device id is missing, corrupt or does not fit the motors."""


class SafetyError(HardwareError):
    """A command tried to reach a driver without passing the SafetyShield."""


class UnknownRobotError(HardwareError, KeyError):
    """No robot config is registered under the requested name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
