"""Typed robot configs registered by name: ``so101_sim``, ``so101``, ``koch``, ``mock``.

``make_robot("so101_sim", pacing="fast")`` builds a driver; ``make_robot_from_dict(cfg)``
takes a Hydra ``robot`` group node (``configs/robot/<name>.yaml``, key ``type`` names the
config class). Every config carries the safety limits; the SafetyShield is built from the
same config by :func:`make_shield`, so a robot never exists without its shield settings.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from hardware.errors import UnknownRobotError
from hardware.kinematics import SO101_JOINT_NAMES, ArmKinematics
from hardware.robot import Robot, RobotLimits
from hardware.safety import SafetyConfig, SafetyShield

_CONFIGS: dict[str, type[RobotConfig]] = {}


def register_robot(name: str) -> Callable[[type[RobotConfig]], type[RobotConfig]]:
    """Class decorator: register a config class under ``name``."""

    def deco(cls: type[RobotConfig]) -> type[RobotConfig]:
        _CONFIGS[name] = cls
        cls.type = name
        return cls

    return deco


def robot_names() -> list[str]:
    return sorted(_CONFIGS)


@dataclass
class RobotConfig:
    """Fields shared by every robot.

    Attributes:
        max_velocity: cap on the commanded target rate [rad/s] (all joints).
        max_step: cap on |target - measured| per step [rad] (all joints).
        joint_lower / joint_upper: limits [rad]; empty = the MJCF ranges (SO-101).
        margin: shrink the MJCF joint ranges by this much on each side [rad].
        workspace_lo / workspace_hi: Cartesian box of the check points [m] (base frame).
        table_z: table plane height [m].
        gripper_effort_max: cap on gripper effort (fraction of max torque).
        workspace_check: FK-based box / table checks (needs the MJCF).
    """

    type: ClassVar[str] = "base"
    max_velocity: float = 2.0
    max_step: float = 0.2
    joint_lower: list[float] = field(default_factory=list)
    joint_upper: list[float] = field(default_factory=list)
    margin: float = 0.02
    workspace_lo: list[float] = field(default_factory=lambda: [-0.45, -0.45, -0.05])
    workspace_hi: list[float] = field(default_factory=lambda: [0.45, 0.45, 0.5])
    table_z: float = 0.0
    gripper_effort_max: float = 0.5
    workspace_check: bool = True
    home: list[float] = field(default_factory=lambda: [0.0, -1.2, 1.2, 0.6, 0.0, 0.3])

    def limits(self) -> RobotLimits:
        if self.joint_lower and self.joint_upper:
            lower, upper = np.array(self.joint_lower), np.array(self.joint_upper)
        else:
            lower, upper = ArmKinematics().joint_range
            lower, upper = lower + self.margin, upper - self.margin
        n = len(SO101_JOINT_NAMES)
        return RobotLimits(
            joint_names=SO101_JOINT_NAMES,
            lower=lower,
            upper=upper,
            max_velocity=np.full(n, self.max_velocity),
            max_step=np.full(n, self.max_step),
            workspace_lo=np.array(self.workspace_lo, dtype=np.float64),
            workspace_hi=np.array(self.workspace_hi, dtype=np.float64),
            table_z=self.table_z,
            gripper_effort_max=self.gripper_effort_max,
        )

    def build(self) -> Robot:
        raise NotImplementedError


@register_robot("so101_sim")
@dataclass
class SimTwinConfig(RobotConfig):
    """The MuJoCo twin. ``pacing``: realtime | fast; ``cameras``: names to render; ``task``:
    an ``so101/*`` sim task whose scene (laid out by ``seed`` under ``shift``) the twin runs
    in (``None``: the arm on a bare table)."""

    pacing: str = "realtime"
    control_dt: float = 1.0 / 30.0
    cameras: list[str] = field(default_factory=lambda: ["front", "side", "wrist"])
    image_size: int = 96
    camera_fps: float = 10.0
    task: str | None = None
    seed: int = 0
    shift: str = "none"

    def build(self) -> Robot:
        from hardware.drivers.sim import SimTwin

        return SimTwin(
            limits=self.limits(),
            pacing=self.pacing,  # type: ignore[arg-type]
            control_dt=self.control_dt,
            cameras=tuple(self.cameras),
            image_size=self.image_size,
            camera_fps=self.camera_fps,
            home=tuple(self.home),
            task=self.task,
            seed=self.seed,
            shift=self.shift,
        )


@dataclass
class CameraSpec:
    """A real camera: OpenCV index or device path, capture size and rate."""

    index_or_path: Any = 0
    fps: int = 30
    width: int = 640
    height: int = 480


@dataclass
class LerobotArmConfig(RobotConfig):
    """A real arm. Calibration is ``<calibration_dir>/<id>.json`` (lerobot's format)."""

    port: str = "/dev/ttyACM0"
    id: str = "my_arm"
    calibration_dir: str = "~/.cache/huggingface/lerobot/calibration/robots/so_follower"
    sync_calibration: bool = True
    torque_off_on_disconnect: bool = True
    signs: list[float] = field(default_factory=list)
    offsets_rad: list[float] = field(default_factory=list)
    gripper_range_rad: list[float] = field(default_factory=lambda: [-0.17453, 1.74533])
    cameras: dict[str, Any] = field(default_factory=dict)

    kind: ClassVar[str] = "so101"

    def build(self) -> Robot:
        from hardware.cameras import opencv_camera
        from hardware.drivers.lerobot_arm import LerobotArm
        from hardware.units import LerobotUnits

        cams = {}
        for name, spec in self.cameras.items():
            cs = spec if isinstance(spec, CameraSpec) else CameraSpec(**dict(spec))
            cams[name] = opencv_camera(name, cs.index_or_path, cs.fps, cs.width, cs.height)
        units = LerobotUnits(
            SO101_JOINT_NAMES,
            tuple(self.signs),
            tuple(self.offsets_rad),
            (self.gripper_range_rad[0], self.gripper_range_rad[1]),
        )
        return LerobotArm(
            kind=self.kind,  # type: ignore[arg-type]
            port=self.port,
            robot_id=self.id,
            calibration_dir=self.calibration_dir,
            limits=self.limits(),
            units=units,
            cameras=cams,
            sync_calibration=self.sync_calibration,
            torque_off_on_disconnect=self.torque_off_on_disconnect,
        )


@register_robot("so101")
@dataclass
class SO101Config(LerobotArmConfig):
    """SO-101 / SO-100 follower on a Feetech bus."""

    kind: ClassVar[str] = "so101"
    id: str = "my_so101"


@register_robot("koch")
@dataclass
class KochConfig(LerobotArmConfig):
    """Koch follower on a Dynamixel bus (limits must be given: no MJCF ships for it)."""

    kind: ClassVar[str] = "koch"
    id: str = "my_koch"
    calibration_dir: str = "~/.cache/huggingface/lerobot/calibration/robots/koch_follower"
    joint_lower: list[float] = field(default_factory=lambda: [-2.0, -1.7, -1.7, -1.7, -2.7, -0.17])
    joint_upper: list[float] = field(default_factory=lambda: [2.0, 1.7, 1.7, 1.7, 2.7, 1.74])
    workspace_check: bool = False


@register_robot("mock")
@dataclass
class MockConfig(RobotConfig):
    """The SO-101 driver on a simulated Feetech bus (pty); ``id`` names its calibration.

    ``unplug_after_s``: fault injection, the simulated USB adapter vanishes this many seconds
    after the first command went through (``None``: never).
    """

    id: str = "mock_so101"
    calibration_dir: str | None = None
    unplug_after_s: float | None = None

    def build(self) -> Robot:
        from hardware.drivers.mock import MockArm

        return MockArm(
            self.limits(),
            tuple(self.home),
            calibration_dir=self.calibration_dir,
            robot_id=self.id,
            unplug_after_s=self.unplug_after_s,
        )


def robot_config(name: str, **overrides: Any) -> RobotConfig:
    """The config registered as ``name`` with field overrides; clear error for unknown names."""
    if name not in _CONFIGS:
        close = difflib.get_close_matches(name, list(_CONFIGS), n=3)
        hint = (
            f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(robot_names())}"
        )
        raise UnknownRobotError(f"unknown robot {name!r}; {hint}")
    cls = _CONFIGS[name]
    overrides.pop("type", None)
    fields = {f.name for f in dataclasses.fields(cls)}
    bad = sorted(set(overrides) - fields)
    if bad:
        raise ValueError(
            f"robot {name!r} has no option(s) {bad} (hint: options are {sorted(fields)})"
        )
    return cls(**overrides)


def robot_config_from_dict(node: dict[str, Any] | str) -> RobotConfig:
    """From a Hydra node ``{type: so101_sim, ...}`` or just a name."""
    if isinstance(node, str):
        return robot_config(node)
    node = dict(node)
    name = node.pop("type", None)
    if not name:
        raise ValueError("robot config needs a `type` (hint: robot=so101_sim)")
    return robot_config(str(name), **node)


def make_robot(name: str, **overrides: Any) -> Robot:
    """Build the driver registered as ``name`` (``so101_sim``, ``so101``, ``koch``, ``mock``)."""
    return robot_config(name, **overrides).build()


def make_shield(cfg: RobotConfig, robot: Robot, dt: float) -> SafetyShield:
    """The SafetyShield for ``robot`` with the control period ``dt`` [s]."""
    kin = ArmKinematics() if cfg.workspace_check else None
    return SafetyShield(robot.limits, kin, SafetyConfig(dt=dt, workspace=cfg.workspace_check))
