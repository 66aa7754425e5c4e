"""A toy diffusion model with a known data distribution: an isotropic Gaussian mixture whose
noise predictor is exact, so steered samples can be compared with analytic tilted targets."""

from __future__ import annotations

import pytest
import torch

from robo.policy.ddim import DDIMProcess, cosine_alphas_cumprod

# Two shared cores: extra intra-op threads only contend (8x slower under load).
torch.set_num_threads(1)


class GaussianMixture:
    """p0 = sum_i pi_i N(mu_i, s_i^2 I) over x float[D]; samples are shaped [B, 1, D]."""

    def __init__(self, means, stds, weights):
        self.mu = torch.tensor(means, dtype=torch.float64)
        self.s = torch.tensor(stds, dtype=torch.float64)
        self.pi = torch.tensor(weights, dtype=torch.float64) / sum(weights)
        self.alphas = cosine_alphas_cumprod(1000)

    def eps(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = self.alphas[t].view(-1, 1)
        xf = x.reshape(x.shape[0], -1).double()
        var = a * self.s**2 + 1 - a  # [B, N]
        diff = xf[:, None, :] - a.sqrt()[:, :, None] * self.mu[None]  # [B, N, D]
        d = xf.shape[1]
        logp = self.pi.log() - 0.5 * (diff**2).sum(-1) / var - 0.5 * d * var.log()
        r = torch.softmax(logp, dim=1)
        score = -(r[:, :, None] * diff / var[:, :, None]).sum(1)
        return (-(1 - a).sqrt() * score).view_as(x).float()

    def process(self, steps: int, eta: float, seed: int = 0) -> DDIMProcess:
        d = self.mu.shape[1]
        return DDIMProcess(
            self.eps, self.alphas, steps, (1, d), eta=eta, clip=None,
            generator=torch.Generator().manual_seed(seed),
        )  # fmt: skip

    def tilted(self, w: torch.Tensor, beta: float):
        """Analytic p0(x) exp(beta w.x): (component weights, means)."""
        w = w.double()
        logits = self.pi.log() + beta * self.mu @ w + 0.5 * beta**2 * self.s**2 * (w @ w)
        return torch.softmax(logits, 0), self.mu + beta * self.s[:, None] ** 2 * w


@pytest.fixture
def two_blobs() -> GaussianMixture:
    return GaussianMixture([[-1.0, 0.0], [1.0, 0.0]], [0.25, 0.25], [0.5, 0.5])
