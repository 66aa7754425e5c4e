"""Imitation training: the loss falls and the policy follows the instruction (synthetic data
where only the instruction decides the action; the scene/state is shared)."""

import numpy as np
import pytest
import torch

from robo.policy.vla import VLAConfig
from robo.policy.vla.train import VLATrainConfig, train_vla
from robo.types import Episode

torch.set_num_threads(1)
SIGN = {"toy/left": -1.0, "toy/right": 1.0}
TEXT = {"toy/left": "move to the left", "toy/right": "move to the right"}


def episode(task: str, seed: int, t_len: int = 10) -> Episode:
    """Random states drawn the same way for both tasks; dim 0 of the action is +-0.8 by task,
    dim 1 follows state[0] (so the state matters too)."""
    rng = np.random.default_rng(seed)
    state = rng.uniform(-1, 1, (t_len, 3)).astype(np.float32)
    action = np.stack([np.full(t_len, 0.8 * SIGN[task]), 0.5 * state[:, 0]], 1).astype(np.float32)
    return Episode(
        task=task, instruction=TEXT[task], kind="expert", seed=seed, images={}, state=state,
        action=action, success=np.ones(t_len, bool), progress_gt=np.linspace(0, 1, t_len),
        timestamp=np.arange(t_len) * 0.05,
    )  # fmt: skip


def test_same_scene_different_instruction_different_behaviour():
    eps = [episode(t, s) for t in SIGN for s in range(8)]
    cfg = VLAConfig(
        action_dim=2, state_dim=3, horizon=2, executed=1, bins=16, d_model=32, heads=2,
        layers=1, text_backend="hash",
    )  # fmt: skip
    policy, stats = train_vla(
        eps, cfg, VLATrainConfig(steps=150, batch_size=32, lr=3e-3, ema=0.0), progress=False,
        log=lambda m: None,
    )  # fmt: skip
    assert stats["loss_last"] < 0.5 * stats["loss_first"]
    assert stats["tasks"] == ["toy/left", "toy/right"]
    assert all(p.requires_grad for p in policy.parameters())  # fine-tunable as returned
    state = np.array([0.3, -0.1, 0.2], np.float32)  # one scene, two instructions
    gen = torch.Generator().manual_seed(0)
    means = {}
    for task, text in TEXT.items():
        obs = {"images": {}, "state": state, "instruction": text, "timestamp": np.float64(0)}
        means[task] = float(policy.sample(obs, n=16, generator=gen)[:, :, 0].mean())
    assert means["toy/left"] < -0.4 and means["toy/right"] > 0.4


def test_camera_policy_trains_on_images():
    eps = []
    for s in range(2):
        ep = episode("toy/left", s, t_len=6)
        ep.images = {"front": np.random.default_rng(s).integers(0, 255, (6, 20, 20, 3), np.uint8)}
        eps.append(ep)
    cfg = VLAConfig(
        action_dim=2, state_dim=3, horizon=2, executed=1, bins=8, cameras=("front",),
        image_size=16, d_model=16, heads=2, layers=1, text_backend="hash",
    )  # fmt: skip
    policy, stats = train_vla(
        eps, cfg, VLATrainConfig(steps=3, batch_size=4, shift_px=2), progress=False,
        log=lambda m: None,
    )  # fmt: skip
    assert stats["windows"] == 12 and np.isfinite(stats["loss_last"])
    obs = {"images": {"front": eps[0].images["front"][0]}, "state": eps[0].state[0],
           "instruction": TEXT["toy/left"], "timestamp": np.float64(0)}  # fmt: skip
    assert policy.sample(obs, n=2).shape == (2, 2, 2)
    missing = Episode(**{**eps[0].__dict__, "images": {}})
    with pytest.raises(ValueError, match="lacks cameras"):
        train_vla([missing], cfg, VLATrainConfig(steps=1), progress=False)
