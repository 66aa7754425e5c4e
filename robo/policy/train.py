"""Behaviour cloning of a :class:`DiffusionPolicy` on recorded episodes (DDPM loss, EMA).

Reads top to bottom: windows from episodes -> normaliser fit -> AdamW + cosine LR over
``steps`` minibatches with random-shift image augmentation -> EMA weights are the result.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from robo.policy.diffusion import DiffusionConfig, DiffusionPolicy
from robo.policy.nets import hash_tokens
from robo.policy.windows import episode_windows
from robo.types import Episode


@dataclass
class TrainConfig:
    """steps: optimiser steps. batch_size: windows per step. lr: peak AdamW rate.
    ema: EMA decay of the weights kept. shift_px: random-shift augmentation [px].
    seed: RNG seed. log_every: steps between log lines."""

    steps: int = 3000
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 1e-6
    ema: float = 0.995
    shift_px: int = 4
    seed: int = 0
    log_every: int = 250


class ChunkWindows:
    """Every step of every episode as (images, state, action chunk) tensors.

    images: uint8[N, V, 3, S, S] (resized once; None for a state-only policy), state: float32[N, D], actions: float32[N, H, A]
    (chunks running past the end repeat the last action), tokens: long[N, L] or None.
    """

    def __init__(self, episodes: Sequence[Episode], policy: DiffusionPolicy):
        cfg = policy.config
        if not episodes:
            raise ValueError("no episodes to train on (hint: `robo collect` writes a dataset)")
        imgs, states, chunks, toks = [], [], [], []
        for ep in episodes:
            t_len = len(ep)
            views, state, chunk = episode_windows(ep, cfg.cameras, cfg.horizon, policy.prepare)
            if views is not None:
                imgs.append(views)
            chunks.append(chunk)
            states.append(state)
            if cfg.instruction_buckets:
                ids = hash_tokens(ep.instruction, cfg.instruction_buckets)
                toks.append(torch.tensor([ids] * t_len))
        self.images = torch.cat(imgs) if imgs else None
        self.state = torch.cat(states)
        self.actions = torch.cat(chunks)
        self.tokens = torch.cat(toks) if toks else None
        if self.state.shape[1] != cfg.state_dim or self.actions.shape[2] != cfg.action_dim:
            raise ValueError(
                f"data has state_dim={self.state.shape[1]}, action_dim={self.actions.shape[2]}; "
                f"policy expects {cfg.state_dim}, {cfg.action_dim}"
            )

    def __len__(self) -> int:
        return int(self.state.shape[0])

    def batch(
        self, idx: torch.Tensor, shift_px: int, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        out = {"state": self.state[idx], "actions": self.actions[idx]}
        if self.images is not None:
            imgs = self.images[idx].float()
            out["images"] = random_shift(imgs, shift_px, generator) if shift_px > 0 else imgs
        if self.tokens is not None:
            out["tokens"] = self.tokens[idx]
        return out


def random_shift(images: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Shift float[B, V, 3, S, S] images by up to ``pad`` px (replicate padding), per sample."""
    b, v, c, s, _ = images.shape
    x = F.pad(images.view(b * v, c, s, s), (pad,) * 4, mode="replicate")
    ox = torch.randint(0, 2 * pad + 1, (b * v,), generator=generator)
    oy = torch.randint(0, 2 * pad + 1, (b * v,), generator=generator)
    ar = torch.arange(s)
    rows = (oy[:, None] + ar[None]).view(b * v, 1, s, 1).expand(-1, c, s, s + 2 * pad)
    x = x.gather(2, rows)
    cols = (ox[:, None] + ar[None]).view(b * v, 1, 1, s).expand(-1, c, s, s)
    return x.gather(3, cols).view(b, v, c, s, s)


def train_diffusion(
    episodes: Sequence[Episode],
    policy_config: DiffusionConfig,
    train: TrainConfig | None = None,
    log: Callable[[str], None] = print,
    device: str | torch.device = "cpu",
) -> tuple[DiffusionPolicy, dict]:
    """Train a diffusion policy by BC; returns the EMA policy (on the CPU, eval mode) and a
    stats dict (``loss_first``, ``loss_last`` (mean of the last 10%), ``steps``, ``seconds``,
    ``windows``).

    ``device``: where the network trains (``"cpu"``, ``"cuda"``, ``"cuda:1"``); the windows stay
    in CPU memory and each minibatch is moved there, the random draws come from a CPU generator
    (so a CPU run is the same whatever the device option's default)."""
    train = train or TrainConfig()
    torch.manual_seed(train.seed)
    policy = DiffusionPolicy(policy_config)
    data = ChunkWindows(episodes, policy)
    policy.normalizer.fit(data.actions.reshape(-1, policy_config.action_dim), data.state)
    policy.to(device)
    ema = copy.deepcopy(policy).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(policy.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    warmup = max(1, min(200, train.steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: (
            min(1.0, (s + 1) / warmup)
            * 0.5
            * (1 + np.cos(np.pi * min(s, train.steps) / train.steps))
        ),
    )
    g = torch.Generator().manual_seed(train.seed)
    losses: list[float] = []
    t0 = time.time()
    policy.train()
    for step in range(train.steps):
        idx = torch.randint(0, len(data), (min(train.batch_size, len(data)),), generator=g)
        batch = {k: v.to(device) for k, v in data.batch(idx, train.shift_px, g).items()}
        loss = policy.loss(batch, generator=g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        sched.step()
        decay = min(train.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), policy.parameters()):
                pe.lerp_(p, 1 - decay)
            for be, b in zip(ema.buffers(), policy.buffers()):
                be.copy_(b)
        losses.append(loss.item())
        if step % train.log_every == 0 or step == train.steps - 1:
            log(
                f"step {step:5d}  loss {np.mean(losses[-train.log_every :]):.4f}  {time.time() - t0:.0f}s"
            )
    tail = max(1, len(losses) // 10)
    stats = {
        "loss_first": float(np.mean(losses[:tail])),
        "loss_last": float(np.mean(losses[-tail:])),
        "steps": train.steps,
        "seconds": time.time() - t0,
        "windows": len(data),
    }
    return ema.cpu(), stats
