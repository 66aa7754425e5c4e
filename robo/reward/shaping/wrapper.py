"""Gymnasium wrapper: shaped reward for one :class:`sims.base.TaskEnv` (or any env whose
observations follow the robo contract).

``info["shaping"]`` carries ``phi``, ``phi_next``, ``shaped``, ``true`` and, for ``delta``,
``prev_correction`` (to add to the previous transition's stored reward). On the last step of
an episode, ``info["episode_indicators"]`` holds the episode's hack indicators.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from robo.reward.shaping.potential import Potential
from robo.reward.shaping.rewards import ShapingConfig, check_learner_gamma
from robo.reward.shaping.shaper import RewardShaper


class ShapedReward(gym.Wrapper):
    """Replace the env's reward with ``config.scheme``'s reward.

    Args:
        env: the task env (render=True when the potential reads images).
        config: scheme, γ (the learner's), scale, gating.
        potential: Φ source (:class:`ImageProgress`, :class:`PrivilegedProgress`), if needed.
    """

    def __init__(self, env: gym.Env, config: ShapingConfig, potential: Potential | None = None):
        super().__init__(env)
        self.shaping = config
        self.shaper = RewardShaper(config, potential, num_envs=1)

    @property
    def gamma(self) -> float:
        """The learner γ this wrapper was configured for."""
        return self.shaping.gamma

    def check_learner_gamma(self, learner_gamma: float) -> None:
        """Raise :class:`GammaMismatchError` unless ``learner_gamma`` equals the configured γ."""
        check_learner_gamma(self.shaping, learner_gamma)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self.shaper.reset([0], [obs], [info])
        return obs, info

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        shaped, correction, diag = self.shaper.step(
            np.array([reward]), np.array([terminated]), np.array([truncated]), [obs], [info]
        )
        info = dict(info)
        info["shaping"] = {**diag[0], "prev_correction": float(correction[0])}
        for ep in self.shaper.drain():
            info["episode_indicators"] = ep.to_dict()
        return obs, float(shaped[0]), terminated, truncated, info
