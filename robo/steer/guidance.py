"""Gradient guidance on the Tweedie estimate of the clean chunk, unit-normalised, scheduled.

At DDIM step k the network gives the clean estimate ``x0``; guidance replaces it by

    x0' = clip(x0 - lambda_k * g / ||g||),   g = d cost(to_actions(x0)) / d x0,

(repeated ``inner_steps`` times, each a cost evaluation but no network pass) and the step
continues from ``x0'`` with the noise recomputed to match. ``lambda_k = scale * w_k`` with
``w_k`` from :func:`schedule_weights`; lengths are in normalised action units (L2 over the
whole chunk). Working on ``x0`` rather than on the noisy sample means costs are always
evaluated on a plausible clean chunk and no gradient flows through the network.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from robo.steer.base import Cost, DenoisingProcess, Steer, cost_gradient, evaluate_cost

SCHEDULES = ("constant", "linear_up", "linear_down", "cosine_up")


def schedule_weights(
    kind: str, num_steps: int, start: float = 0.0, stop: float = 1.0
) -> list[float]:
    """Per-step weights w_k, k = 0..K-1 (k = 0 is the noisiest step).

    ``linear_up``/``cosine_up`` grow towards the clean end, ``linear_down`` shrinks; steps
    whose fraction ``k / K`` is outside ``[start, stop)`` get 0.
    """
    if kind not in SCHEDULES:
        raise ValueError(
            f"unknown guidance schedule {kind!r}; choose one of {', '.join(SCHEDULES)}"
        )
    out = []
    for k in range(num_steps):
        frac = k / num_steps
        if kind == "constant":
            w = 1.0
        elif kind == "linear_up":
            w = (k + 1) / num_steps
        elif kind == "linear_down":
            w = 1.0 - k / num_steps
        else:
            w = 0.5 * (1 - math.cos(math.pi * (k + 1) / num_steps))
        out.append(w if start <= frac < stop else 0.0)
    return out


def unit(v: torch.Tensor) -> torch.Tensor:
    """Each row of float[B, ...] divided by its L2 norm (zero rows stay zero)."""
    norm = v.flatten(1).norm(dim=1).clamp_min(1e-12)
    return v / norm.view(-1, *([1] * (v.ndim - 1)))


def guide_x0(
    cost: Cost,
    process: DenoisingProcess,
    x0: torch.Tensor,
    step: float,
    inner_steps: int = 1,
    grad: torch.Tensor | None = None,
) -> torch.Tensor:
    """``inner_steps`` unit-normalised descent steps of length ``step`` on clean chunks x0,
    kept inside the process's clip range (``process.clip``; None = unbounded). ``grad`` is the
    cost gradient at ``x0`` when the caller already has it (saves one cost evaluation)."""
    if step <= 0:
        return x0
    clip = getattr(process, "clip", None)
    for i in range(inner_steps):
        g = grad if (i == 0 and grad is not None) else cost_gradient(cost, process, x0)[1]
        x0 = x0 - step * unit(g)
        if clip is not None:
            x0 = x0.clamp(-clip, clip)
    return x0


def repulsion(x0: torch.Tensor) -> torch.Tensor:
    """Unit-normalised diversity force float[B, H, A] pushing particles apart (RBF kernel,
    median bandwidth, the repulsive term of SVGD). Zero for a single particle."""
    b = x0.shape[0]
    if b < 2:
        return torch.zeros_like(x0)
    flat = x0.flatten(1)
    d2 = torch.cdist(flat, flat).pow(2)
    off = d2.flatten()[1:].view(b - 1, b + 1)[:, :-1]  # off-diagonal, row-major (no mask)
    h = off.median().clamp_min(1e-8) / math.log(b + 1)
    k = torch.exp(-d2 / h)
    force = (k.unsqueeze(-1) * (flat.unsqueeze(1) - flat.unsqueeze(0))).sum(1) * (2 / h)
    return unit(force.view_as(x0))


class GradientGuidance(Steer):
    """Guided DDIM: every sample follows the cost gradient on its Tweedie estimate.

    Args:
        cost: differentiable chunk cost (lower is better).
        scale: guidance step length lambda in normalised action units.
        schedule: one of :data:`SCHEDULES`; ``start``/``stop`` limit it to a fraction of steps.
        inner_steps: descent steps per denoising step (cost evaluations, no extra NFE).
        eta: DDIM stochasticity used while guiding (None = the policy's default).
    """

    def __init__(
        self,
        cost: Cost,
        scale: float = 0.5,
        schedule: str = "constant",
        inner_steps: int = 1,
        start: float = 0.0,
        stop: float = 1.0,
        eta: float | None = None,
    ):
        schedule_weights(schedule, 1)  # validate early
        self.cost, self.scale, self.schedule = cost, float(scale), schedule
        self.inner_steps, self.start, self.stop, self.eta = int(inner_steps), start, stop, eta

    def run(self, process: DenoisingProcess, n: int) -> tuple[torch.Tensor, dict[str, Any]]:
        w = schedule_weights(self.schedule, process.num_steps, self.start, self.stop)
        x = process.init(n)
        first_cost = None
        for k in range(process.num_steps):
            _, x0 = process.denoise(x, k)
            if first_cost is None:
                first_cost = evaluate_cost(self.cost, process, x0)
            x0 = guide_x0(self.cost, process, x0, self.scale * w[k], self.inner_steps)
            with torch.no_grad():
                x = process.step(x, k, x0)
        final = evaluate_cost(self.cost, process, x)
        return x, {"cost_unguided_x0": first_cost.tolist(), "cost": final.tolist()}
