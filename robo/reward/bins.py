"""Step-discretised hops: bins in [-1, 1], soft (two-hot) targets, and progress from hops.

A hop h in [-1, 1] moves progress Φ in [0, 1] as ``Φ' = Φ + h(1-Φ)`` (h >= 0) or
``Φ' = Φ + hΦ`` (h < 0) (see :func:`robo.types.apply_hop`). The model predicts a distribution
over ``n_bins`` evenly spaced bin centres in [-1, 1] (0 is always a centre for odd ``n_bins``);
its mean is the hop estimate and its standard deviation the uncertainty.
"""

from __future__ import annotations

import numpy as np
import torch

from robo.types import apply_hop, hop_between

__all__ = [
    "HopBins",
    "apply_hop",
    "hop_between",
    "progress_from_hops",
    "progress_std_after_hop",
]


class HopBins:
    """``n`` bin centres evenly spaced on [-1, 1].

    Args:
        n: number of bins (odd, >= 3, so that a zero hop is a bin centre).
    """

    def __init__(self, n: int = 25):
        if n < 3 or n % 2 == 0:
            raise ValueError(f"n_bins={n} must be odd and >= 3 (hint: the default is 25)")
        self.n = n
        self.centers = torch.linspace(-1.0, 1.0, n)
        self.width = 2.0 / (n - 1)

    def soft_targets(self, hop: torch.Tensor) -> torch.Tensor:
        """Two-hot targets float[..., n] whose mean is exactly ``hop`` (float[...], clipped)."""
        h = hop.clamp(-1.0, 1.0)
        pos = (h + 1.0) / self.width  # fractional bin index in [0, n-1]
        lo = pos.floor().clamp(0, self.n - 1)
        hi = (lo + 1).clamp(max=self.n - 1)
        w_hi = (pos - lo).clamp(0.0, 1.0)
        out = torch.zeros(*h.shape, self.n, dtype=torch.float32, device=h.device)
        out.scatter_add_(-1, lo.long().unsqueeze(-1), (1.0 - w_hi).unsqueeze(-1))
        out.scatter_add_(-1, hi.long().unsqueeze(-1), w_hi.unsqueeze(-1))
        return out

    def index(self, hop: np.ndarray | torch.Tensor) -> np.ndarray:
        """Nearest bin index (int[...]) of each hop value."""
        h = np.clip(np.asarray(hop, dtype=np.float64), -1.0, 1.0)
        return np.rint((h + 1.0) / self.width).astype(np.int64)

    def mean_std(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Expected hop and its standard deviation from logits float[..., n] -> (float[...])*2.

        The std includes the within-bin spread (width / sqrt(12)) so it never collapses to 0.
        """
        c = self.centers.to(logits.device, logits.dtype)
        p = logits.softmax(-1)
        mean = (p * c).sum(-1)
        var = (p * (c - mean.unsqueeze(-1)) ** 2).sum(-1) + self.width**2 / 12.0
        return mean, var.sqrt()


def progress_from_hops(hops: np.ndarray, phi0: float = 0.0) -> np.ndarray:
    """Progress trace float[T+1] rebuilt from consecutive hops float[T], starting at ``phi0``."""
    out = np.empty(len(hops) + 1, dtype=np.float64)
    out[0] = phi0
    for t, h in enumerate(np.asarray(hops, dtype=np.float64)):
        out[t + 1] = apply_hop(out[t], h)
    return out


def progress_std_after_hop(
    phi: np.ndarray, phi_std: np.ndarray, hop: np.ndarray, hop_std: np.ndarray
) -> np.ndarray:
    """First-order std of ``apply_hop(phi, hop)`` given independent stds of phi and hop.

    For h >= 0: dΦ'/dΦ = 1-h, dΦ'/dh = 1-Φ; for h < 0: dΦ'/dΦ = 1+h, dΦ'/dh = Φ.
    """
    phi, phi_std, hop, hop_std = (np.asarray(a, np.float64) for a in (phi, phi_std, hop, hop_std))
    up = hop >= 0
    d_phi = np.where(up, 1.0 - hop, 1.0 + hop)
    d_hop = np.where(up, 1.0 - phi, phi)
    return np.sqrt((d_phi * phi_std) ** 2 + (d_hop * hop_std) ** 2)
