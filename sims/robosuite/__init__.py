"""robosuite family: Lift, Stack, PickPlaceCan and Door with a Panda arm under OSC_POSE.

``sims.make("robosuite/lift")`` builds a :class:`RobosuiteEnv`; each task has a scripted
:class:`~sims.experts.base.Expert` (``TaskSpec.expert``) and the shifts listed in its spec.
"""

from __future__ import annotations

import dataclasses
import functools

from sims.config import TaskConfig
from sims.registry import TaskSpec, register
from sims.robosuite.config import RobosuiteConfig
from sims.robosuite.door_expert import DoorExpert
from sims.robosuite.env import RobosuiteEnv
from sims.robosuite.experts import PICK_EXPERTS
from sims.robosuite.tasks import TASKS, RobosuiteTask

__all__ = ["RobosuiteConfig", "RobosuiteEnv", "TASKS", "make_env"]


def default_config(task: RobosuiteTask) -> RobosuiteConfig:
    """Fresh default config of ``task``."""
    return RobosuiteConfig(max_episode_steps=task.max_episode_steps)


def make_env(task: RobosuiteTask, config: TaskConfig) -> RobosuiteEnv:
    """Build the env of ``task`` (a plain :class:`TaskConfig` is upgraded to the family's)."""
    if not isinstance(config, RobosuiteConfig):
        fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
        config = RobosuiteConfig(**fields)
    return RobosuiteEnv(task, config)


EXPERTS = {**PICK_EXPERTS, "door": DoorExpert}

for _task in TASKS.values():
    register(
        TaskSpec(
            name=f"robosuite/{_task.name}",
            factory=functools.partial(make_env, _task),
            default_config=functools.partial(default_config, _task),
            instruction=_task.instruction,
            shifts=_task.shifts,
            expert=EXPERTS[_task.name],
        )
    )
