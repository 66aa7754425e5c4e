"""Best-of-N: draw N unsteered chunks and keep the ones a verifier (a cost) likes best.

The compute-matched baseline for particle steering: N samples x K steps costs N*K network
evaluations, the same as N particles.
"""

from __future__ import annotations

from typing import Any

import torch

from robo.steer.base import Cost, DenoisingProcess, Steer, evaluate_cost


class BestOfN(Steer):
    """Keep the ``n`` lowest-cost of ``num_samples`` plain samples.

    Args:
        cost: verifier (lower is better); any :data:`robo.steer.base.Cost`.
        num_samples: N, sampled in one batch.
        eta: DDIM stochasticity (None = the policy's default).
    """

    def __init__(self, cost: Cost, num_samples: int = 8, eta: float | None = None):
        if num_samples < 1:
            raise ValueError(f"num_samples={num_samples} must be >= 1")
        self.cost, self.num_samples, self.eta = cost, int(num_samples), eta

    def run(self, process: DenoisingProcess, n: int) -> tuple[torch.Tensor, dict[str, Any]]:
        if n > self.num_samples:
            raise ValueError(f"asked for n={n} chunks from only num_samples={self.num_samples}")
        x = process.init(self.num_samples)
        for k in range(process.num_steps):
            _, x0 = process.denoise(x, k)
            with torch.no_grad():
                x = process.step(x, k, x0)
        c = evaluate_cost(self.cost, process, x)
        order = torch.argsort(c)[:n]
        return x[order], {"cost": c[order].tolist(), "cost_all": c.tolist(), "particles": x}
