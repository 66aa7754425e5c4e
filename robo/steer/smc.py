"""Particle steering (Feynman-Kac / sequential Monte Carlo) of a frozen diffusion sampler.

Target: ``p(x0) exp(-beta cost(x0)) / Z`` over clean chunks. B particles run the K-step
sampler; at step k each gets the potential ``G_k = exp(-beta (c_k - c_{k-1}))`` from the cost
``c_k`` of its Tweedie estimate (difference potentials telescope to ``exp(-beta c(x0))``,
``c_{-1} = 0``). Particles are resampled (systematic) when the effective sample size
``ESS = (sum w)^2 / sum w^2`` falls below ``ess_threshold * B``.

Proposals may differ from the model's transition: gradient guidance on the Tweedie estimate
and diversity repulsion (early steps only) move the Gaussian step mean from ``mu_p`` to
``mu_q``; the importance weight then gains ``log N(x'; mu_p, s^2) - log N(x'; mu_q, s^2)`` so
the target stays exact. This needs a stochastic step (``eta > 0``); the last step (s = 0) is
never guided.
"""

from __future__ import annotations

from typing import Any

import torch

from robo.steer.base import Cost, DenoisingProcess, Steer, cost_gradient, evaluate_cost
from robo.steer.guidance import guide_x0, repulsion, schedule_weights


def effective_sample_size(log_w: torch.Tensor) -> float:
    """ESS of unnormalised log-weights float[B]: in [1, B]."""
    w = torch.softmax(log_w.double(), 0)
    return float(1.0 / (w * w).sum())


