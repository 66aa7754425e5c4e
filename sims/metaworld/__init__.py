"""The Meta-World v3 family: all 50 tasks as ``metaworld/<task>`` (``-v3`` suffix dropped).

``sims.make("metaworld/pick-place", image_size=64, shift="obstacle")``. Scenes are decided by
the reset seed (:mod:`sims.metaworld.scene`), cameras are ``front``/``side``/``wrist``
(:mod:`sims.metaworld.rendering`), experts are Meta-World's scripted policies
(:mod:`sims.metaworld.expert`).
"""

from __future__ import annotations

from functools import partial

from sims.config import TaskConfig
from sims.metaworld.config import MetaWorldConfig
from sims.metaworld.env import MetaWorldEnv
from sims.metaworld.expert import MetaWorldExpert
from sims.metaworld.tasks import OBSTACLE_TASKS, SURFACE_TASKS, TASKS, MetaWorldTask
from sims.registry import TaskSpec, register

__all__ = ["TASKS", "MetaWorldConfig", "MetaWorldEnv", "MetaWorldExpert", "MetaWorldTask"]

BASE_SHIFTS: tuple[str, ...] = ("camera", "lighting")


def _factory(task: str, config: TaskConfig) -> MetaWorldEnv:
    if not isinstance(config, MetaWorldConfig):
        raise TypeError(f"metaworld/{task} needs a MetaWorldConfig, got {type(config).__name__}")
    return MetaWorldEnv(task, config)


def _register_all() -> None:
    for name, row in TASKS.items():
        shifts = BASE_SHIFTS + (("obstacle",) if name in OBSTACLE_TASKS else ())
        shifts += ("surface",) if name in SURFACE_TASKS else ()
        register(
            TaskSpec(
                name=f"metaworld/{name}",
                factory=partial(_factory, name),
                default_config=partial(MetaWorldConfig, max_episode_steps=row.max_steps),
                instruction=row.instruction,
                shifts=shifts,
                expert=partial(MetaWorldExpert, name),
            )
        )


_register_all()
