"""A 1-D point env and a scripted "expert" labeler for RFT/DAgger tests with the toy token
policy (:mod:`toy_token_policy`)."""

import gymnasium as gym
import numpy as np


class PointEnv(gym.Env):
    """x in [-1, 1] moves by 0.2·a[0] per step towards a goal g drawn from the seed; success
    when |x − g| < 0.1. State [x, g] (+ ``pad`` zeros); 8 steps. ``holds`` counts
    :meth:`hold_action` calls (the action that keeps the robot still)."""

    task_name = "toy/point"

    def __init__(self, instruction: str = "reach", pad: int = 0):
        self.action_space = gym.spaces.Box(-1, 1, (2,), np.float32)
        self.x = self.g = 0.0
        self.t = 0
        self.holds = 0
        self.instruction, self.pad = instruction, pad

    def _obs(self):
        state = np.array([self.x, self.g] + [0.0] * self.pad, np.float32)
        return {"images": {}, "state": state, "instruction": self.instruction,
                "timestamp": np.zeros(())}  # fmt: skip

    def hold_action(self):
        self.holds += 1
        return np.zeros(2, np.float32)

    def reset(self, seed=None, options=None):
        rng = np.random.default_rng(seed)
        self.x, self.g, self.t = 0.0, float(rng.choice([-0.6, 0.6])), 0
        return self._obs(), {"success": False}

    def step(self, action):
        self.x = float(np.clip(self.x + 0.2 * action[0], -1, 1))
        self.t += 1
        ok = abs(self.x - self.g) < 0.1
        return self._obs(), float(ok), False, self.t >= 8, {"success": ok}


def expert_labeler(env: PointEnv) -> np.ndarray:
    """The expert's chunk from the env's state: full speed towards the goal (reads x, g;
    never steps the env)."""
    a = float(np.sign(env.g - env.x))
    return np.array([[a, 0.0], [a, 0.0]], np.float32)


def obs_at(x: float, g: float) -> dict:
    return {"images": {}, "state": np.array([x, g], np.float32), "instruction": "reach",
            "timestamp": np.zeros(())}  # fmt: skip


def at_state(x: float, g: float) -> PointEnv:
    env = PointEnv()
    env.x, env.g = float(x), float(g)
    return env
