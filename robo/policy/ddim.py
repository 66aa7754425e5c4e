"""DDPM noise schedule and the DDIM denoising process that steering drives step by step.

Notation: ``a_t = alphas_cumprod[t]``; the forward process is ``x_t = sqrt(a_t) x_0 +
sqrt(1-a_t) eps``. A :class:`DDIMProcess` runs K sampling steps over training timesteps
``t_0 > t_1 > ... > t_{K-1}``; step k maps ``x_{t_k}`` to ``x_{t_{k+1}}`` (``a = 1`` after the
last step). The Tweedie estimate of the clean sample is ``x0 = (x_t - sqrt(1-a_t) eps) /
sqrt(a_t)``. With ``eta > 0`` a step is Gaussian with mean

    mu = sqrt(a_prev) x0 + sqrt(1 - a_prev - sigma^2) eps,
    sigma = eta sqrt((1-a_prev)/(1-a_t)) sqrt(1 - a_t/a_prev),

which is what particle steering needs to reweight guided proposals exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def cosine_alphas_cumprod(num_train_steps: int, max_beta: float = 0.999) -> torch.Tensor:
    """``alphas_cumprod`` float64[T] of the squared-cosine schedule (Nichol & Dhariwal 2021)."""

    def f(t: float) -> float:
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = [
        min(1 - f((i + 1) / num_train_steps) / f(i / num_train_steps), max_beta)
        for i in range(num_train_steps)
    ]
    return torch.cumprod(1.0 - torch.tensor(betas, dtype=torch.float64), 0)


def ddim_timesteps(num_train_steps: int, num_steps: int) -> list[int]:
    """Descending training timesteps for ``num_steps`` DDIM steps, ending at 0."""
    if not 1 <= num_steps <= num_train_steps:
        raise ValueError(f"num_steps={num_steps} must be in [1, {num_train_steps}]")
    ratio = num_train_steps / num_steps
    return sorted({int(round(k * ratio)) for k in range(num_steps)}, reverse=True)


EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``eps_fn(x [B, H, A], t long[B]) -> eps [B, H, A]``: one network evaluation per row."""
StepEpsFn = Callable[[torch.Tensor, int], torch.Tensor]
"""``step_eps_fn(x [B, H, A], k) -> eps [B, H, A]``: the same at DDIM step k (every row at
timestep ``t_k``), for a network that precomputes what depends only on the step."""


