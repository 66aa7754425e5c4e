"""Batched shaping state machine shared by the gymnasium wrapper and vector-env adapters.

:class:`RewardShaper` keeps Φ(s) of the current state of each of B environments, computes the
reward of a batch of transitions in one Φ call, and accumulates hack indicators per episode.
Library-agnostic: callers pass arrays and observation dicts, whatever their vector-env API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from robo.reward.shaping.errors import ShapingError
from robo.reward.shaping.indicators import EpisodeStats
from robo.reward.shaping.potential import Potential
from robo.reward.shaping.rewards import ShapingConfig, gate_potential, shaped_rewards


class RewardShaper:
    """Shapes rewards of ``num_envs`` parallel environments.

    Call :meth:`reset` with the initial observations of the environments that (re)started,
    then :meth:`step` after every batched env step. For environments whose episode ended,
    ``observations`` passed to :meth:`step` must be the *final* observations (before auto-reset).

    Args:
        config: the reward scheme and its parameters.
        potential: Φ source (required when ``config.uses_potential``).
        num_envs: B.
    """

    def __init__(self, config: ShapingConfig, potential: Potential | None, num_envs: int = 1):
        if config.uses_potential and potential is None:
            raise ShapingError(f"reward={config.scheme} needs a potential (progress=grm or gt)")
        self.config = config
        self.potential = potential if config.uses_potential else None
        self.num_envs = int(num_envs)
        self.phi = np.zeros(self.num_envs)  # calibrated, gated Φ(s) of each env's current state
        self._started = np.zeros(self.num_envs, dtype=bool)
        self._pending_delta = np.zeros(self.num_envs, dtype=bool)
        self._ep = [EpisodeStats() for _ in range(self.num_envs)]
        self._ep_phi_raw = np.zeros(self.num_envs)
        self._ep_progress_gt = np.full(self.num_envs, np.nan)
        self.finished: list[EpisodeStats] = []

    @property
    def needs_images(self) -> bool:
        return bool(self.potential is not None and self.potential.needs_images)

    def _phi(
        self, observations: Sequence[Mapping[str, Any]], infos: Sequence[Mapping[str, Any]]
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.potential is None:
            n = len(infos)
            return np.zeros(n), np.zeros(n)
        est = self.potential.evaluate(observations, infos)
        # Calibrate first (a fixed elementwise map, so still a function of the state), then
        # gate on the model's own uncertainty (gate_threshold is in the model's units).
        phi = self.config.calibration.apply(est.phi)
        return gate_potential(phi, est.uncertainty, self.config), phi

    def reset(
        self,
        env_ids: Sequence[int],
        observations: Sequence[Mapping[str, Any]],
        infos: Sequence[Mapping[str, Any]],
    ) -> None:
        """Start new episodes in ``env_ids`` from their initial observations and infos."""
        ids = np.asarray(env_ids, dtype=int)
        if len(ids) == 0:
            return
        gated, raw = self._phi(observations, infos)
        self.phi[ids] = gated
        self._ep_phi_raw[ids] = raw
        self._ep_progress_gt[ids] = [float(i.get("progress_gt", np.nan)) for i in infos]
        self._started[ids] = True
        self._pending_delta[ids] = False
        for i in ids:
            self._ep[i] = EpisodeStats()

    def step(
        self,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        observations: Sequence[Mapping[str, Any]],
        infos: Sequence[Mapping[str, Any]],
    ) -> tuple[np.ndarray, np.ndarray, list[dict[str, float]]]:
        """Shape one batched step.

        Args:
            rewards: float[B] environment rewards; terminated / truncated: bool[B].
            observations: B observations of s' (final observations where the episode ended).
            infos: B step infos.

        Returns:
            ``(shaped float64[B], delta_correction float64[B], diagnostics)``:
            ``delta_correction[i]`` is to be added to env i's *previous* stored reward (only
            non-zero for ``delta``); ``diagnostics[i]`` has ``phi``, ``phi_next``, ``shaped``,
            ``true``. Episodes that ended are appended to :attr:`finished`.
        """
        if not self._started.all():
            raise ShapingError("RewardShaper.step before reset of every env (call reset first)")
        cfg = self.config
        r = np.asarray(rewards, dtype=np.float64).reshape(self.num_envs)
        term = np.asarray(terminated, dtype=bool).reshape(self.num_envs)
        trunc = np.asarray(truncated, dtype=bool).reshape(self.num_envs)
        phi_next, raw_next = self._phi(observations, infos)
        env_reward = None
        if cfg.scheme == "oracle":
            env_reward = np.array([float(i.get("env_reward", np.nan)) for i in infos])
        shaped = shaped_rewards(cfg, r, term, self.phi, phi_next, env_reward)
        correction = np.zeros(self.num_envs)
        if cfg.scheme == "delta":
            correction = np.where(self._pending_delta, -cfg.scale * phi_next, 0.0)
            self._pending_delta = ~(term | trunc)
        diagnostics = []
        for i, info in enumerate(infos):
            ep = self._ep[i]
            # Indicators describe the state the agent was in when it acted (s_t).
            if ep.success_step is None:
                if self.potential is not None and self._ep_phi_raw[i] > cfg.hover_threshold:
                    ep.hover_steps += 1
                if self._ep_progress_gt[i] > cfg.hover_threshold:
                    ep.hover_steps_gt += 1
            ep.steps += 1
            ep.shaped_return += float(shaped[i]) + float(correction[i])
            ep.true_return += float(r[i])
            if info.get("success", False) and ep.success_step is None:
                ep.success_step = ep.steps
            diagnostics.append(
                {
                    "phi": float(self.phi[i]),
                    "phi_next": float(phi_next[i]),
                    "shaped": float(shaped[i]),
                    "true": float(r[i]),
                }
            )
        self.phi = np.where(term, 0.0, phi_next)
        self._ep_phi_raw = raw_next
        self._ep_progress_gt = np.array([float(i.get("progress_gt", np.nan)) for i in infos])
        for i in np.flatnonzero(term | trunc):
            self.finished.append(self._ep[i])
            self._ep[i] = EpisodeStats()
            self._started[i] = False
        return shaped, correction, diagnostics

    def drain(self) -> list[EpisodeStats]:
        """Finished episodes since the last call (and forget them)."""
        out, self.finished = self.finished, []
        return out
