"""Real arms through lerobot's robot and motor-bus classes (SO-101/SO-100 and Koch).

The driver owns a lerobot ``SOFollower`` (Feetech bus) or ``KochFollower`` (Dynamixel bus)
and uses its real code path: ``connect`` (handshake, configure), ``bus.sync_read`` of
``Present_Position`` and ``send_action`` (``sync_write`` of ``Goal_Position``). Units are
converted in :mod:`hardware.units`; lerobot's own ``max_relative_target`` is left off because
the SafetyShield already applied a stricter step clamp.

Bus faults (unplugged adapter, timeouts, corrupt packets) surface as
:class:`~hardware.errors.ConnectionLostError` with a one-line reason and hint.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hardware.calibration import calibration_path, load_calibration
from hardware.errors import CalibrationError, ConnectionLostError, HardwareError
from hardware.robot import Robot, RobotLimits, RobotState
from hardware.units import LerobotUnits

logger = logging.getLogger(__name__)

TORQUE_LIMIT_MAX = 1000  # Feetech Torque_Limit register: 0..1000 = 0..100 % of max torque


def preload_lerobot(kind: str = "so101") -> None:
    """Import lerobot's robot classes now.

    Importing them (torch._dynamo -> triton) *after* a MuJoCo EGL context has been used in
    the process segfaults in native code, so a process that runs the sim twin and then a
    lerobot arm (``deploy dry_run=true``) must import lerobot first.
    """
    if kind == "koch":
        import lerobot.robots.koch_follower  # noqa: F401
    else:
        import lerobot.robots.so_follower  # noqa: F401


def _bus_errors() -> tuple[type[BaseException], ...]:
    """What lerobot and the serial stack raise on a failing link."""
    import termios

    import serial

    return (
        ConnectionError,
        OSError,
        serial.SerialException,
        termios.error,
        RuntimeError,
        TypeError,
        IndexError,  # the SDK indexes short/garbled packets
    )


class LerobotArm(Robot):
    """An SO-101/SO-100 (``kind="so101"``) or Koch (``kind="koch"``) arm.

    Args:
        kind: ``so101`` or ``koch``.
        port: serial device (``/dev/ttyACM0``) or a pty from :class:`FakeFeetechBus`.
        robot_id: device id; its calibration is ``<calibration_dir>/<robot_id>.json``.
        calibration_dir: directory of calibration files.
        limits: shield limits [rad].
        units: lerobot <-> rad conversion.
        cameras: name -> camera stream (see :mod:`hardware.cameras`).
        sync_calibration: when the motors' stored calibration differs from the file, write the
            file's values (True) or refuse to connect (False).
        torque_off_on_disconnect: release the motors when disconnecting (lerobot's default).
    """

    def __init__(
        self,
        kind: Literal["so101", "koch"],
        port: str,
        robot_id: str,
        calibration_dir: str | Path,
        limits: RobotLimits,
        units: LerobotUnits,
        cameras: dict[str, Any] | None = None,
        sync_calibration: bool = True,
        torque_off_on_disconnect: bool = True,
    ):
        if kind not in ("so101", "koch"):
            raise ValueError(f"kind must be 'so101' or 'koch', got {kind!r}")
        super().__init__(limits, cameras)
        self.name = kind
        self.kind = kind
        self.port = port
        self.robot_id = robot_id
        self.calibration_dir = Path(calibration_dir).expanduser()
        self.units = units
        self.sync_calibration = sync_calibration
        self.torque_off_on_disconnect = torque_off_on_disconnect
        self.lerobot_robot: Any = None
        self.connect_attempts = 3  # transient timeouts at connect are retried
        self.num_retry = 2  # per bus transaction (a lost/corrupt packet is retried)
        self._prev: tuple[np.ndarray, float] | None = None
        self._effort: float | None = None
        self._torque = False

    # -- connect / disconnect -----------------------------------------------------------------
    def _make_lerobot_robot(self) -> Any:
        # lerobot's own step clamp stays off (max_relative_target=None): our SafetyShield clamps.
        common = {
            "port": self.port,
            "id": self.robot_id,
            "calibration_dir": self.calibration_dir,
            "use_degrees": True,
            "max_relative_target": None,
            "disable_torque_on_disconnect": self.torque_off_on_disconnect,
        }
        if self.kind == "so101":
            from lerobot.robots.so_follower import SO101Follower, SO101FollowerConfig

            return SO101Follower(SO101FollowerConfig(**common))
        from lerobot.robots.koch_follower import KochFollower, KochFollowerConfig

        try:
            import dynamixel_sdk  # noqa: F401
        except ModuleNotFoundError:
            raise HardwareError(
                "koch: lerobot's Dynamixel bus needs the `dynamixel-sdk` package "
                "(hint: pip install 'dynamixel-sdk>=3.7.31')"
            ) from None
        return KochFollower(KochFollowerConfig(**common))

    def _connect(self) -> None:
        path = calibration_path(self.calibration_dir, self.robot_id)
        load_calibration(path, self.limits.joint_names)  # clear error before touching the bus
        # Connect and the calibration check are one attempt: a reply that misses the SDK's
        # timeout in either (a busy host, a half-sent packet) is retried the same way.
        for attempt in range(self.connect_attempts):
            robot = self._make_lerobot_robot()
            try:
                robot.connect(calibrate=False)
                self._check_calibration(robot, path)
                robot.bus.enable_torque(num_retry=self.num_retry)
                break
            except _bus_errors() as err:
                self._close_quietly(robot)
                if attempt + 1 == self.connect_attempts:
                    raise ConnectionLostError(
                        f"{self.kind}: cannot connect on {self.port}: {_first_line(err)} "
                        "(hint: check the USB cable, power and port; `lerobot-find-port` "
                        "lists ports)"
                    ) from None
                logger.warning("%s: connect attempt %d failed: %s", self.kind, attempt + 1, err)
                time.sleep(0.1 * (attempt + 1))  # let a half-sent reply drain before retrying
            except CalibrationError:
                self._close_quietly(robot)
                raise
        self.lerobot_robot = robot
        self._torque = True
        self._prev = None

    def _check_calibration(self, robot: Any, path: Path) -> None:
        """Refuse (or, with ``sync_calibration``, write) a motor calibration that differs from
        the file at ``path``. Bus errors propagate to the caller's retry."""
        if robot.bus.is_calibrated:
            return
        if not self.sync_calibration:
            raise CalibrationError(
                f"{self.kind} {self.robot_id}: motor calibration differs from {path} "
                "(hint: set sync_calibration=true to write the file, or recalibrate)"
            )
        logger.info("writing calibration %s to the motors", path)
        with robot.bus.torque_disabled():  # EEPROM writes need torque off
            robot.bus.write_calibration(robot.calibration)

    def _disconnect(self) -> None:
        robot, self.lerobot_robot = self.lerobot_robot, None
        if robot is None:
            return
        try:
            robot.disconnect()
        except Exception as err:  # a dead bus must not prevent closing the port
            logger.warning("%s: clean disconnect failed (%s); closing the port", self.kind, err)
            self._close_quietly(robot)

    @staticmethod
    def _close_quietly(robot: Any) -> None:
        with contextlib.suppress(Exception):
            robot.bus.port_handler.closePort()
        for cam in getattr(robot, "cameras", {}).values():
            with contextlib.suppress(Exception):
                cam.disconnect()

    # -- I/O ----------------------------------------------------------------------------------
    def _read(self) -> RobotState:
        try:
            values = self.lerobot_robot.bus.sync_read("Present_Position", num_retry=self.num_retry)
        except _bus_errors() as err:
            raise ConnectionLostError(
                f"{self.kind}: lost the bus on {self.port} while reading: {_first_line(err)} "
                "(hint: check cable and power; the arm keeps its last goal)"
            ) from None
        now = time.monotonic()
        q = self.units.to_rad(values)
        if self._prev is not None and now > self._prev[1]:
            vel = (q - self._prev[0]) / (now - self._prev[1])
        else:
            vel = np.zeros_like(q)
        self._prev = (q, now)
        return RobotState(q, vel, now, self._torque)

    def _send_target(self, target: np.ndarray, gripper_effort: float) -> None:
        action = self.units.to_lerobot(target)
        try:
            if self.kind == "so101" and gripper_effort != self._effort:
                value = int(round(gripper_effort * TORQUE_LIMIT_MAX))
                self.lerobot_robot.bus.write(
                    "Torque_Limit", "gripper", value, num_retry=self.num_retry
                )
                self._effort = gripper_effort
            self.lerobot_robot.send_action(action)
        except _bus_errors() as err:
            raise ConnectionLostError(
                f"{self.kind}: lost the bus on {self.port} while sending: {_first_line(err)} "
                "(hint: check cable and power)"
            ) from None

    def _torque_off(self) -> None:
        try:
            self.lerobot_robot.bus.disable_torque(num_retry=2)
            self._torque = False
        except _bus_errors() as err:
            raise ConnectionLostError(
                f"{self.kind}: torque off failed: {_first_line(err)}"
            ) from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
