"""Normaliser owned by a policy: actions to [-1, 1] (min-max), state to zero mean / unit std.

Statistics are registered buffers, so they travel in the policy's safetensors checkpoint.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Normalizer(nn.Module):
    """Per-dimension affine normaliser for actions float[..., A] and state float[..., D].

    ``normalize_action(a) = 2 (a - low) / (high - low) - 1``; dimensions with (almost) no range
    map to 0. ``normalize_state(s) = (s - mean) / std``.
    """

    def __init__(self, action_dim: int, state_dim: int):
        super().__init__()
        self.register_buffer("action_low", -torch.ones(action_dim))
        self.register_buffer("action_high", torch.ones(action_dim))
        self.register_buffer("state_mean", torch.zeros(state_dim))
        self.register_buffer("state_std", torch.ones(state_dim))

    @torch.no_grad()
    def fit(self, actions: np.ndarray | torch.Tensor, states: np.ndarray | torch.Tensor) -> None:
        """Set statistics from actions float[N, A] and states float[N, D] (action units)."""
        a = torch.as_tensor(np.asarray(actions), dtype=torch.float32)
        s = torch.as_tensor(np.asarray(states), dtype=torch.float32)
        if a.ndim != 2 or a.shape[1] != self.action_low.numel():
            raise ValueError(
                f"actions must be [N, {self.action_low.numel()}], got {tuple(a.shape)}"
            )
        if s.ndim != 2 or s.shape[1] != self.state_mean.numel():
            raise ValueError(f"states must be [N, {self.state_mean.numel()}], got {tuple(s.shape)}")
        low, high = a.min(0).values, a.max(0).values
        # A margin keeps demonstrated extremes off the clip boundary of the sampler.
        margin = 0.05 * (high - low).clamp_min(1e-6)
        self.action_low.copy_(low - margin)
        self.action_high.copy_(high + margin)
        self.state_mean.copy_(s.mean(0))
        self.state_std.copy_(s.std(0).clamp_min(1e-3))

    def _span(self) -> torch.Tensor:
        return (self.action_high - self.action_low).clamp_min(1e-6)

    def normalize_action(self, a: torch.Tensor) -> torch.Tensor:
        """Action units -> [-1, 1] (differentiable)."""
        return 2.0 * (a - self.action_low) / self._span() - 1.0

    def unnormalize_action(self, x: torch.Tensor) -> torch.Tensor:
        """[-1, 1] -> action units (differentiable)."""
        return (x + 1.0) * 0.5 * self._span() + self.action_low

    def normalize_state(self, s: torch.Tensor) -> torch.Tensor:
        """State units -> zero mean, unit std."""
        return (s - self.state_mean) / self.state_std
