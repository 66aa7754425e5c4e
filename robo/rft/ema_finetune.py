"""The shared optimiser loop of the token fine-tunes (filtered BC, DAgger).

A trained copy (the *student*) takes AdamW steps (linear warm-up, cosine to 0, gradient norm
clipped to 1) on a caller's minibatch loss, and after every step the kept policy's weights move
toward the student's by an exponential moving average.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch


@dataclass
class TokenFinetuneConfig:
    """steps: optimiser steps. batch_size: rows per step. lr: peak AdamW rate (linear warm-up
    over ``warmup`` steps, then cosine to 0). weight_decay: AdamW decay. ema: EMA decay of the
    kept weights (the policy is updated in place with the EMA of a trained copy).
    demo_fraction: share of every minibatch drawn from the demos (the rest from the new
    samples). seed: minibatch RNG seed."""

    steps: int = 500
    batch_size: int = 64
    lr: float = 3e-4
    warmup: int = 50
    weight_decay: float = 1e-4
    ema: float = 0.995
    demo_fraction: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.demo_fraction <= 1.0:
            raise ValueError(f"demo_fraction={self.demo_fraction} must be in [0, 1]")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps={self.steps}, batch_size={self.batch_size} must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def mix(self, has_demos: bool, has_new: bool) -> float:
        """The demo share actually used: ``demo_fraction`` when both sources have rows, else
        all from whichever has them."""
        return self.demo_fraction if (has_demos and has_new) else (1.0 if has_demos else 0.0)


def ema_finetune(
    policy: Any,
    student: Any,
    loss_fn: Callable[[Any, torch.Generator], torch.Tensor],
    config: TokenFinetuneConfig,
) -> dict[str, float]:
    """Train ``student`` (a trainable copy of ``policy``) for ``config.steps`` steps on
    ``loss_fn(student, generator)`` (a scalar minibatch loss; the generator, seeded with
    ``config.seed``, draws the minibatches) and keep ``policy`` (updated in place, left in
    eval mode) as the EMA of the student's weights (decay ``config.ema``).

    Returns ``{"nll_first", "nll_last", "seconds"}``: mean loss of the first / last 10% of
    steps and the wall time [s].
    """
    t0 = time.time()
    steps, warmup = config.steps, config.warmup
    opt = torch.optim.AdamW(student.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    def lr_scale(s: int) -> float:
        warm = min(1.0, (s + 1) / max(1, warmup))
        return warm * 0.5 * (1 + np.cos(np.pi * min(s, steps) / steps))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_scale)
    g = torch.Generator().manual_seed(config.seed)
    losses: list[float] = []
    for _ in range(steps):
        loss = loss_fn(student, g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        sched.step()
        with torch.no_grad():
            for pe, p in zip(policy.parameters(), student.parameters()):
                pe.lerp_(p, 1 - config.ema)
        losses.append(loss.item())
    policy.eval()
    tail = max(1, len(losses) // 10)
    return {
        "nll_first": float(np.mean(losses[:tail])),
        "nll_last": float(np.mean(losses[-tail:])),
        "seconds": time.time() - t0,
    }
