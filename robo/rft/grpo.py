"""Chunk-level GRPO: group-normalised advantages and the clipped, prefix-masked token loss.

For a group of ``G`` chunks sampled from the same observation with rewards ``r_g``, the
advantage is ``A_g = (r_g − mean(r)) / (std(r) + eps)``. Each chunk's tokens ``i`` carry the
ratio ``ρ_i = exp(log π(tok_i) − log π_old(tok_i))`` and the per-token loss

    ℓ_i = −min(ρ_i A, clip(ρ_i, 1−ε, 1+ε) A) + λ_KL · k3_i,
    k3_i = exp(log π_ref − log π) − (log π_ref − log π) − 1   (≥ 0, zero when π = π_ref),

averaged over the tokens of the **executed prefix** only (``prefix_mask``): tokens the robot
never executes get exactly zero gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def group_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Group-normalised advantages of float[..., G] rewards (last axis = group) -> same shape.

    A group with equal rewards gets zero advantages (no signal), not NaNs.
    """
    if rewards.shape[-1] < 2:
        raise ValueError(f"a GRPO group needs >= 2 samples, got {rewards.shape[-1]}")
    mean = rewards.mean(-1, keepdim=True)
    std = rewards.std(-1, keepdim=True, unbiased=False)
    return (rewards - mean) / (std + eps)


def is_flat(rewards: torch.Tensor, tol: float = 1e-6) -> bool:
    """True when a group float[G] has (numerically) equal rewards: its advantages would all be
    0, so its rows carry no policy-gradient signal (only KL) and are better left out."""
    return bool(rewards.float().std(unbiased=False) <= tol)


@dataclass
class GRPOStats:
    """Diagnostics of one loss evaluation (all over masked tokens): policy-gradient loss, k3 KL
    to the reference, fraction of clipped ratios, mean ratio, entropy estimate −E[log π]."""

    loss: float
    pg_loss: float
    kl: float
    clip_frac: float
    ratio: float
    entropy: float


def grpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    ref_logp: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip: float = 0.2,
    kl_coef: float = 0.05,
) -> tuple[torch.Tensor, GRPOStats]:
    """Clipped GRPO loss over masked tokens.

    Args:
        logp: float[n, L] per-token log-probs under the current policy (differentiable).
        old_logp: float[n, L] under the sampling policy (no grad).
        ref_logp: float[n, L] under the frozen reference, or ``None`` for no KL term.
        advantages: float[n], one per chunk.
        mask: bool[L] or bool[n, L], the executed-prefix tokens.
        clip: ε of the ratio clip. kl_coef: λ_KL.
    Returns:
        (scalar loss, :class:`GRPOStats`).
    """
    if logp.shape != old_logp.shape:
        raise ValueError(f"logp {tuple(logp.shape)} vs old_logp {tuple(old_logp.shape)}")
    m = mask.to(logp.device).bool().expand_as(logp)
    if not m.any():
        raise ValueError("prefix mask selects no token (hint: executed must be >= 1)")
    adv = advantages.to(logp.device).float()[:, None]
    ratio = torch.exp(logp - old_logp.detach())
    clipped = ratio.clamp(1.0 - clip, 1.0 + clip)
    pg = -torch.minimum(ratio * adv, clipped * adv)
    per_token = pg
    kl = torch.zeros_like(logp)
    if ref_logp is not None and kl_coef > 0:
        diff = ref_logp.detach() - logp
        kl = torch.exp(diff) - diff - 1.0
        per_token = per_token + kl_coef * kl
    zero = torch.zeros((), device=logp.device)
    count = m.sum()
    loss = torch.where(m, per_token, zero).sum() / count
    with torch.no_grad():

        def mmean(x: torch.Tensor) -> float:
            return float(torch.where(m, x, zero).sum() / count)

        stats = GRPOStats(
            loss=float(loss),
            pg_loss=mmean(pg),
            kl=mmean(kl),
            clip_frac=mmean(((ratio - clipped).abs() > 1e-8).float()),
            ratio=mmean(ratio),
            entropy=mmean(-logp),
        )
    return loss, stats
