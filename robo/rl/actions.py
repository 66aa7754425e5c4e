"""Bounded joint-delta actions for tasks whose native action is an absolute joint target.

SO-101 tasks take ABSOLUTE joint-position targets [rad] bounded by the joint limits. A SAC
actor squashes its Gaussian into those bounds, so exploration noise is a jump of up to the
whole joint range per control step (±1.9 rad on the shoulder): the 5-demo BC start on
so101/reach (0.5 success) collapsed to 0.0–0.1 within 500 online steps under sparse and
progress_gt rewards alike (`bench/results/rl_mw/pilots_unseen/so101_reach-*`). RL on these
tasks therefore acts through :class:`DeltaJointAction`: the learner's action moves the
commanded target by at most ``max_delta`` per step. It still acts only through the task's own
action space (every step sends an absolute target within the joint limits); the wrapper only
changes how the learner parameterises it, like a rate limiter on a real arm's teleop.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

ACTIONS: tuple[str, ...] = ("native", "delta")
"""``robo rl action=`` choices."""


class DeltaJointAction(gym.Wrapper):
    """Drive an ``action_mode="absolute"`` task with bounded deltas of the commanded target.

    Action float32[d] in [-1, 1]:

    * arm dims: ``target += max_delta * a`` [rad], clipped to the joint limits. The delta is
      taken from the previous *commanded* target (as the scripted experts do), not from the
      measured position, so that a = 0 holds the arm still under gravity;
    * gripper dims (``env.unwrapped.gripper_dims``): absolute, [-1, 1] mapped onto the
      gripper's range.

    The commanded target is hidden state, so :func:`robo.rl.envs.policy_state` appends
    :meth:`command` to the learner's observation. :meth:`to_policy_action` converts an
    absolute target (a scripted expert's action) into this action space, for demos.

    Args:
        env: a robo task env with ``action_mode == "absolute"``.
        max_delta: largest change of one arm joint's target per step [rad].

    Raises:
        ValueError: the task's actions are already deltas, or ``max_delta`` <= 0.
    """

    def __init__(self, env: gym.Env, max_delta: float = 0.15):
        super().__init__(env)
        mode = getattr(env.unwrapped, "action_mode", "delta")
        if mode != "absolute":
            raise ValueError(
                f"action=delta is for absolute joint-target tasks (SO-101); "
                f"{getattr(env.unwrapped, 'task_name', 'this task')} already acts by deltas "
                "(hint: action=native)"
            )
        if not max_delta > 0:
            raise ValueError(f"max_delta={max_delta} must be > 0 [rad]")
        box = env.action_space
        self.low = np.asarray(box.low, dtype=np.float64)
        self.high = np.asarray(box.high, dtype=np.float64)
        self.max_delta = float(max_delta)
        self.grip = np.zeros(self.low.shape, dtype=bool)
        self.grip[list(getattr(env.unwrapped, "gripper_dims", ()))] = True
        self.action_space = spaces.Box(-1.0, 1.0, self.low.shape, dtype=np.float32)
        self._target = (self.low + self.high) / 2

    def _measured(self, obs: dict[str, Any]) -> np.ndarray:
        base = self.env.unwrapped
        if hasattr(base, "joint_positions"):
            return np.asarray(base.joint_positions(), dtype=np.float64)
        return np.asarray(obs["state"][: self.low.size], dtype=np.float64)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._target = np.clip(self._measured(obs), self.low, self.high)
        return obs, info

    def command(self) -> np.ndarray:
        """float32[d] the absolute target [rad] the last step commanded (reset: measured)."""
        return self._target.astype(np.float32)

    def absolute(self, action: np.ndarray) -> np.ndarray:
        """float64[d] absolute target for ``action`` (float[d] in [-1, 1]) from the current one."""
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        target = np.clip(self._target + self.max_delta * a, self.low, self.high)
        target[self.grip] = self.low[self.grip] + (a[self.grip] + 1) / 2 * (
            self.high[self.grip] - self.low[self.grip]
        )
        return target

    def to_policy_action(self, absolute: np.ndarray) -> np.ndarray:
        """float32[d] in [-1, 1]: the action that moves the target towards ``absolute`` [rad]
        (exactly there when no arm joint moves more than ``max_delta``)."""
        absolute = np.asarray(absolute, dtype=np.float64)
        a = np.clip((absolute - self._target) / self.max_delta, -1.0, 1.0)
        span = self.high[self.grip] - self.low[self.grip]
        a[self.grip] = np.clip(2 * (absolute[self.grip] - self.low[self.grip]) / span - 1, -1, 1)
        return a.astype(np.float32)

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        self._target = self.absolute(action)
        return self.env.step(self._target.astype(np.float32))


class DeltaTask:
    """Picklable ``make_task`` that wraps every env it builds in :class:`DeltaJointAction`."""

    def __init__(self, make_task: Any, max_delta: float):
        self.make_task, self.max_delta = make_task, max_delta

    def __call__(self, **overrides: Any) -> gym.Env:
        return DeltaJointAction(self.make_task(**overrides), self.max_delta)
