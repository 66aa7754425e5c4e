"""Policy checkpoints: ``model.safetensors`` (tensors) + ``config.json`` (family, config, meta).

Nothing is loaded through pickle: ``.pt``/``.pth``/``.pkl``/``.bin`` files are refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from robo.policy.base import ChunkPolicy

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".bin", ".ckpt")


class CheckpointError(ValueError):
    """A checkpoint is missing, pickled, or does not match its config."""


def _families() -> dict[str, tuple[type, type]]:
    from robo.policy.diffusion import DiffusionConfig, DiffusionPolicy
    from robo.policy.vla import VLAConfig, VLAPolicy

    return {"diffusion": (DiffusionConfig, DiffusionPolicy), "vla": (VLAConfig, VLAPolicy)}


def save_policy(policy: nn.Module, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Write ``path/model.safetensors`` and ``path/config.json``; returns the folder.

    ``meta`` (task, dataset, training stats...) is stored under ``"meta"`` in config.json.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = policy.config
    state = {k: v.detach().contiguous().cpu() for k, v in policy.state_dict().items()}
    save_file(state, str(path / WEIGHTS))
    old_meta = getattr(policy, "meta", {}) or {}
    payload = {
        "family": config.family,
        "config": config.to_dict(),
        "meta": {**old_meta, **(meta or {})},
    }
    (path / CONFIG).write_text(json.dumps(payload, indent=2))
    return path


def _resolve(path: Path) -> Path:
    if path.is_file():
        if path.suffix in PICKLE_SUFFIXES:
            raise CheckpointError(
                f"{path} is a pickle-format file; robo loads only safetensors + config.json "
                "(hint: re-save the policy with policy.save(dir))"
            )
        if path.name in (WEIGHTS, CONFIG):
            return path.parent
        raise CheckpointError(
            f"{path} is not a policy checkpoint folder (expected {WEIGHTS} + {CONFIG})"
        )
    if not path.is_dir():
        raise CheckpointError(
            f"no checkpoint at {path} (hint: `robo train-policy out=<dir>` writes one)"
        )
    return path


def load_policy(path: str | Path, device: str | torch.device = "cpu") -> ChunkPolicy:
    """Load a policy folder written by :func:`save_policy`, validating every tensor shape.

    Raises:
        CheckpointError: missing files, pickles, unknown family, or mismatched tensors.
    """
    folder = _resolve(Path(path))
    cfg_path, w_path = folder / CONFIG, folder / WEIGHTS
    if not w_path.exists():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
        hint = f"; found pickle files {pickles}, which are refused" if pickles else ""
        raise CheckpointError(f"{folder} has no {WEIGHTS}{hint}")
    if not cfg_path.exists():
        raise CheckpointError(f"{folder} has no {CONFIG} (the architecture cannot be rebuilt)")
    try:
        payload = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{cfg_path} is not valid JSON: {err}") from None
    family = payload.get("family")
    families = _families()
    if family not in families:
        raise CheckpointError(
            f"{cfg_path}: unknown policy family {family!r}; known: {sorted(families)}"
        )
    config_cls, policy_cls = families[family]
    policy = policy_cls(config_cls.from_dict(payload.get("config", {})))
    policy.meta = payload.get("meta", {})
    state = load_file(str(w_path))
    expected = policy.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{k}: {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {missing[:3]}{'...' if len(missing) > 3 else ''}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}")
        if wrong:
            parts.append(f"shape mismatch {wrong[:3]}")
        raise CheckpointError(f"{w_path} does not match {cfg_path}: {'; '.join(parts)}")
    policy.load_state_dict(state)
    return policy.to(device).eval()
