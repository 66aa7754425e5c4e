"""What steering needs from a sampler and what every steering method provides.

A steering method drives a :class:`DenoisingProcess` (``robo.policy.ddim.DDIMProcess``
satisfies it) step by step; it never sees the network's parameters, so the policy stays frozen.
Objectives are *costs* (lower is better): ``cost(actions float[B, H, A], context) -> float[B]``
with actions in the task's action units and ``context`` the process's context (observation,
keypoints). Costs must be differentiable for gradient guidance.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol

import torch

Cost = Callable[[torch.Tensor, dict[str, Any]], torch.Tensor]
"""``cost(actions [B, H, A] action units, context) -> float[B]`` (lower is better)."""


class SumCost:
    """``sum_i cost_i(actions, context)`` -> float[B]: e.g. a DSL program plus a learned
    :class:`robo.steer.critic.CriticCost`. Its gradient goes through autograd (the sum has no
    closed form); setting ``fast`` forwards to every part that has the switch."""

    def __init__(self, *costs: Cost):
        if not costs:
            raise ValueError("SumCost needs at least one cost")
        self.costs = costs

    @property
    def fast(self) -> bool:
        return all(getattr(c, "fast", True) for c in self.costs)

    @fast.setter
    def fast(self, value: bool) -> None:
        for c in self.costs:
            if hasattr(c, "fast"):
                c.fast = value

    def __call__(self, actions: torch.Tensor, context: dict[str, Any]) -> torch.Tensor:
        total = self.costs[0](actions, context)
        for c in self.costs[1:]:
            total = total + c(actions, context)
        return total


class DenoisingProcess(Protocol):
    """A K-step sampler over normalised chunks [B, H, A] (see ``robo.policy.ddim``)."""

    num_steps: int
    shape: tuple[int, ...]
    context: dict[str, Any]
    nfe: int

    def init(self, n: int) -> torch.Tensor: ...

    def noise(self, n: int) -> torch.Tensor: ...

    def denoise(self, x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]: ...

    def sigma(self, k: int) -> float: ...

    def mean(self, x: torch.Tensor, k: int, x0: torch.Tensor) -> torch.Tensor: ...

    def to_actions(self, x0: torch.Tensor) -> torch.Tensor: ...


class Steer(ABC):
    """A steering method. ``eta`` asks the policy for that DDIM stochasticity (None = default)."""

    eta: float | None = None

    @abstractmethod
    def run(self, process: DenoisingProcess, n: int) -> tuple[torch.Tensor, dict[str, Any]]:
        """Sample ``n`` normalised chunks float[n, H, A]; returns them and diagnostics."""


def evaluate_cost(cost: Cost, process: DenoisingProcess, x0: torch.Tensor) -> torch.Tensor:
    """Cost of normalised clean chunks float[B, H, A] -> float[B] (no grad)."""
    with torch.no_grad():
        return cost(process.to_actions(x0), process.context).detach().float()


def cost_gradient(
    cost: Cost, process: DenoisingProcess, x0: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cost float[B], d cost / d x0 float[B, H, A])`` at normalised clean chunks ``x0``.

    Without autograd when it can: a cost with a closed-form gradient
    (:attr:`robo.steer.cost.CostProgram.closed_form`) and a process that gives the VJP of its
    ``to_actions`` map (``to_actions_vjp``, e.g. the policy's affine unnormaliser) are chained
    directly; the same numbers as the autograd path, without its graph.
    """
    vjp = getattr(process, "to_actions_vjp", None)
    if vjp is not None and getattr(cost, "closed_form", False):
        with torch.no_grad():
            c, g = cost.value_and_grad(process.to_actions(x0), process.context)
            return c.float(), vjp(g)
    with torch.enable_grad():
        x = x0.detach().clone().requires_grad_(True)
        c = cost(process.to_actions(x), process.context)
        (g,) = torch.autograd.grad(c.sum(), x, allow_unused=True)
    if g is None:
        g = torch.zeros_like(x0)
    return c.detach().float(), g.detach()
