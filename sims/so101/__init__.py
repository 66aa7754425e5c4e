"""SO-101 task family: our own MuJoCo scenes around the SO-101 arm model.

Tasks: ``so101/reach``, ``so101/pick-cube``, ``so101/push-cube``, ``so101/place-cube-in-bin``.
Actions are absolute joint-position targets [rad] (see :mod:`sims.so101.env`); scenes are
decided by the reset seed (:mod:`sims.so101.layout`); scripted experts in
:mod:`sims.so101.experts`; arm kinematics for other packages in :mod:`sims.so101.kinematics`.
"""

from __future__ import annotations

from functools import partial

from sims.registry import TaskSpec, register
from sims.shifts import SHIFTS
from sims.so101.assets import so101_arm_xml_path
from sims.so101.config import SO101Config
from sims.so101.env import SO101Env
from sims.so101.experts import SO101Expert
from sims.so101.kinematics import JOINT_NAMES, joint_limits

INSTRUCTIONS: dict[str, str] = {
    "reach": "move the gripper to the green marker",
    "pick-cube": "pick up the red cube",
    "push-cube": "push the red cube onto the green target",
    "place-cube-in-bin": "put the red cube in the blue bin",
}
EPISODE_STEPS: dict[str, int] = {
    "reach": 60,
    "pick-cube": 120,
    "push-cube": 160,
    "place-cube-in-bin": 200,
}


def default_config(task: str) -> SO101Config:
    """Default config of ``so101/<task>`` (96 px, 20 Hz control, 2 ms physics)."""
    return SO101Config(max_episode_steps=EPISODE_STEPS[task])


def _factory(task: str, config: SO101Config) -> SO101Env:
    return SO101Env(task, config, INSTRUCTIONS[task])


for _task in INSTRUCTIONS:
    register(
        TaskSpec(
            name=f"so101/{_task}",
            factory=partial(_factory, _task),
            default_config=partial(default_config, _task),
            instruction=INSTRUCTIONS[_task],
            shifts=tuple(SHIFTS),
            expert=partial(SO101Expert, _task),
        )
    )

__all__ = [
    "INSTRUCTIONS",
    "JOINT_NAMES",
    "SO101Config",
    "SO101Env",
    "SO101Expert",
    "joint_limits",
    "so101_arm_xml_path",
]
