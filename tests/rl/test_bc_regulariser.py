"""The BC regulariser pulls the SAC actor towards demo actions and decays as configured."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import SAC

from robo.rl.callbacks import BCRegulariser

torch.set_num_threads(1)


class _Line(gym.Env):
    """1-D toy: observation in [-1, 1], any action, zero reward, 10-step episodes."""

    observation_space = spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)
    action_space = spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.uniform(-1, 1, 1).astype(np.float32), {}

    def step(self, action):
        self.t += 1
        obs = self.np_random.uniform(-1, 1, 1).astype(np.float32)
        return obs, 0.0, False, self.t >= 10, {}


def test_weight_schedule():
    obs, act = np.zeros((4, 1), np.float32), np.zeros((4, 1), np.float32)
    cb = BCRegulariser(obs, act, weight=2.0, decay_steps=100)
    assert cb.current_weight(0) == 2.0
    assert cb.current_weight(50) == pytest.approx(1.0)
    assert cb.current_weight(100) == 0.0 and cb.current_weight(500) == 0.0
    assert BCRegulariser(obs, act, weight=2.0).current_weight(10**6) == 2.0
    with pytest.raises(ValueError, match="bc_weight"):
        BCRegulariser(obs, act, weight=-1.0)


def _fit_error(bc_weight: float) -> float:
    """Mean |μ(s) − demo(s)| after a short SAC run with zero reward, demo a = −0.8·s."""
    env = _Line()
    model = SAC(
        "MlpPolicy", env, learning_starts=0, batch_size=32, learning_rate=3e-3, seed=0, verbose=0,
        policy_kwargs={"net_arch": [16, 16]},
    )  # fmt: skip
    obs = np.linspace(-1, 1, 64, dtype=np.float32)[:, None]
    act = -0.8 * obs
    cbs = [BCRegulariser(obs, act, weight=bc_weight, seed=0)] if bc_weight else []
    model.learn(300, callback=cbs)
    pred, _ = model.predict(obs, deterministic=True)
    return float(np.abs(pred - act).mean())


def test_regulariser_pulls_actor_to_demos():
    # Without it nothing teaches the actor the demo mapping; with it the actor fits it.
    assert _fit_error(1.0) < 0.15
    assert _fit_error(0.0) > 0.3