def systematic_resample(
    log_w: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Indices long[B] drawn by systematic resampling from normalised weights."""
    return _systematic(torch.softmax(log_w.double(), 0), generator)


def _systematic(w: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """:func:`systematic_resample` from normalised weights float64[B]."""
    b = w.shape[0]
    u = (torch.rand((), generator=generator, dtype=torch.float64) + torch.arange(b)) / b
    idx = torch.searchsorted(torch.cumsum(w, 0), u.to(w.device))  # u from a CPU generator
    return idx.clamp_max(b - 1)


def gaussian_log_ratio(
    x: torch.Tensor, mu_p: torch.Tensor, mu_q: torch.Tensor, s: float
) -> torch.Tensor:
    """``log N(x; mu_p, s^2 I) - log N(x; mu_q, s^2 I)`` per row: float[B]."""
    dp = (x - mu_p).flatten(1).double().pow(2).sum(1)
    dq = (x - mu_q).flatten(1).double().pow(2).sum(1)
    return ((dq - dp) / (2 * s * s)).float()


class ParticleSteering(Steer):
    """Feynman-Kac steering with optional gradient guidance and diversity repulsion.

    Args:
        cost: chunk cost (lower is better); differentiable if ``guidance_scale > 0``.
        particles: B.
        beta: inverse temperature of the tilt ``exp(-beta cost)``.
        ess_threshold: resample when ESS < threshold * B.
        guidance_scale, guidance_schedule, inner_steps: gradient guidance of the proposal
            (see :class:`robo.steer.guidance.GradientGuidance`); 0 disables it.
        repulsion_scale: length of the diversity push (normalised units); applied while
            ``k / K < repulsion_until``.
        eta: DDIM stochasticity of the proposal (> 0 for exact weights).
        select: ``"best"`` returns the lowest-cost particles; ``"sample"`` draws by weight.
        generator: torch RNG for resampling / selection: a CPU generator (None: torch's global
            CPU RNG); its draws are moved to the particles' device.
    """

    def __init__(
        self,
        cost: Cost,
        particles: int = 8,
        beta: float = 10.0,
        ess_threshold: float = 0.5,
        guidance_scale: float = 0.0,
        guidance_schedule: str = "constant",
        inner_steps: int = 1,
        repulsion_scale: float = 0.0,
        repulsion_until: float = 0.3,
        eta: float = 1.0,
        select: str = "best",
        generator: torch.Generator | None = None,
    ):
        if particles < 1:
            raise ValueError(f"particles={particles} must be >= 1")
        if select not in ("best", "sample"):
            raise ValueError(f"select={select!r} must be 'best' or 'sample'")
        if eta <= 0 and (guidance_scale > 0 or repulsion_scale > 0):
            raise ValueError("guided/repulsed SMC needs eta > 0 to reweight the proposal exactly")
        schedule_weights(guidance_schedule, 1)
        self.cost, self.particles, self.beta = cost, int(particles), float(beta)
        self.ess_threshold = float(ess_threshold)
        self.guidance_scale, self.guidance_schedule = float(guidance_scale), guidance_schedule
        self.inner_steps = int(inner_steps)
        self.repulsion_scale, self.repulsion_until = float(repulsion_scale), float(repulsion_until)
        self.eta, self.select, self.generator = float(eta), select, generator

    def run(self, process: DenoisingProcess, n: int) -> tuple[torch.Tensor, dict[str, Any]]:
        b, steps = self.particles, process.num_steps
        if n > b:
            raise ValueError(f"asked for n={n} chunks from only {b} particles")
        w_guide = schedule_weights(self.guidance_schedule, steps)
        x = process.init(b)
        log_w = torch.zeros(b, device=x.device)
        prev_c = torch.zeros(b, device=x.device)
        resamples, ess_trace, last_exact = 0, [], False
        for k in range(steps):
            _, x0 = process.denoise(x, k)
            guide = self.guidance_scale > 0 and w_guide[k] > 0 and process.sigma(k) > 0
            if guide:  # one pass gives the potential's cost and the guidance gradient
                c, grad = cost_gradient(self.cost, process, x0)
            else:
                c, grad = evaluate_cost(self.cost, process, x0), None
            log_w = log_w - self.beta * (c - prev_c)
            prev_c = c
            w = torch.softmax(log_w.double(), 0)  # one softmax for the ESS and resampling
            ess = float(1.0 / (w * w).sum())  # effective_sample_size(log_w)
            ess_trace.append(ess)
            if ess < self.ess_threshold * b:
                idx = _systematic(w, self.generator)  # systematic_resample(log_w, generator)
                x, x0, prev_c = x[idx], x0[idx], prev_c[idx]
                grad = None if grad is None else grad[idx]
                log_w = torch.zeros(b, device=x.device)
                resamples += 1
            s = process.sigma(k)
            if s == 0.0:  # deterministic (last) step: no proposal to correct, no guidance
                with torch.no_grad():
                    x = process.mean(x, k, x0)
                # DDIM's last step lands on its clean estimate (a_prev = 1): x == x0, whose
                # cost prev_c already holds, so the final evaluation below can be skipped.
                last_exact = k == steps - 1 and torch.equal(x, x0)
                continue
            x0_q = x0
            if guide:
                x0_q = guide_x0(
                    self.cost, process, x0_q, self.guidance_scale * w_guide[k], self.inner_steps,
                    grad=grad,
                )  # fmt: skip
            if self.repulsion_scale > 0 and k < self.repulsion_until * steps:
                x0_q = x0_q + self.repulsion_scale * repulsion(x0_q)
                clip = getattr(process, "clip", None)
                x0_q = x0_q if clip is None else x0_q.clamp(-clip, clip)
            with torch.no_grad():
                mu_p = process.mean(x, k, x0)
                mu_q = mu_p if x0_q is x0 else process.mean(x, k, x0_q)
                x_new = mu_q + s * process.noise(b)
                if x0_q is not x0:
                    log_w = log_w + gaussian_log_ratio(x_new, mu_p, mu_q, s)
            x = x_new
        if last_exact:
            c = prev_c
        else:
            c = evaluate_cost(self.cost, process, x)
            log_w = log_w - self.beta * (c - prev_c)
        if self.select == "best":
            idx = torch.argsort(c)[:n]
        else:
            idx = torch.multinomial(  # on the CPU (where the eval generators live)
                torch.softmax(log_w.double(), 0).cpu(), n, replacement=True,
                generator=self.generator,
            ).to(x.device)  # fmt: skip
        info = {
            "cost": c[idx].tolist(),
            "cost_all": c.tolist(),
            "log_weights": log_w.tolist(),
            "resamples": resamples,
            "ess": ess_trace,
            "particles": x,
        }
        return x[idx], info

    def __repr__(self) -> str:
        return (
            f"ParticleSteering(B={self.particles}, beta={self.beta}, guidance={self.guidance_scale}, "
            f"repulsion={self.repulsion_scale}, eta={self.eta})"
        )
