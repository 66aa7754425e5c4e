"""Scripted expert interface. Experts act only through the task's action space; they may read
privileged simulator state (object poses, goals) from ``env.unwrapped``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from robo.types import Observation


class Expert(ABC):
    """A closed-loop scripted policy for one task.

    ``reset`` is called after ``env.reset``; ``act`` after every observation. Families may
    accept ``failure=True`` in their constructor to produce on-purpose failures (miss the
    grasp, drop the object) for ``kind="failure"`` episodes.
    """

    @abstractmethod
    def reset(self, env: Any, obs: Observation, info: dict[str, Any]) -> None:
        """Prepare for a new episode of ``env`` (a :class:`sims.base.TaskEnv` or wrapper)."""

    @abstractmethod
    def act(self, env: Any, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        """The next action, float32[A], inside ``env.action_space``."""

    def subtask_names(self) -> tuple[str, ...]:
        """Names of the expert's stages, in order (for episode metadata)."""
        return ()
