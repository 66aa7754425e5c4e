"""A tiny point-mass :class:`sims.base.TaskEnv` and its scripted expert, for fast tests.

World: a point at ``pos`` in [-1, 1]^2 [m] with a gripper opening ``grip`` in [0, 1], and a
goal drawn from the seed. Success: the point within ``GOAL_RADIUS`` of the goal with the gripper
closed (``grip > 0.9``). Two subtasks: 0 = reach, 1 = close the gripper at the goal.

Two action modes, like the real families:

* ``fake/reach`` (delta): ``[dx, dy, grip]`` in [-1, 1]; the point moves ``STEP * [dx, dy]``.
* ``fake/reach-abs`` (absolute): ``[x, y, grip]`` targets in [-1, 1]; the point moves toward the
  target by at most ``STEP`` per step.

Cameras render synthetic uint8 images: ``front`` (top view of point and goal), ``side``
(x against gripper opening) and ``wrist`` (goal relative to the point).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

import sims
from sims.base import TaskEnv
from sims.config import TaskConfig
from sims.experts.base import Expert
from sims.registry import TaskSpec

STEP = 0.1  # [m] per control step at full action
GOAL_RADIUS = 0.05  # [m]
INSTRUCTION = "move the point to the green goal and close the gripper"
BACKGROUNDS = {"front": (40, 40, 60), "side": (60, 40, 40), "wrist": (40, 60, 40)}


@dataclass
class FakeReachConfig(TaskConfig):
    image_size: int = 32
    max_episode_steps: int = 60


class FakeReachEnv(TaskEnv):
    """Point-mass reach with a gripper; delta actions."""

    action_mode = "delta"
    gripper_dims = (2,)
    control_dt = 0.05

    def __init__(self, config: FakeReachConfig, task_name: str = "fake/reach"):
        super().__init__(task_name, config, INSTRUCTION, state_dim=3)
        self.action_space = spaces.Box(-1.0, 1.0, (3,), dtype=np.float32)
        self.pos = np.zeros(2)
        self.goal = np.zeros(2)
        self.grip = 0.0
        self.start_dist = 1.0

    def _reset_sim(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.pos = rng.uniform(-0.8, 0.8, 2)
        self.goal = rng.uniform(-0.8, 0.8, 2)
        while np.linalg.norm(self.goal - self.pos) < 0.6:
            self.goal = rng.uniform(-0.8, 0.8, 2)
        self.grip = 0.0
        self.start_dist = float(np.linalg.norm(self.goal - self.pos))

    def _move(self, action: np.ndarray) -> None:
        self.pos = np.clip(self.pos + STEP * action[:2], -1.0, 1.0)

    def _apply_action(self, action: np.ndarray) -> None:
        self._move(action)
        command = (float(action[2]) + 1.0) / 2.0
        self.grip += 0.5 * (command - self.grip)

    def _proprio(self) -> np.ndarray:
        return np.array([self.pos[0], self.pos[1], self.grip], dtype=np.float32)

    def _evaluate(self) -> dict[str, Any]:
        dist = float(np.linalg.norm(self.goal - self.pos))
        near = dist < GOAL_RADIUS
        reach = float(np.clip(1.0 - dist / self.start_dist, 0.0, 1.0))
        progress = 0.9 * reach + (0.1 * self.grip if near else 0.0)
        return {
            "success": bool(near and self.grip > 0.9),
            "progress_gt": float(progress),
            "env_reward": -dist,
            "subtask": int(near),
        }

    def _render_camera(self, name: str) -> np.ndarray:
        size = self.config.image_size
        img = np.empty((size, size, 3), dtype=np.uint8)
        img[:] = BACKGROUNDS[name]

        def square(xy: np.ndarray, colour: tuple[int, int, int]) -> None:
            px = np.clip(
                ((np.asarray(xy) + 1.0) / 2.0 * (size - 1)).round().astype(int), 0, size - 1
            )
            r = max(1, size // 16)
            img[max(px[1] - r, 0) : px[1] + r + 1, max(px[0] - r, 0) : px[0] + r + 1] = colour

        if self.config.shift == "distractor":
            square(np.array([0.0, 0.9]), (128, 128, 128))
        if name == "front":
            square(self.goal, (0, 200, 0))
            square(self.pos, (220, 30, 30))
        elif name == "side":
            square(np.array([self.goal[0], 0.9]), (0, 200, 0))
            square(np.array([self.pos[0], 2.0 * self.grip - 1.0]), (220, 30, 30))
        else:
            square(np.clip(self.goal - self.pos, -1.0, 1.0), (0, 200, 0))
            square(np.zeros(2), (220, 30 + int(200 * self.grip), 30))
        return img


class FakeReachAbsEnv(FakeReachEnv):
    """Point-mass reach with absolute position targets (like SO-101 joint targets)."""

    action_mode = "absolute"

    def __init__(self, config: FakeReachConfig, task_name: str = "fake/reach-abs"):
        super().__init__(config, task_name)
        self.last_command = np.zeros(3, dtype=np.float32)

    def _reset_sim(self, seed: int) -> None:
        super()._reset_sim(seed)
        self.last_command = np.array([*self.pos, -1.0], dtype=np.float32)

    def _move(self, action: np.ndarray) -> None:
        delta = np.asarray(action[:2], dtype=np.float64) - self.pos
        norm = float(np.linalg.norm(delta))
        if norm > STEP:
            delta *= STEP / norm
        self.pos = np.clip(self.pos + delta, -1.0, 1.0)
        self.last_command = np.asarray(action, dtype=np.float32).copy()

    def hold_action(self) -> np.ndarray:
        return np.array([self.pos[0], self.pos[1], self.last_command[2]], dtype=np.float32)


class FakeReachExpert(Expert):
    """Straight-line reach then close; ``failure=True`` heads for a wrong goal, never closes."""

    def __init__(self, failure: bool = False):
        self.failure = failure

    def reset(self, env: Any, obs: Any, info: dict[str, Any]) -> None:
        base = env.unwrapped
        self.target = -base.goal if self.failure else base.goal.copy()

    def act(self, env: Any, obs: Any, info: dict[str, Any]) -> np.ndarray:
        base = env.unwrapped
        delta = self.target - base.pos
        near = np.linalg.norm(delta) < GOAL_RADIUS
        grip = 1.0 if (near and not self.failure) else -1.0
        if base.action_mode == "absolute":
            # Interpolated waypoints, like a real joint-space expert: the next target is one step
            # along the line, so replaying earlier targets moves the point back.
            step = delta if np.linalg.norm(delta) <= STEP else delta * STEP / np.linalg.norm(delta)
            return np.array([*(base.pos + step), grip], dtype=np.float32)
        return np.array([*np.clip(delta / STEP, -1.0, 1.0), grip], dtype=np.float32)

    def subtask_names(self) -> tuple[str, ...]:
        return ("reach", "close")


def make_fake_reach(config: FakeReachConfig) -> FakeReachEnv:
    return FakeReachEnv(config)


def make_fake_reach_abs(config: FakeReachConfig) -> FakeReachAbsEnv:
    return FakeReachAbsEnv(config)


SPECS = (
    TaskSpec(
        name="fake/reach",
        factory=make_fake_reach,
        default_config=FakeReachConfig,
        instruction=INSTRUCTION,
        shifts=("distractor",),
        expert=FakeReachExpert,
    ),
    TaskSpec(
        name="fake/reach-abs",
        factory=make_fake_reach_abs,
        default_config=FakeReachConfig,
        instruction=INSTRUCTION,
        shifts=("distractor",),
        expert=FakeReachExpert,
    ),
)


def register_fake_tasks() -> None:
    """Register ``fake/reach`` and ``fake/reach-abs`` (idempotent)."""
    for spec in SPECS:
        sims.register(spec)
