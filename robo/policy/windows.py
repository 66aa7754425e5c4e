"""Behaviour-cloning windows of an episode: what every chunk policy trains on.

At each step t of an episode: the prepared camera views, the state, and the demo chunk
``action[t : t + H]`` (chunks running past the end repeat the last action).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from robo.types import Episode


def chunk_index(t_len: int, horizon: int) -> np.ndarray:
    """int[T, H]: row t indexes steps t..t+H-1, clamped to the last step."""
    return np.minimum(np.arange(t_len)[:, None] + np.arange(horizon)[None], t_len - 1)


def episode_windows(
    ep: Episode,
    cameras: tuple[str, ...] | list[str],
    horizon: int,
    prepare: Callable[[torch.Tensor], torch.Tensor],
) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
    """(images uint8[T, V, ...] prepared by ``prepare`` or None without cameras,
    state float32[T, D], demo chunks float32[T, H, A]) for every step of ``ep``."""
    missing = [c for c in cameras if c not in ep.images]
    if missing:
        raise ValueError(
            f"episode {ep.task} seed={ep.seed} lacks cameras {missing}; policy uses {list(cameras)}"
        )
    images = None
    if cameras:
        views = np.stack([ep.images[c] for c in cameras], axis=1)  # [T, V, H, W, 3]
        with torch.no_grad():
            images = prepare(torch.from_numpy(views)).round().clamp(0, 255).to(torch.uint8)
    chunks = torch.from_numpy(ep.action[chunk_index(len(ep), horizon)].astype(np.float32))
    return images, torch.from_numpy(ep.state.astype(np.float32)), chunks
