"""Online rows for the GRPO trainer: rollouts in a simulator, scored by the GRM and success.

Our sims envs expose no snapshot/restore of the full simulator state (Meta-World's own
``set_env_state`` restores qpos/qvel but not the mocap targets nor the episode counters), so G
chunks cannot be branched honestly from one mid-episode state. The group is formed one level up
instead: ``K`` rollouts start from the same initial state (``env.reset(seed=s)``, the env's own
API, reproduces it exactly), every chunk is sampled from the policy and its executed prefix is
sent through ``env.step`` (an invalid chunk makes the robot hold still), and each rollout's
return — weighted GRM progress gain over its executed chunks, sparse success, and the fraction
of chunks that decoded (FCR) — is normalised within its group of K. Every executed chunk of a
rollout carries that rollout's advantage (outcome supervision, as GRPO does for LLM responses).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from robo.rft.grpo import group_advantages
from robo.rft.rewards import RewardWeights
from robo.rft.trainer import GRPOTrainer, Rows
from robo.types import Observation

ProgressFn = Callable[[Observation, bool], float]
"""``progress(obs, reset)`` -> Φ in [0, 1] (``reset=True`` on an episode's first observation)."""


class MissingGRMError(ValueError):
    """``rewards.grm > 0`` without a GRM checkpoint."""


@dataclass
class Rollout:
    """One episode: the executed chunks' observations and tokens, and its reward terms."""

    obs: list[Observation] = field(default_factory=list)
    tokens: list[torch.Tensor] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)
    phi: list[float] = field(default_factory=list)
    success: bool = False
    steps: int = 0

    def terms(self) -> dict[str, float]:
        """``grm`` (Φ_end − Φ_start, the summed progress gain over executed chunks), ``success``
        and ``fcr`` (fraction of chunks that decoded)."""
        gain = self.phi[-1] - self.phi[0] if len(self.phi) > 1 else 0.0
        return {
            "grm": float(gain),
            "success": float(self.success),
            "fcr": float(np.mean(self.valid)) if self.valid else 0.0,
        }


def hold_action(env: Any, action_dim: int) -> np.ndarray:
    """The action that keeps the robot still (the env's own ``hold_action`` when it has one)."""
    base = getattr(env, "unwrapped", env)
    if hasattr(base, "hold_action"):
        return np.asarray(base.hold_action(), dtype=np.float32)
    return np.zeros(action_dim, dtype=np.float32)


@torch.no_grad()
def rollout(
    env: Any,
    trainer: GRPOTrainer,
    seed: int,
    progress: ProgressFn | None = None,
    max_chunks: int | None = None,
) -> Rollout:
    """One on-policy episode from ``env.reset(seed=seed)``; Φ is scored after every chunk."""
    policy = trainer.policy
    obs, info = env.reset(seed=seed)
    out = Rollout(success=bool(info.get("success", False)))
    if progress is not None:
        out.phi.append(progress(obs, True))
    done = False
    while not done and (max_chunks is None or len(out.tokens) < max_chunks):
        tokens, chunks, valid = trainer.sample_group(obs, n=1)
        out.obs.append(obs)
        out.tokens.append(tokens[0])
        out.valid.append(bool(valid[0]))
        actions = chunks[0, : policy.executed].numpy()
        if not valid[0]:
            actions = np.stack([hold_action(env, policy.action_dim)] * policy.executed)
        for action in actions:
            obs, _, terminated, truncated, info = env.step(action)
            out.steps += 1
            out.success = out.success or bool(info.get("success", False))
            done = bool(terminated or truncated) or out.success  # success is final
            if done:
                break
        if progress is not None:
            out.phi.append(progress(obs, False))
    return out


def online_rows(
    env: Any,
    trainer: GRPOTrainer,
    seeds: Sequence[int],
    group: int,
    weights: RewardWeights,
    progress: ProgressFn | None = None,
    max_chunks: int | None = None,
) -> tuple[Rows, dict[str, float]]:
    """``group`` rollouts per seed, returns group-normalised per seed; rows = executed chunks.

    Raises:
        MissingGRMError: ``weights.grm > 0`` and no ``progress`` function.
    """
    if weights.grm > 0 and progress is None:
        raise MissingGRMError(
            "rewards.grm > 0 needs a GRM checkpoint (hint: pass grm=<dir from `robo "
            "train-reward`> or set rewards.grm=0)"
        )
    unknown = [k for k in weights.active() if k not in ("grm", "success", "fcr")]
    if unknown:
        raise ValueError(
            f"online mode scores grm/success/fcr; {unknown} need demo chunks (hint: mode=offline "
            "or set those weights to 0)"
        )
    obs, toks, advs = [], [], []
    sums: dict[str, list[float]] = {}
    for s in seeds:
        rolls = [rollout(env, trainer, int(s), progress, max_chunks) for _ in range(group)]
        terms = [r.terms() for r in rolls]
        reward = torch.tensor([sum(w * t[k] for k, w in weights.active().items()) for t in terms])
        adv = group_advantages(reward)
        for r, a in zip(rolls, adv):
            obs += r.obs
            toks += r.tokens
            advs += [float(a)] * len(r.tokens)
        for t, rew in zip(terms, reward.tolist()):
            for k, v in {**t, "reward": rew}.items():
                sums.setdefault(k, []).append(v)
    rows = Rows(obs, torch.stack(toks), torch.tensor(advs, dtype=torch.float32))
    return rows, {k: float(np.mean(v)) for k, v in sums.items()}


class GRMProgress:
    """:data:`ProgressFn` from a GRM (:class:`robo.reward.scoring.ProgressTracker`), conditioned
    on each episode's instruction. The env must render the GRM's cameras (``model.config.views``).
    """

    def __init__(self, model: Any):
        self.model = model
        self.tracker: Any = None
        self.instruction: str | None = None

    def __call__(self, obs: Observation, reset: bool) -> float:
        from robo.reward.scoring import ProgressTracker

        if not obs.get("images"):
            raise ValueError(
                "the GRM scores camera images but the observation has none (hint: build the env "
                "with render=True and the GRM's views)"
            )
        if reset:
            if obs["instruction"] != self.instruction:
                self.instruction = obs["instruction"]
                self.tracker = ProgressTracker(self.model, self.instruction)
            return float(self.tracker.reset(obs["images"])[0])
        if self.tracker is None:
            raise RuntimeError("GRMProgress called before an episode reset")
        return float(self.tracker.step(obs["images"])[0])
