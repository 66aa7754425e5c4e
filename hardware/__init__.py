"""hardware: one Robot API for the SO-101 sim twin, real SO-101/Koch arms and a wire-level mock.

    from hardware import make_robot, make_shield, robot_config, ControlLoop, LoopConfig

    cfg = robot_config("so101_sim")            # or "so101", "koch", "mock"
    with cfg.build() as robot:                 # disconnect always runs
        shield = make_shield(cfg, robot, dt=1 / 30)
        state = robot.read()                   # rad, rad/s, monotonic timestamp
        robot.send(shield.check(state, target))   # only SafeCommands reach a driver

Safety is on by default and cannot be bypassed: drivers accept only
:class:`~hardware.robot.SafeCommand`, which only :class:`~hardware.safety.SafetyShield` makes.
Heavy backends (lerobot, MuJoCo rendering) are imported when a driver is built.
"""

from hardware.config import (
    RobotConfig,
    make_robot,
    make_shield,
    register_robot,
    robot_config,
    robot_config_from_dict,
    robot_names,
)
from hardware.errors import (
    CalibrationError,
    ConnectionLostError,
    HardwareError,
    SafetyError,
    UnknownRobotError,
)
from hardware.estop import EStop, Watchdog
from hardware.loop import ControlLoop, LoopConfig, LoopResult
from hardware.robot import Robot, RobotLimits, RobotState, SafeCommand
from hardware.safety import SafetyConfig, SafetyShield

__all__ = [
    "CalibrationError",
    "ConnectionLostError",
    "ControlLoop",
    "EStop",
    "HardwareError",
    "LoopConfig",
    "LoopResult",
    "Robot",
    "RobotConfig",
    "RobotLimits",
    "RobotState",
    "SafeCommand",
    "SafetyConfig",
    "SafetyError",
    "SafetyShield",
    "UnknownRobotError",
    "Watchdog",
    "make_robot",
    "make_shield",
    "register_robot",
    "robot_config",
    "robot_config_from_dict",
    "robot_names",
]
