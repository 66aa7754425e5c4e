"""One GRPO trainer for offline (demo observations) and online (sim rollouts) fine-tuning.

Both modes produce the same rows — (observation, sampled tokens int64[L], advantage) — and
:meth:`GRPOTrainer.update` runs clipped, prefix-masked PPO epochs over them with a k3 KL to a
frozen copy of the starting policy. Offline rows come from :meth:`GRPOTrainer.offline_rows`
(a group of chunks per demo observation, scored by QACR/CTAR/FCR against the demo chunk);
online rows from :func:`robo.rft.online.online_rows`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from robo.policy.token_base import TokenChunkPolicy
from robo.rft.grpo import GRPOStats, group_advantages, grpo_loss, is_flat
from robo.rft.rewards import RewardWeights, gripper_spec, offline_rewards
from robo.types import Observation


@dataclass
class RFTConfig:
    """group_size: chunks sampled per observation (G). obs_per_step: observations per update.
    epochs: PPO epochs per update. minibatch: rows per gradient step. lr: Adam rate.
    clip: ratio clip ε. kl_coef: λ of the k3 KL to the reference policy. temperature:
    sampling temperature. max_grad_norm: gradient clip. alpha, beta: CTAR's α [1/action unit]
    and β. score_prefix: score QACR/CTAR on the executed prefix only (what the robot does).
    bc_coef: weight of a demo log-likelihood anchor (0 = pure RL), used for replayed old tasks
    in continual learning. drop_flat_groups: leave out groups whose rewards are all equal
    (zero advantages: no policy-gradient signal, they only dilute the update and cost compute).
    positive_only: clamp advantages at 0 (only better-than-group-mean samples are reinforced,
    nothing is pushed down; pushing down sampled tokens of a peaked policy raised its entropy
    in bench_rft)."""

    group_size: int = 8
    obs_per_step: int = 32
    epochs: int = 2
    minibatch: int = 128
    lr: float = 3e-4
    clip: float = 0.2
    kl_coef: float = 0.02
    temperature: float = 1.0
    max_grad_norm: float = 1.0
    alpha: float = 5.0
    beta: float = 0.7
    score_prefix: bool = True
    bc_coef: float = 0.0
    drop_flat_groups: bool = True
    positive_only: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DemoSample:
    """One demo observation and the demo's chunk from it: float32[H, A] (action units)."""

    obs: Observation
    chunk: torch.Tensor
    task: str


@dataclass
class Rows:
    """Training rows: ``obs`` (n observations), ``tokens`` int64[n, L], ``advantages`` float[n]."""

    obs: list[Observation]
    tokens: torch.Tensor
    advantages: torch.Tensor

    def __len__(self) -> int:
        return len(self.obs)


def make_rows(
    obs: list[Observation], tokens: list[torch.Tensor], advantages: list[torch.Tensor], length: int
) -> Rows:
    """:class:`Rows` from per-group pieces (int64[g, L] tokens, float[g] advantages); an empty
    list gives empty rows (every group was flat)."""
    if not tokens:
        return Rows([], torch.zeros(0, length, dtype=torch.int64), torch.zeros(0))
    return Rows(obs, torch.cat(tokens), torch.cat(advantages).float())


