"""Reward-hacking indicators: hover ratio, shaped-vs-true return gap, steps to success.

The "semantic trap": an agent rewarded by progress itself can learn to hover where progress
looks high instead of finishing. These per-episode numbers make that visible in a run log.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


def hover_steps(phi: np.ndarray, success: np.ndarray, threshold: float = 0.8) -> int:
    """Number of steps with Φ > ``threshold`` before the first success step.

    Args:
        phi: float[T] progress of the states visited at steps 0..T-1.
        success: bool[T] success flag of the same steps.
    """
    phi = np.asarray(phi, dtype=np.float64)
    success = np.asarray(success, dtype=bool)
    if phi.shape != success.shape:
        raise ValueError(f"phi {phi.shape} and success {success.shape} must have the same shape")
    not_yet = np.cumsum(success) == 0
    return int(np.sum((phi > threshold) & not_yet))


def hover_ratio(phi: np.ndarray, success: np.ndarray, threshold: float = 0.8) -> float:
    """Fraction of an episode's T steps spent with Φ > ``threshold`` without success yet."""
    n = len(np.asarray(phi))
    return hover_steps(phi, success, threshold) / n if n else 0.0


@dataclass
class EpisodeStats:
    """Indicators of one finished episode (steps are control steps).

    ``hover_steps`` uses the reward's own Φ (calibrated, before gating; 0 when the scheme has
    none); ``hover_steps_gt``
    uses the privileged ``progress_gt`` when the task reports it (comparable across schemes).
    ``success_step`` is the 1-based step of the first success, or None.
    """

    steps: int = 0
    hover_steps: int = 0
    hover_steps_gt: int = 0
    shaped_return: float = 0.0
    true_return: float = 0.0
    success_step: int | None = None

    @property
    def success(self) -> bool:
        return self.success_step is not None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "success": self.success}


def summarize(episodes: list[EpisodeStats]) -> dict[str, float]:
    """Aggregate indicators over episodes (NaN where undefined).

    Returns ``hover_ratio`` (and ``hover_ratio_gt``): hover steps / all steps;
    ``return_gap``: mean shaped − true (undiscounted) return; ``steps_to_success``: mean
    episode length of the successful episodes; ``success_rate`` and ``episodes``.
    """
    if not episodes:
        nan = float("nan")
        return {
            "episodes": 0,
            "success_rate": nan,
            "hover_ratio": nan,
            "hover_ratio_gt": nan,
            "return_gap": nan,
            "steps_to_success": nan,
        }
    steps = sum(e.steps for e in episodes) or 1
    succ = [e.success_step for e in episodes if e.success_step is not None]
    return {
        "episodes": len(episodes),
        "success_rate": len(succ) / len(episodes),
        "hover_ratio": sum(e.hover_steps for e in episodes) / steps,
        "hover_ratio_gt": sum(e.hover_steps_gt for e in episodes) / steps,
        "return_gap": float(np.mean([e.shaped_return - e.true_return for e in episodes])),
        "steps_to_success": float(np.mean(succ)) if succ else float("nan"),
    }
