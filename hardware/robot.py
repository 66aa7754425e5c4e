"""The Robot API: state, limits, the shield-only command type, and the driver base class.

Units everywhere: joint positions [rad], velocities [rad/s], Cartesian [m] in the arm's base
frame, time [s] from ``time.monotonic()``. Joint order is the arm's (for SO-101 and Koch:
shoulder_pan, shoulder_lift, elbow_flex, wrist_flex, wrist_roll, gripper).

Safety by construction: :meth:`Robot.send` accepts only a :class:`SafeCommand`, and a
``SafeCommand`` can only be constructed by :class:`hardware.safety.SafetyShield` (its
constructor checks a module-private seal). Drivers implement ``_send_target`` which nothing
outside :meth:`Robot.send` calls.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hardware.errors import SafetyError

logger = logging.getLogger(__name__)

_SEAL = object()  # only hardware.safety passes this; see SafeCommand


@dataclass(frozen=True)
class RobotState:
    """One reading of the arm.

    Attributes:
        joint_pos: float64[N] joint positions [rad] (the gripper joint last).
        joint_vel: float64[N] joint velocities [rad/s] (finite differences on real arms).
        timestamp: monotonic time of the reading [s].
        torque_enabled: whether the motors hold position.
    """

    joint_pos: np.ndarray
    joint_vel: np.ndarray
    timestamp: float
    torque_enabled: bool = True

    @property
    def gripper(self) -> float:
        """Gripper joint position [rad]."""
        return float(self.joint_pos[-1])


@dataclass(frozen=True)
class RobotLimits:
    """Everything the SafetyShield enforces.

    Attributes:
        joint_names: N names, in command order.
        lower / upper: float64[N] joint position limits [rad].
        max_velocity: float64[N] limit on the commanded target's rate [rad/s].
        max_step: float64[N] limit on |target - measured position| per step [rad].
        workspace_lo / workspace_hi: float64[3] Cartesian box for the check points [m].
        table_z: height of the table plane; check points must stay above it [m].
        gripper_effort_max: cap on the gripper effort, a fraction of the motor's max torque.
    """

    joint_names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    max_velocity: np.ndarray
    max_step: np.ndarray
    workspace_lo: np.ndarray = field(default_factory=lambda: np.array([-0.45, -0.45, -0.05]))
    workspace_hi: np.ndarray = field(default_factory=lambda: np.array([0.45, 0.45, 0.50]))
    table_z: float = 0.0
    gripper_effort_max: float = 0.5

    def __post_init__(self) -> None:
        n = len(self.joint_names)
        for name in ("lower", "upper", "max_velocity", "max_step"):
            arr = np.asarray(getattr(self, name), dtype=np.float64).reshape(-1)
            if arr.shape != (n,) or not np.all(np.isfinite(arr)):
                raise ValueError(f"RobotLimits.{name} must be {n} finite numbers, got {arr}")
            object.__setattr__(self, name, arr)
        if np.any(self.lower >= self.upper):
            raise ValueError(f"RobotLimits: lower {self.lower} must be < upper {self.upper}")
        if np.any(self.max_velocity <= 0) or np.any(self.max_step <= 0):
            raise ValueError("RobotLimits: max_velocity and max_step must be > 0")
        for name in ("workspace_lo", "workspace_hi"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        if not 0.0 <= self.gripper_effort_max <= 1.0:
            raise ValueError(f"gripper_effort_max must be in [0, 1], got {self.gripper_effort_max}")

    @property
    def dof(self) -> int:
        return len(self.joint_names)


class SafeCommand:
    """A joint-position target that passed the SafetyShield (constructed only by it).

    Attributes:
        target: float64[N] joint targets [rad], read-only.
        gripper_effort: fraction of the gripper's max torque, in [0, gripper_effort_max].
        requested: float64[N] what the caller asked for (may hold NaN/inf), read-only.
        interventions: kinds of clamps/rejections applied (empty when passed unchanged).
        timestamp: monotonic time the shield issued it [s].
    """

    __slots__ = ("target", "gripper_effort", "requested", "interventions", "timestamp")

    def __init__(
        self,
        target: np.ndarray,
        gripper_effort: float,
        requested: np.ndarray,
        interventions: tuple[str, ...],
        *,
        _seal: object = None,
    ):
        if _seal is not _SEAL:
            raise SafetyError(
                "SafeCommand can only be made by SafetyShield.check (hint: pass targets through "
                "the robot's shield; commands are never sent unchecked)"
            )
        target = np.array(target, dtype=np.float64)
        target.flags.writeable = False
        requested = np.array(requested, dtype=np.float64)
        requested.flags.writeable = False
        self.target = target
        self.gripper_effort = float(gripper_effort)
        self.requested = requested
        self.interventions = tuple(interventions)
        self.timestamp = time.monotonic()

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(self, "timestamp"):
            raise AttributeError("SafeCommand is immutable")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"SafeCommand(target={np.round(self.target, 4)}, interventions={self.interventions})"


class Robot(ABC):
    """Base class of every driver (sim twin, lerobot arms, wire-level mock).

    Subclasses implement ``_connect``, ``_disconnect``, ``_read``, ``_send_target`` and
    ``_torque_off``. Use as a context manager: ``with make_robot("so101_sim") as robot: ...``;
    ``disconnect`` always runs.
    """

    name: str = "robot"
    camera_start_timeout_s: float = 60.0

    def __init__(self, limits: RobotLimits, cameras: dict[str, Any] | None = None):
        self._limits = limits
        self.cameras: dict[str, Any] = cameras or {}
        self._connected = False
        self._io_lock = threading.RLock()  # the loop and the watchdog may both send
        self.last_sent: SafeCommand | None = None
        self.sent_count = 0

    # -- public API --------------------------------------------------------------------------
    @property
    def limits(self) -> RobotLimits:
        return self._limits

    @property
    def is_connected(self) -> bool:
        return self._connected

    def connect(self) -> None:
        """Open the link, verify calibration, start cameras."""
        if self._connected:
            return
        self._connect()
        self._connected = True
        try:
            for cam in self.cameras.values():
                cam.start()
            for cam in self.cameras.values():
                cam.wait_first(self.camera_start_timeout_s)
        except Exception:
            self.disconnect()
            raise

    def disconnect(self) -> None:
        """Stop cameras and close the link (idempotent; never raises on a dead link)."""
        for cam in self.cameras.values():
            try:
                cam.stop()
            except Exception as err:  # a dead camera must not keep the arm connected
                logger.warning("camera stop failed: %s", err)
        if not self._connected:
            return
        self._connected = False
        with self._io_lock:
            self._disconnect()

    def read(self) -> RobotState:
        """Current joint state (positions [rad], velocities [rad/s], monotonic timestamp)."""
        self._require_connected()
        with self._io_lock:
            return self._read()

    def send(self, command: SafeCommand) -> SafeCommand:
        """Send a shield-checked joint target; returns the command actually sent."""
        if type(command) is not SafeCommand:
            raise SafetyError(
                f"{self.name}.send takes a SafeCommand, got {type(command).__name__} "
                "(hint: use SafetyShield.check(state, target) first)"
            )
        target = command.target
        lim = self._limits
        # Last line of defence: the shield already did this; a mismatch is a bug, not a clamp.
        if (
            target.shape != (lim.dof,)
            or not np.all(np.isfinite(target))
            or np.any(target < lim.lower - 1e-9)
            or np.any(target > lim.upper + 1e-9)
        ):
            raise SafetyError(f"{self.name}: command outside joint limits reached the driver")
        self._require_connected()
        with self._io_lock:
            self._send_target(target, command.gripper_effort)
            self.last_sent = command
            self.sent_count += 1
        return command

    def torque_off(self) -> None:
        """Release the motors (the safe state for arms that rest on a support)."""
        if self._connected:
            with self._io_lock:
                self._torque_off()

    def __enter__(self) -> Robot:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    def _require_connected(self) -> None:
        if not self._connected:
            raise ConnectionError(f"{self.name} is not connected (hint: call connect() first)")

    # -- driver hooks ------------------------------------------------------------------------
    @abstractmethod
    def _connect(self) -> None: ...

    @abstractmethod
    def _disconnect(self) -> None: ...

    @abstractmethod
    def _read(self) -> RobotState: ...

    @abstractmethod
    def _send_target(self, target: np.ndarray, gripper_effort: float) -> None:
        """Write joint targets float64[N] [rad] and the gripper effort fraction to the arm."""

    @abstractmethod
    def _torque_off(self) -> None: ...
