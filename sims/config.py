"""Task configuration shared by every family; families subclass :class:`TaskConfig`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from robo.types import CAMERA_NAMES
from sims.errors import BadOverrideError


@dataclass
class TaskConfig:
    """Options every task accepts as ``sims.make(name, **overrides)``.

    Attributes:
        image_size: side of the square camera images [px].
        cameras: camera names to render (subset of the family's cameras).
        render: if False, ``obs["images"]`` is an empty dict (fast, for RL on state).
        max_episode_steps: episode length before truncation [control steps].
        shift: distribution-shift variant (``None`` = nominal); see :mod:`sims.shifts`.
        shadows: render shadows/reflections (5-10x slower with software EGL).
        instruction: override the natural-language instruction (``None`` = the task's own).
        terminate_on_success: end the episode (``terminated=True``) on the first success step.
        extra: family-specific options.
    """

    image_size: int = 96
    cameras: tuple[str, ...] = CAMERA_NAMES
    render: bool = True
    max_episode_steps: int = 200
    shift: str | None = None
    shadows: bool = False
    instruction: str | None = None
    terminate_on_success: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def apply_overrides(config: TaskConfig, overrides: dict[str, Any], task: str) -> TaskConfig:
    """Return a copy of ``config`` with ``overrides`` applied; unknown keys raise.

    Raises:
        BadOverrideError: an override names no field of the config.
    """
    names = {f.name for f in dataclasses.fields(config)}
    for key in overrides:
        if key not in names:
            raise BadOverrideError(
                f"task {task!r} has no option {key!r}; valid options: {', '.join(sorted(names))}"
            )
    if "cameras" in overrides and isinstance(overrides["cameras"], str):
        overrides = {**overrides, "cameras": tuple(overrides["cameras"].split(","))}
    if "cameras" in overrides:
        overrides = {**overrides, "cameras": tuple(overrides["cameras"])}
    new = dataclasses.replace(config, **overrides)
    if new.image_size <= 0 or new.image_size > 1024:
        raise BadOverrideError(f"image_size={new.image_size} must be in [1, 1024] px")
    if new.max_episode_steps <= 0:
        raise BadOverrideError(f"max_episode_steps={new.max_episode_steps} must be positive")
    return new
