"""The ``ChunkPolicy`` protocol shared by every policy family (diffusion, token VLA, ...).

A policy maps one observation (the contract of :mod:`robo.types`) to action chunks
float32[n, H, A] in the task's action units (unnormalised: the policy owns its normaliser).
Only the first ``executed`` actions of a chunk are sent before the policy is queried again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from robo.types import Observation


@runtime_checkable
class ChunkPolicy(Protocol):
    """Attributes:
    horizon: chunk length H [control steps].
    action_dim: A, the task's action dimension.
    executed: executed-prefix length (1 <= executed <= H).
    """

    horizon: int
    action_dim: int
    executed: int

    def sample(self, obs: Observation, n: int = 1, steer: Any | None = None) -> torch.Tensor:
        """``n`` chunks for ``obs``: float32[n, H, A] (CPU, no grad), action units.

        ``steer`` (a :mod:`robo.steer` object or ``None``) guides sampling at inference time
        without touching the policy's parameters.
        """
        ...

    def log_prob(self, obs: Observation, chunks: torch.Tensor) -> torch.Tensor:
        """Log-probability of chunks float32[n, H, A] -> float32[n] (differentiable).

        Families without a tractable likelihood raise ``NotImplementedError``.
        """
        ...

    def save(self, path: str | Path) -> None:
        """Write ``path/model.safetensors`` + ``path/config.json`` (never pickle)."""
        ...
