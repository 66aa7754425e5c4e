"""Trajectory DPO: log-probs of whole rollouts and the preference loss.

A trajectory's log-probability under a token policy is the sum of its chunk log-probs, and a
chunk's log-prob is the sum of its token log-probs — over the tokens of the **executed prefix**
only by default (``prefix_only``), since the rest of a chunk never touched the world:

    log π(τ) = Σ_c Σ_{j : mask_c[j]} log π(tok_{c,j} | obs_c, tok_{c,<j})

The loss on a pair (τ_w chosen, τ_l rejected) with a frozen reference π_ref (GRAPE / DPO):

    L = −log σ(β [(log π(τ_w) − log π_ref(τ_w)) − (log π(τ_l) − log π_ref(τ_l))])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from robo.policy.token_base import TokenChunkPolicy
from robo.tpo.rollouts import Trajectory


def chunk_masks(
    policy: TokenChunkPolicy, executed: Sequence[int], prefix_only: bool
) -> torch.Tensor:
    """bool[n, L]: which tokens of each chunk count (executed prefix, or all tokens)."""
    length = int(policy.tokenizer.length)
    if not prefix_only:
        return torch.ones(len(executed), length, dtype=torch.bool)
    cache: dict[int, torch.Tensor] = {}
    rows = []
    for e in executed:
        if e not in cache:
            cache[e] = torch.as_tensor(policy.tokenizer.prefix_mask(int(e)), dtype=torch.bool)
        rows.append(cache[e])
    return torch.stack(rows)


def trajectory_log_probs(
    policy: TokenChunkPolicy,
    trajectories: Sequence[Trajectory],
    prefix_only: bool = True,
    chunk_batch: int = 256,
    length_normalize: bool = False,
) -> torch.Tensor:
    """float32[len(trajectories)]: Σ over chunks of the (masked) token log-probs, or with
    ``length_normalize`` their mean per counted token [nats/token] (sums over hundreds of
    tokens make β·Δ huge and σ saturate; the mean keeps a long and a short trajectory
    comparable).

    All chunks of all trajectories are scored together through
    ``policy.token_log_probs_batch`` in batches of ``chunk_batch`` chunks; differentiable
    w.r.t. the policy's parameters unless called under ``torch.no_grad``.
    """
    obs, toks, owner, executed = [], [], [], []
    for i, traj in enumerate(trajectories):
        for c in traj.chunks:
            obs.append(c.obs)
            toks.append(c.tokens)
            owner.append(i)
            executed.append(c.executed)
    if not obs:
        return torch.zeros(len(trajectories))
    tokens = torch.stack(toks).long()
    mask = chunk_masks(policy, executed, prefix_only)
    mask = mask & policy.tokenizer.token_mask(tokens).to(mask.device)  # no padding (FAST)
    parts = []
    for a in range(0, len(obs), chunk_batch):
        b = a + chunk_batch
        dev_tokens = tokens[a:b]
        lp = policy.token_log_probs_batch(obs[a:b], dev_tokens.to(_device(policy)))
        parts.append((lp * mask[a:b].to(lp.device)).sum(-1))
    per_chunk = torch.cat(parts)
    idx = torch.as_tensor(owner, device=per_chunk.device)
    out = torch.zeros(len(trajectories), device=per_chunk.device, dtype=per_chunk.dtype)
    out = out.index_add(0, idx, per_chunk)
    if length_normalize:
        counts = torch.zeros_like(out).index_add(
            0, idx, mask.sum(-1).to(device=out.device, dtype=out.dtype)
        )
        out = out / counts.clamp_min(1.0)
    return out


def _device(policy: object) -> torch.device:
    params = getattr(policy, "parameters", None)
    if params is None:
        return torch.device("cpu")
    p = next(iter(params()), None)
    return p.device if p is not None else torch.device("cpu")


@dataclass
class DPOStats:
    """Batch statistics: mean loss, accuracy (implicit reward of chosen > rejected), mean
    margin ``β Δ`` (the logit inside the sigmoid) and the mean policy-vs-ref log-ratio of the
    chosen and rejected trajectories [nats]."""

    loss: float
    accuracy: float
    margin: float
    chosen_logratio: float
    rejected_logratio: float


def dpo_loss(
    logp_chosen: torch.Tensor,
    logp_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    beta: float,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, DPOStats]:
    """Trajectory DPO loss, mean over pairs (all inputs float[P] trajectory log-probs).

    ``label_smoothing`` ε (conservative DPO) mixes in the flipped label:
    ``−(1−ε) log σ(z) − ε log σ(−z)``; 0 gives the plain loss.
    """
    if beta <= 0:
        raise ValueError(f"beta={beta} must be > 0 (hint: GRAPE-style runs use 0.01-0.5)")
    chosen = logp_chosen - ref_chosen.detach()
    rejected = logp_rejected - ref_rejected.detach()
    z = beta * (chosen - rejected)
    losses = -(1 - label_smoothing) * F.logsigmoid(z) - label_smoothing * F.logsigmoid(-z)
    loss = losses.mean()
    stats = DPOStats(
        loss=float(loss.detach()),
        accuracy=float((z.detach() > 0).float().mean()),
        margin=float(z.detach().mean()),
        chosen_logratio=float(chosen.detach().mean()),
        rejected_logratio=float(rejected.detach().mean()),
    )
    return loss, stats
