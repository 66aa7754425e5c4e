"""Tiny diffusion policies and toy episodes for fast policy tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robo.policy import DiffusionConfig
from robo.types import Episode

torch.set_num_threads(1)


def toy_episode(seed: int, t_len: int = 12, image_size: int = 16) -> Episode:
    """The correct chunk is all +0.8 when state[0] > 0 and all -0.8 otherwise (dim 0);
    dim 1 is a ramp over time. Images are noise (the state carries the information)."""
    rng = np.random.default_rng(seed)
    sign = 1.0 if seed % 2 == 0 else -1.0
    state = np.zeros((t_len, 3), np.float32)
    state[:, 0] = sign * rng.uniform(0.5, 1.0)
    state[:, 1] = np.linspace(0, 1, t_len)
    action = np.stack([np.full(t_len, 0.8 * sign), np.linspace(-0.5, 0.5, t_len)], 1).astype(
        np.float32
    )
    img = rng.integers(0, 255, (t_len, image_size, image_size, 3), dtype=np.uint8)
    return Episode(
        task="toy/sign", instruction="go to the sign", kind="expert", seed=seed,
        images={"front": img}, state=state, action=action, success=np.zeros(t_len, bool),
        progress_gt=np.linspace(0, 1, t_len, dtype=np.float32), timestamp=np.arange(t_len) * 0.05,
    )  # fmt: skip


def obs_of(ep: Episode, t: int = 0) -> dict:
    return {
        "images": {"front": ep.images["front"][t]},
        "state": ep.state[t],
        "instruction": ep.instruction,
        "timestamp": np.float64(0.0),
    }


@pytest.fixture
def tiny_config() -> DiffusionConfig:
    return DiffusionConfig(
        action_dim=2, state_dim=3, horizon=8, executed=4, cameras=("front",), image_size=16,
        unet_dims=(16, 32), view_dim=8, num_train_steps=50, num_inference_steps=8,
    )  # fmt: skip