class GRPOTrainer:
    """Chunk-level GRPO on a :class:`TokenChunkPolicy` (updated in place).

    Args:
        policy: the policy to fine-tune.
        config: :class:`RFTConfig`.
        weights: :class:`RewardWeights` for the offline terms.
        reference: frozen reference for the KL term (default: a copy of ``policy`` now).
    """

    def __init__(
        self,
        policy: TokenChunkPolicy,
        config: RFTConfig,
        weights: RewardWeights | None = None,
        reference: TokenChunkPolicy | None = None,
    ):
        if not isinstance(policy, TokenChunkPolicy):
            raise TypeError(
                f"{type(policy).__name__} is not a TokenChunkPolicy (hint: RFT needs exact token "
                "log-probs, e.g. policy=vla)"
            )
        self.policy, self.config = policy, config
        self.weights = weights or RewardWeights()
        self.reference = reference if reference is not None else copy.deepcopy(policy)
        self.reference.eval()
        for p in self.reference.parameters():
            p.requires_grad_(False)
        for p in policy.parameters():  # e.g. an EMA copy from imitation training is frozen
            p.requires_grad_(True)
        self.opt = torch.optim.Adam(policy.parameters(), lr=config.lr)
        self.mask = policy.tokenizer.prefix_mask(policy.executed)
        self.step_count = 0

    @torch.no_grad()
    def sample_group(
        self, obs: Observation, n: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``n`` (default G) samples for ``obs``: tokens int64[n, L], chunks float32[n, H, A],
        valid bool[n]."""
        n = n or self.config.group_size
        self.policy.eval()
        tokens = self.policy.sample_tokens(obs, n=n, temperature=self.config.temperature).cpu()
        chunks, valid = self.policy.tokenizer.decode(tokens)
        return tokens, chunks.cpu(), valid.cpu()

    @torch.no_grad()
    def sample_each(
        self, obs: Sequence[Observation]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One sample per observation (lockstep rollouts): tokens int64[n, L], chunks
        float32[n, H, A], valid bool[n]; batched when the policy has ``sample_tokens_many``."""
        self.policy.eval()
        temp = self.config.temperature
        if hasattr(self.policy, "sample_tokens_many"):
            tokens = self.policy.sample_tokens_many(list(obs), temperature=temp).cpu()
        else:
            tokens = torch.cat([self.policy.sample_tokens(o, n=1, temperature=temp) for o in obs])
        chunks, valid = self.policy.tokenizer.decode(tokens.cpu())
        return tokens.cpu(), chunks.cpu(), valid.cpu()

    @torch.no_grad()
    def offline_rows(
        self, samples: Sequence[DemoSample], term_prefix: str = ""
    ) -> tuple[Rows, dict[str, float]]:
        """Sample a group per demo observation, score QACR/CTAR/FCR, normalise per group.

        ``term_prefix="expert_"`` names the QACR/CTAR terms ``expert_qacr``/``expert_ctar``
        (samples are visited states labelled by the scripted expert, :mod:`robo.rft.visited`).
        Returns the rows and the mean of each reward term (and ``reward``) over all samples,
        plus ``flat_groups``: the fraction of groups with equal rewards (left out of the rows
        when ``drop_flat_groups``).
        """
        cfg, tok = self.config, self.policy.tokenizer
        executed = self.policy.executed if cfg.score_prefix else None
        mask = self.mask if cfg.score_prefix else None
        obs_rows, all_tokens, advs = [], [], []
        sums: dict[str, float] = {}
        flat = 0
        for s in samples:
            tokens, chunks, valid = self.sample_group(s.obs)
            demo_tokens = tok.encode(s.chunk[None].to(torch.float32))[0].cpu()
            # QACR counts real tokens only: up to EOS of either sequence (FAST), all for bins
            counted = tok.token_mask(tokens) | tok.token_mask(demo_tokens[None])
            rows_mask = counted if mask is None else counted & mask.to(counted.device)
            parts = offline_rewards(
                tokens,
                chunks,
                valid,
                demo_tokens,
                s.chunk.cpu(),
                gripper_spec(s.task),
                executed,
                rows_mask,
                cfg.alpha,
                cfg.beta,
            )
            parts = {(k if k == "fcr" else term_prefix + k): v for k, v in parts.items()}
            reward = self.weights.combine(parts)
            for k, v in {**parts, "reward": reward}.items():
                sums[k] = sums.get(k, 0.0) + float(v.sum())
            if is_flat(reward):
                flat += 1
                if cfg.drop_flat_groups:
                    continue
            obs_rows += [s.obs] * len(tokens)
            all_tokens.append(tokens)
            advs.append(group_advantages(reward))
        n = len(samples) * cfg.group_size
        means = {k: v / max(n, 1) for k, v in sums.items()}
        means["flat_groups"] = flat / max(len(samples), 1)
        return make_rows(obs_rows, all_tokens, advs, tok.length), means

    def update(self, rows: Rows, anchor: Sequence[DemoSample] = ()) -> dict[str, float]:
        """PPO epochs of the clipped GRPO loss over ``rows``; ``anchor`` demo samples add
        ``bc_coef · NLL(demo tokens)`` on the executed prefix (replay of old tasks).

        Returns the mean :class:`GRPOStats` fields over the gradient steps.
        """
        cfg, policy = self.config, self.policy
        dev = next(policy.parameters()).device
        tokens = rows.tokens.to(dev)
        advantages = rows.advantages.clamp_min(0.0) if cfg.positive_only else rows.advantages
        with torch.no_grad():
            old = _batched(policy, rows.obs, tokens, cfg.minibatch)
            ref = (
                _batched(self.reference, rows.obs, tokens, cfg.minibatch)
                if cfg.kl_coef > 0
                else None
            )
        anchor_tokens = (
            policy.tokenizer.encode(torch.stack([a.chunk for a in anchor]).float()).to(dev)
            if anchor and cfg.bc_coef > 0
            else None
        )
        # eval mode throughout: dropout would make the ratio to the sampling policy noisy
        logs: list[GRPOStats] = []
        bc_losses: list[float] = []
        n = len(rows)
        for _ in range(cfg.epochs):
            perm = torch.randperm(n)
            for start in range(0, n, cfg.minibatch):
                idx = perm[start : start + cfg.minibatch]
                obs = [rows.obs[i] for i in idx.tolist()]
                logp = policy.token_log_probs_batch(obs, tokens[idx])
                # executed prefix, real tokens only (a FAST chunk's padding after EOS carries
                # no probability and must not dilute the per-token mean)
                mask = self.mask.to(dev) & policy.tokenizer.token_mask(tokens[idx])
                loss, stats = grpo_loss(
                    logp,
                    old[idx],
                    None if ref is None else ref[idx],
                    advantages[idx],
                    mask,
                    cfg.clip,
                    cfg.kl_coef,
                )
                if anchor_tokens is not None:
                    j = torch.randint(len(anchor), (min(len(anchor), cfg.minibatch),))
                    a_obs = [anchor[i].obs for i in j.tolist()]
                    a_lp = policy.token_log_probs_batch(a_obs, anchor_tokens[j])
                    m = self.mask.to(dev) & policy.tokenizer.token_mask(anchor_tokens[j])
                    bc = -(a_lp * m).sum() / m.sum().clamp_min(1)
                    loss = loss + cfg.bc_coef * bc
                    bc_losses.append(float(bc))
                self.opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm)
                self.opt.step()
                logs.append(stats)
        policy.eval()
        self.step_count += 1
        out = {k: float(np.mean([getattr(s, k) for s in logs])) for k in asdict(logs[0])}
        if bc_losses:
            out["bc_anchor"] = float(np.mean(bc_losses))
        return out


@torch.no_grad()
def _batched(
    policy: TokenChunkPolicy, obs: list[Observation], tokens: torch.Tensor, size: int
) -> torch.Tensor:
    parts = [
        policy.token_log_probs_batch(obs[i : i + size], tokens[i : i + size])
        for i in range(0, len(obs), size)
    ]
    return torch.cat(parts).detach()


@torch.no_grad()
def expected_offline_reward(
    trainer: GRPOTrainer, samples: Sequence[DemoSample], n: int = 16
) -> float:
    """Mean weighted offline reward of ``n`` fresh samples per demo observation."""
    cfg = trainer.config
    saved = cfg.group_size
    cfg.group_size = n
    try:
        _, means = trainer.offline_rows(samples)
    finally:
        cfg.group_size = saved
    return means["reward"]
