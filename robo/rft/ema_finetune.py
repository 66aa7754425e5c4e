"""The shared optimiser loop of the token fine-tunes (filtered BC, DAgger).

A trained copy (the *student*) takes AdamW steps (linear warm-up, cosine to 0, gradient norm
clipped to 1) on a caller's minibatch loss, and after every step the kept policy's weights move
toward the student's by an exponential moving average.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def ema_finetune(
    policy: Any,
    student: Any,
    loss_fn: Callable[[Any, torch.Generator], torch.Tensor],
    *,
    steps: int,
    lr: float,
    warmup: int,
    weight_decay: float,
    ema: float,
    seed: int,
) -> list[float]:
    """Train ``student`` (a trainable copy of ``policy``) for ``steps`` steps on
    ``loss_fn(student, generator)`` (a scalar minibatch loss; the generator, seeded with
    ``seed``, draws the minibatches) and keep ``policy`` (updated in place, left in eval mode)
    as the EMA of the student's weights (decay ``ema``). Returns the per-step losses."""
    opt = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=weight_decay)

    def lr_scale(s: int) -> float:
        warm = min(1.0, (s + 1) / max(1, warmup))
        return warm * 0.5 * (1 + np.cos(np.pi * min(s, steps) / steps))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_scale)
    g = torch.Generator().manual_seed(seed)
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
                pe.lerp_(p, 1 - ema)
        losses.append(loss.item())
    policy.eval()
    return losses
