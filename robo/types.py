"""Data contracts shared by sims, hardware and learning code.

Observation (what every env, the sim twin and the real arm return)::

    {
        "images": {camera_name: uint8[H, W, 3]},   # stable names per family: front, side, wrist
        "state": float32[D],                        # proprioception, units in the task's docs
        "instruction": str,                         # natural-language task text
        "timestamp": float64[()],                   # seconds (sim time or monotonic clock)
    }

Action chunk: float32[H, A] with the executed prefix length stated (:class:`ActionChunk`).
Progress Φ is in [0, 1]; a hop h in [-1, 1] updates it as ``Φ' = Φ + h(1-Φ)`` for h >= 0 and
``Φ' = Φ + hΦ`` for h < 0 (:func:`apply_hop`, :func:`hop_between`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import numpy as np

CAMERA_NAMES: tuple[str, ...] = ("front", "side", "wrist")
"""Camera names every task exposes (two third-person views and a wrist/gripper view)."""

EpisodeKind = Literal["expert", "noisy", "failure", "rewind", "paused", "random", "policy"]
EPISODE_KINDS: tuple[str, ...] = (
    "expert", "noisy", "failure", "rewind", "paused", "random", "policy",
)  # fmt: skip


class Observation(TypedDict):
    """One observation. ``images[name]`` is uint8[H, W, 3]; ``state`` is float32[D]."""

    images: dict[str, np.ndarray]
    state: np.ndarray
    instruction: str
    timestamp: np.ndarray


class StepInfo(TypedDict, total=False):
    """``info`` returned by every env step. ``progress_gt`` is privileged, in [0, 1] or NaN."""

    success: bool
    progress_gt: float
    subtask: int


@dataclass
class ActionChunk:
    """A chunk of actions, float32[H, A]; only ``actions[:executed]`` is sent to the robot."""

    actions: np.ndarray
    executed: int

    def __post_init__(self) -> None:
        if self.actions.ndim != 2:
            raise ValueError(f"ActionChunk.actions must be [H, A], got shape {self.actions.shape}")
        if not 1 <= self.executed <= self.actions.shape[0]:
            raise ValueError(f"executed={self.executed} must be in [1, H={self.actions.shape[0]}]")


@dataclass
class Episode:
    """An in-memory episode: per-step arrays aligned on the time axis (length T).

    ``images[name]`` is uint8[T, H, W, 3], ``state`` float32[T, D], ``action`` float32[T, A]
    (the action taken *at* step t), ``success`` bool[T], ``progress_gt`` float32[T] (NaN where
    the sim has no privileged progress).
    """

    task: str
    instruction: str
    kind: str
    seed: int
    images: dict[str, np.ndarray]
    state: np.ndarray
    action: np.ndarray
    success: np.ndarray
    progress_gt: np.ndarray
    timestamp: np.ndarray
    subtask_boundaries: list[int] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.state.shape[0])


def apply_hop(phi: np.ndarray | float, hop: np.ndarray | float) -> np.ndarray:
    """Progress after a hop: ``Φ + h(1-Φ)`` for h >= 0, ``Φ + hΦ`` for h < 0. Result in [0, 1]."""
    phi = np.asarray(phi, dtype=np.float64)
    hop = np.clip(np.asarray(hop, dtype=np.float64), -1.0, 1.0)
    out = np.where(hop >= 0, phi + hop * (1.0 - phi), phi + hop * phi)
    return np.clip(out, 0.0, 1.0)


def hop_between(phi_before: np.ndarray | float, phi_after: np.ndarray | float) -> np.ndarray:
    """The hop h in [-1, 1] that takes Φ to Φ' (inverse of :func:`apply_hop`).

    ``h = (Φ'-Φ)/(1-Φ)`` when Φ' >= Φ, else ``(Φ'-Φ)/Φ``; h = 0 where the denominator is 0.
    """
    a = np.asarray(phi_before, dtype=np.float64)
    b = np.asarray(phi_after, dtype=np.float64)
    up = b >= a
    denom = np.where(up, 1.0 - a, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(denom > 1e-12, (b - a) / np.where(denom > 1e-12, denom, 1.0), 0.0)
    return np.clip(h, -1.0, 1.0)
