"""Toy env and probe for robo.tpo tests (imported by the tests; conftest puts this dir on the path)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from toy_token_policy import toy_obs


class ChoiceEnv(gym.Env):
    """A ``steps``-step episode from a fixed state; success iff the action's first dimension
    is > 0 at every step. ``hits_wall``: actions with a[1] > 0 count one collision contact."""

    def __init__(
        self, task: str = "toy/choice", steps: int = 1, action_dim: int = 2, images: bool = False
    ):
        self.task_name, self.steps, self.images = task, steps, images
        self.action_space = spaces.Box(-1.0, 1.0, (action_dim,), np.float32)
        self.control_dt = 0.1
        self.t, self.ok, self.last = 0, True, np.zeros(action_dim, np.float32)

    def reset(self, *, seed: int | None = None, options: Any = None):
        self.t, self.ok = 0, True
        return self._obs(), {"success": False, "progress_gt": 0.0}

    def _obs(self) -> dict:
        obs = toy_obs([0.5, -0.5])
        if self.images:  # a 32 px "front" view whose brightness grows with the step
            obs["images"] = {"front": np.full((32, 32, 3), 40 * self.t, np.uint8)}
        return obs

    def step(self, action):
        self.last = np.asarray(action, np.float32)
        self.ok &= bool(self.last[0] > 0)
        self.t += 1
        done = self.t >= self.steps
        success = done and self.ok
        info = {"success": success, "progress_gt": float(success)}
        return self._obs(), float(success), success, done and not success, info

    def hold_action(self) -> np.ndarray:
        return np.zeros(self.action_space.shape, np.float32)


def wall_probe(env: Any) -> tuple[np.ndarray, int]:
    u = env.unwrapped
    return np.array([u.t * 0.1, 0.0, 0.0], np.float32), int(u.last[1] > 0)
