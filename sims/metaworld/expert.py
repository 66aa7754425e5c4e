"""Meta-World's scripted policies (``metaworld.policies``) as robo experts.

The policies read Meta-World's full 39-D observation (privileged: object poses and the goal),
which :class:`MetaWorldExpert` takes from ``env.unwrapped.raw_observation``; they act only
through the task's 4-D action space. Under ``shift="obstacle"`` the expert climbs over the
cube when its next moves would run into it (the policies move in straight lines).

``failure=True`` makes an on-purpose failure of one of two modes:

* ``"miss"``: the policy is fed object and goal positions shifted by ``failure_offset`` [m] in a
  horizontal direction drawn from the episode seed, so it reaches for, pushes or places at the
  wrong spot.
* ``"abandon"``: the policy runs normally until ``progress_gt`` passes a threshold drawn from
  the seed in [0.2, 0.6], then opens the gripper (dropping a carried object) and retreats to
  10 cm above its start position.

``failure_mode="auto"`` (default) is "miss". For ten tasks with large targets (doors, drawers,
buttons, handles, the plate) a random horizontal shift can still solve the task, so "miss" aims
above the target or along a fixed axis there (``_MISS_DIRECTION``). "abandon" fails less
reliably (momentum or an early success step finishes some tasks) but its failures carry partial
progress. Rates per task: ``bench/bench_experts_metaworld.py``.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
from metaworld.policies import ENV_POLICY_MAP

from robo.types import Observation
from sims.experts.base import Expert
from sims.metaworld.progress import SUBTASK_NAMES
from sims.metaworld.tasks import TASKS

_OBJECT_SLICES = (slice(4, 7), slice(11, 14), slice(36, 39))  # object 1, object 2, goal
FailureMode = Literal["auto", "miss", "abandon"]
# Where "miss" aims for tasks whose large targets a random horizontal shift can still hit:
# "above" = 15 cm up, "far" = twice as far, "x"/"y" = 1.5x as far along one axis.
_MISS_DIRECTION: dict[str, str] = {
    "button-press": "x",
    "button-press-topdown-wall": "above",
    "coffee-button": "above",
    "door-close": "above",
    "door-unlock": "above",
    "drawer-close": "above",
    "handle-press": "far",
    "handle-press-side": "y",
    "handle-pull": "above",
    "plate-slide": "above",
}


class MetaWorldExpert(Expert):
    """Meta-World's hand-written policy for one task.

    Args:
        task: robo task name without family (``"pick-place"``) or ``"metaworld/pick-place"``.
        failure: produce an on-purpose failure (see module docstring).
        failure_mode: ``"auto"``, ``"miss"`` or ``"abandon"`` (see module docstring).
        failure_offset: ``"miss"``: how far perceived object/goal positions are shifted [m].
        avoid_obstacle: under ``shift="obstacle"``, climb over the obstacle when the next
            moves would run into it (Meta-World's policies move in straight lines).
    """

    def __init__(
        self,
        task: str,
        failure: bool = False,
        failure_mode: FailureMode = "auto",
        failure_offset: float = 0.12,
        avoid_obstacle: bool = True,
    ):
        task = task.removeprefix("metaworld/")
        if task not in TASKS:
            raise KeyError(f"no Meta-World expert for {task!r}; tasks: see sims.metaworld.TASKS")
        self.task = task
        self.failure = failure
        if failure_mode not in ("auto", "miss", "abandon"):
            raise ValueError(f"failure_mode={failure_mode!r}; use 'auto', 'miss' or 'abandon'")
        if failure_mode == "auto":
            failure_mode = "miss"
        self.failure_mode: FailureMode = failure_mode
        self.failure_offset = failure_offset
        self.avoid_obstacle = avoid_obstacle
        self._policy = ENV_POLICY_MAP[TASKS[task].env_id]()
        self._offset = np.zeros(3)
        self._abandon_at = 1.0
        self._abandoned = False
        self._retreat = np.zeros(3)

    def reset(self, env: Any, obs: Observation, info: dict[str, Any]) -> None:
        rng = np.random.default_rng([int(info.get("seed", 0)), 7])
        angle = rng.uniform(0.0, 2.0 * np.pi)
        self._offset = _miss_offset(self.task, self.failure_offset, angle)
        self._abandon_at = rng.uniform(0.2, 0.6)
        self._abandoned = False
        self._retreat = env.unwrapped.raw_observation[:3] + np.array([0.0, 0.0, 0.1])

    def act(self, env: Any, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        raw = env.unwrapped.raw_observation
        if self.failure and self.failure_mode == "abandon":
            self._abandoned |= float(info.get("progress_gt", 0.0)) >= self._abandon_at
            if self._abandoned:
                delta = np.clip(10.0 * (self._retreat - raw[:3]), -1.0, 1.0)
                return np.append(delta, -1.0).astype(np.float32)
        if self.failure and self.failure_mode == "miss":
            for part in _OBJECT_SLICES:
                if np.any(raw[part] != 0.0):  # absent second objects are all zeros
                    raw[part] += self._offset
        with warnings.catch_warnings():
            # metaworld's move() warns whenever a gain saturates the action, i.e. most steps.
            warnings.simplefilter("ignore", UserWarning)
            action = self._policy.get_action(raw)
        action = np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0)
        obstacle = env.unwrapped.obstacle_position
        if obstacle is not None and self.avoid_obstacle:
            action = _climb_over(action, env.unwrapped.raw_env.tcp_center, obstacle, env)
        return action

    def subtask_names(self) -> tuple[str, ...]:
        return SUBTASK_NAMES[TASKS[self.task].kind]


def _climb_over(action: np.ndarray, tcp: np.ndarray, obstacle: np.ndarray, env: Any) -> np.ndarray:
    """Turn ``action`` into a climb while its next few steps would enter the obstacle's column
    below its top plus a clearance (a reactive detour over the cube)."""
    half = float(env.unwrapped.config.obstacle_half_size)
    footprint = half + 0.05  # gripper pads reach ~4.5 cm sideways from the TCP [m]
    clearance = obstacle[2] + half + 0.05
    ahead = tcp[:2] + 0.04 * action[:2]  # ~4 control steps at 1 cm per unit action
    entering = np.max(np.abs(ahead - obstacle[:2])) < footprint
    if not entering or tcp[2] >= clearance:
        return action
    out = action.copy()
    if np.max(np.abs(tcp[:2] - obstacle[:2])) >= footprint:
        out[:2] = 0.0  # beside the cube: stop and climb before moving on
    out[2] = 1.0
    return out


def _miss_offset(task: str, offset: float, angle: float) -> np.ndarray:
    """Shift [m] added to the perceived object/goal positions in the "miss" failure mode."""
    direction = _MISS_DIRECTION.get(task, "random")
    sign = 1.0 if np.cos(angle) >= 0 else -1.0
    if direction == "above":
        return np.array([0.0, 0.0, 0.15])
    if direction == "x":
        return np.array([1.5 * sign * offset, 0.0, 0.0])
    if direction == "y":
        return np.array([0.0, 1.5 * sign * offset, 0.0])
    scale = 2.0 * offset if direction == "far" else offset
    return scale * np.array([np.cos(angle), np.sin(angle), 0.0])