class DDIMProcess:
    """One sampling run of a diffusion model over normalised chunks [B, H, A].

    Args:
        eps_fn: the (frozen) noise predictor, conditioning already bound.
        alphas_cumprod: float[T] training schedule.
        num_steps: K DDIM steps.
        shape: (H, A) of one sample.
        to_actions: differentiable map normalised chunk -> action units.
        eta: DDIM stochasticity (0 deterministic, 1 DDPM-like).
        clip: clip Tweedie estimates to [-clip, clip] (None = no clip).
        context: whatever costs need (the observation, keypoints); read by steering.
        step_eps_fn: optional faster ``eps_fn`` for a whole batch at DDIM step k (same values
            as ``eps_fn(x, full(t_k))`` up to float rounding); used by :meth:`denoise`.
        to_actions_vjp: optional ``g -> g @ d to_actions / d x`` (the vector-Jacobian product
            of ``to_actions``), so cost gradients need no autograd graph through it.

    Attributes:
        nfe: network evaluations so far, counted per sample row.
        calls: batched network calls so far.
    """

    def __init__(
        self,
        eps_fn: EpsFn,
        alphas_cumprod: torch.Tensor,
        num_steps: int,
        shape: tuple[int, int],
        to_actions: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
        eta: float = 0.0,
        clip: float | None = 1.0,
        context: dict | None = None,
        generator: torch.Generator | None = None,
        step_eps_fn: StepEpsFn | None = None,
        to_actions_vjp: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ):
        self.eps_fn, self.step_eps_fn = eps_fn, step_eps_fn
        self.to_actions_vjp = to_actions_vjp
        self.alphas_cumprod = alphas_cumprod.to(torch.float64)
        self.device = alphas_cumprod.device  # where chunks, noise and timesteps live
        self.timesteps = ddim_timesteps(len(alphas_cumprod), num_steps)
        self.num_steps = len(self.timesteps)
        # (a_t, a_prev) per step as Python floats: read several times per step by every method
        a = [float(self.alphas_cumprod[t]) for t in self.timesteps]
        self._a = list(zip(a, [*a[1:], 1.0]))
        self.shape = tuple(shape)
        self.to_actions = to_actions
        self.eta = float(eta)
        self.clip = clip
        self.context = context or {}
        self.generator = generator
        self.nfe = 0
        self.calls = 0

    def _alphas(self, k: int) -> tuple[float, float]:
        return self._a[k]

    def noise(self, n: int) -> torch.Tensor:
        """Standard normal float32[n, H, A] on :attr:`device`, drawn from the process's generator
        on the generator's device (a CPU generator gives the same noise to a CUDA policy as to
        a CPU one), or from the device's default RNG without one."""
        g = self.generator
        z = torch.randn(
            (n, *self.shape), generator=g, device=self.device if g is None else g.device
        )
        return z.to(self.device)

    def init(self, n: int) -> torch.Tensor:
        """Initial noise x_{t_0}: float32[n, H, A]."""
        return self.noise(n)

    @torch.no_grad()
    def denoise(self, x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One network evaluation: ``(eps, x0)`` for x float32[B, H, A] at step k.

        ``x0`` is the (clipped) Tweedie estimate; ``eps`` is made consistent with it.
        """
        if self.step_eps_fn is not None:
            eps = self.step_eps_fn(x, k)
        else:
            t = torch.full((x.shape[0],), self.timesteps[k], dtype=torch.long, device=x.device)
            eps = self.eps_fn(x, t)
        self.nfe += x.shape[0]
        self.calls += 1
        a_t, _ = self._alphas(k)
        x0 = (x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
        if self.clip is not None:
            x0 = x0.clamp(-self.clip, self.clip)
            eps = self.x0_to_eps(x, k, x0)
        return eps, x0

    def x0_to_eps(self, x: torch.Tensor, k: int, x0: torch.Tensor) -> torch.Tensor:
        """The noise that, with ``x0``, reconstructs ``x`` at step k."""
        a_t, _ = self._alphas(k)
        return (x - math.sqrt(a_t) * x0) / math.sqrt(max(1 - a_t, 1e-12))

    def sigma(self, k: int) -> float:
        """Standard deviation of the step-k transition (0 at the last step or with eta=0)."""
        a_t, a_prev = self._alphas(k)
        if self.eta == 0.0 or a_prev >= 1.0:
            return 0.0
        return self.eta * math.sqrt((1 - a_prev) / (1 - a_t)) * math.sqrt(1 - a_t / a_prev)

    def mean(self, x: torch.Tensor, k: int, x0: torch.Tensor) -> torch.Tensor:
        """Mean of the step-k transition given the clean estimate ``x0`` (eps recomputed)."""
        _, a_prev = self._alphas(k)
        eps = self.x0_to_eps(x, k, x0)
        s = self.sigma(k)
        return math.sqrt(a_prev) * x0 + math.sqrt(max(1 - a_prev - s * s, 0.0)) * eps

    def step(self, x: torch.Tensor, k: int, x0: torch.Tensor) -> torch.Tensor:
        """Sample x_{t_{k+1}} given ``x0`` (the model's or a guided estimate)."""
        mu = self.mean(x, k, x0)
        s = self.sigma(k)
        return mu if s == 0.0 else mu + s * self.noise(x.shape[0])


@torch.no_grad()
def sample_plain(process: DDIMProcess, n: int) -> torch.Tensor:
    """Unsteered sampling: float32[n, H, A] normalised chunks after K steps."""
    x = process.init(n)
    for k in range(process.num_steps):
        _, x0 = process.denoise(x, k)
        x = process.step(x, k, x0)
    return x
