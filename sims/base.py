"""Base class every task env derives from: the observation contract, sparse reward, info keys.

A family implements the ``_`` hooks; :class:`TaskEnv` assembles observations, checks actions
and fills ``info``. Step semantics (all families):

* ``reward`` is sparse: 1.0 on a step where the task is solved, else 0.0.
* ``info["success"]`` (bool), ``info["progress_gt"]`` (privileged, [0, 1], NaN if unknown),
  ``info["env_reward"]`` (the family's hand-designed dense reward, NaN if none),
  ``info["subtask"]`` (index of the current stage where the sim knows it, else -1).
* ``terminated`` is True on success when ``config.terminate_on_success``; ``truncated`` at
  ``config.max_episode_steps``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from robo.types import Observation
from sims.config import TaskConfig

_NAN = float("nan")

INSTRUCTION_CHARSET = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.-'_/()!?:;"
)


def make_observation_space(
    cameras: tuple[str, ...], image_size: int, state_dim: int, render: bool = True
) -> spaces.Dict:
    """Gymnasium space of the observation contract (images empty when ``render`` is False)."""
    images = {
        name: spaces.Box(0, 255, (image_size, image_size, 3), dtype=np.uint8)
        for name in (cameras if render else ())
    }
    return spaces.Dict(
        {
            "images": spaces.Dict(images),
            "state": spaces.Box(-np.inf, np.inf, (state_dim,), dtype=np.float32),
            "instruction": spaces.Text(max_length=256, charset=INSTRUCTION_CHARSET),
            "timestamp": spaces.Box(0.0, np.inf, (), dtype=np.float64),
        }
    )


class TaskEnv(gym.Env, ABC):
    """A robo task. Subclasses set ``action_space`` and implement the hooks.

    Class attributes describe the action space for generic code (suboptimal experts, steering):

    Attributes:
        action_mode: ``"delta"`` (end-effector deltas, Meta-World / robosuite) or
            ``"absolute"`` (joint-position targets in rad, SO-101).
        gripper_dims: indices of gripper dimensions in the action vector.
        control_dt: seconds per control step (``env.step``).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 20}
    action_mode: ClassVar[Literal["delta", "absolute"]] = "delta"
    gripper_dims: ClassVar[tuple[int, ...]] = ()
    control_dt: float = 0.05

    def __init__(self, task_name: str, config: TaskConfig, instruction: str, state_dim: int):
        super().__init__()
        self.task_name = task_name
        self.config = config
        self.instruction = config.instruction or instruction
        self.render_mode = "rgb_array"
        self.observation_space = make_observation_space(
            tuple(config.cameras), config.image_size, state_dim, config.render
        )
        self._steps = 0
        self._time = 0.0

    # -- hooks ---------------------------------------------------------------------------
    @abstractmethod
    def _reset_sim(self, seed: int) -> None:
        """Reset the simulation; ``seed`` alone decides the scene (object layout, goals)."""

    @abstractmethod
    def _apply_action(self, action: np.ndarray) -> None:
        """Advance the simulation by one control step with a validated action."""

    @abstractmethod
    def _render_camera(self, name: str) -> np.ndarray:
        """uint8[S, S, 3] image of camera ``name`` at ``config.image_size``, upright."""

    @abstractmethod
    def _proprio(self) -> np.ndarray:
        """float32[state_dim] proprioceptive state."""

    @abstractmethod
    def _evaluate(self) -> dict[str, Any]:
        """``{"success": bool, "progress_gt": float, "env_reward": float, "subtask": int}``."""

    def hold_action(self) -> np.ndarray:
        """An action that keeps the robot where it is (zero deltas / current joint targets)."""
        return np.zeros(self.action_space.shape, dtype=np.float32)

    # -- gymnasium API -------------------------------------------------------------------
    def observation(self) -> Observation:
        images = (
            {name: self._render_camera(name) for name in self.config.cameras}
            if self.config.render
            else {}
        )
        return {
            "images": images,
            "state": np.asarray(self._proprio(), dtype=np.float32),
            "instruction": self.instruction,
            "timestamp": np.array(self._time, dtype=np.float64),
        }

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(0, 2**31 - 1))
        self._seed = int(seed)
        self._steps = 0
        self._time = 0.0
        self._reset_sim(self._seed)
        info = self._info(self._evaluate())
        return self.observation(), info

    def step(self, action: np.ndarray) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        bounds = self.__dict__.get("_action_bounds")
        if bounds is None:  # cached: np.clip and space lookups are a visible share of a step
            space = self.action_space
            bounds = (space.shape, space.low.astype(np.float32), space.high.astype(np.float32))
            self._action_bounds = bounds
        shape, low, high = bounds
        action = np.asarray(action, dtype=np.float32)
        if action.shape != shape:
            action = action.reshape(shape)
        if not np.isfinite(action).all():
            raise ValueError(f"{self.task_name}: action contains NaN/inf: {action}")
        action = np.minimum(np.maximum(action, low), high)
        self._apply_action(action)
        self._steps += 1
        self._time += self.control_dt
        ev = self._evaluate()
        info = self._info(ev)
        success = bool(ev["success"])
        terminated = success and self.config.terminate_on_success
        truncated = self._steps >= self.config.max_episode_steps and not terminated
        return self.observation(), float(success), terminated, truncated, info

    def render(self) -> np.ndarray:
        """The first configured camera, uint8[S, S, 3] (for gymnasium's video tools)."""
        return self._render_camera(self.config.cameras[0])

    def _info(self, ev: dict[str, Any]) -> dict[str, Any]:
        get = ev.get
        return {
            "success": bool(ev["success"]),
            "progress_gt": float(get("progress_gt", _NAN)),
            "env_reward": float(get("env_reward", _NAN)),
            "subtask": int(get("subtask", -1)),
            "seed": self._seed,
            "step": self._steps,
        }
