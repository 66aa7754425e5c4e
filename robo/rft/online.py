"""Online rows for the GRPO trainer: rollouts in a simulator, scored by the GRM and success.

Our sims envs expose no snapshot/restore of the full simulator state (Meta-World's own
``set_env_state`` restores qpos/qvel but not the mocap targets nor the episode counters).
``env.reset(seed=s)`` followed by a replay of the recorded actions does restore a mid-episode
state exactly (``bench/results/rft_diag/replay_determinism.log``), but branching G chunks from
such states is not implemented yet. The group is formed one level up instead: ``K`` rollouts start from the same initial state (``env.reset(seed=s)``, the env's own
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

from robo.rft.grpo import group_advantages, is_flat
from robo.rft.rewards import RewardWeights
from robo.rft.trainer import GRPOTrainer, Rows, make_rows
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


@torch.no_grad()
def rollouts_lockstep(
    envs: Sequence[Any],
    trainer: GRPOTrainer,
    seeds: Sequence[int],
    max_chunks: int | None = None,
) -> list[Rollout]:
    """One on-policy episode per seed, ``len(envs)`` at a time in lockstep: every chunk step
    samples one chunk for each running episode in a single batched policy call. Same episodes
    as :func:`rollout` (reset seeds, held still on invalid chunks, success is final), without Φ.
    """
    policy = trainer.policy
    out: list[Rollout] = []
    for start in range(0, len(seeds), len(envs)):
        part = [int(s) for s in seeds[start : start + len(envs)]]
        rolls, obs, live = [], [], []
        for env, s in zip(envs, part):
            o, info = env.reset(seed=s)
            rolls.append(Rollout(success=bool(info.get("success", False))))
            obs.append(o)
            live.append(True)
        while any(live):
            idx = [
                i for i, on in enumerate(live)
                if on and (max_chunks is None or len(rolls[i].tokens) < max_chunks)
            ]  # fmt: skip
            if not idx:
                break
            tokens, chunks, valid = trainer.sample_each([obs[i] for i in idx])
            for j, i in enumerate(idx):
                r, env = rolls[i], envs[i]
                r.obs.append(obs[i])
                r.tokens.append(tokens[j])
                r.valid.append(bool(valid[j]))
                actions = chunks[j, : policy.executed].numpy()
                if not valid[j]:
                    actions = np.stack([hold_action(env, policy.action_dim)] * policy.executed)
                for action in actions:
                    obs[i], _, terminated, truncated, info = env.step(action)
                    r.steps += 1
                    r.success = r.success or bool(info.get("success", False))
                    if bool(terminated or truncated) or r.success:
                        live[i] = False
                        break
            for i in range(len(live)):
                if max_chunks is not None and len(rolls[i].tokens) >= max_chunks:
                    live[i] = False
        out += rolls
    return out


def online_rows(
    env: Any | Sequence[Any],
    trainer: GRPOTrainer,
    seeds: Sequence[int],
    group: int,
    weights: RewardWeights,
    progress: ProgressFn | None = None,
    max_chunks: int | None = None,
) -> tuple[Rows, dict[str, float]]:
    """``group`` rollouts per seed, returns group-normalised per seed; rows = executed chunks.

    Groups whose returns are all equal (e.g. every rollout failed) carry no signal and are left
    out when ``trainer.config.drop_flat_groups``; ``flat_groups`` in the returned means is
    their fraction. ``env`` may be a list of envs of the same task: without a ``progress``
    function the rollouts then run in lockstep (:func:`rollouts_lockstep`), batching the
    policy's sampling; with one they run one at a time in the first env.

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
    obs: list[Observation] = []
    toks: list[torch.Tensor] = []
    advs: list[torch.Tensor] = []
    sums: dict[str, list[float]] = {}
    flat = 0
    env_list = list(env) if isinstance(env, (list, tuple)) else [env]
    by_seed: dict[int, list[Rollout]] = {}
    if progress is None and len(env_list) > 1:
        flat_seeds = [int(s) for s in seeds for _ in range(group)]
        done = rollouts_lockstep(env_list, trainer, flat_seeds, max_chunks)
        for s, r in zip(flat_seeds, done):
            by_seed.setdefault(s, []).append(r)
    for s in seeds:
        rolls = by_seed.get(int(s)) or [
            rollout(env_list[0], trainer, int(s), progress, max_chunks) for _ in range(group)
        ]
        terms = [r.terms() for r in rolls]
        reward = torch.tensor([sum(w * t[k] for k, w in weights.active().items()) for t in terms])
        for t, rew in zip(terms, reward.tolist()):
            for k, v in {**t, "reward": rew}.items():
                sums.setdefault(k, []).append(v)
        if is_flat(reward):
            flat += 1
            if trainer.config.drop_flat_groups:
                continue
        adv = group_advantages(reward)
        for r, a in zip(rolls, adv):
            obs += r.obs
            toks.append(torch.stack(r.tokens))
            advs.append(torch.full((len(r.tokens),), float(a)))
    means = {k: float(np.mean(v)) for k, v in sums.items()}
    means["flat_groups"] = flat / max(len(seeds), 1)
    return make_rows(obs, toks, advs, trainer.policy.tokenizer.length), means


class GRMProgress:
    """:data:`ProgressFn` from a GRM, or the mean of an ensemble's members
    (:class:`robo.reward.ensemble.EnsembleTracker`), conditioned on each episode's instruction.
    The env must render the GRM's cameras (``model.config.views``).

    Args:
        model: one reward model or the members of an ensemble (:func:`load_ensemble`).
    """

    def __init__(self, model: Any):
        from robo.reward.ensemble import as_members

        self.models = as_members(model)
        self.tracker: Any = None
        self.instruction: str | None = None

    def __call__(self, obs: Observation, reset: bool) -> float:
        from robo.reward.ensemble import EnsembleTracker

        if not obs.get("images"):
            raise ValueError(
                "the GRM scores camera images but the observation has none (hint: build the env "
                "with render=True and the GRM's views)"
            )
        if reset:
            if obs["instruction"] != self.instruction:
                self.instruction = obs["instruction"]
                self.tracker = EnsembleTracker(self.models, self.instruction)
            return float(self.tracker.reset(obs["images"])[0])
        if self.tracker is None:
            raise RuntimeError("GRMProgress called before an episode reset")
        return float(self.tracker.step(obs["images"])[0])
