"""Reward-model checkpoints: ``model.safetensors`` + ``config.json`` in one folder.

Nothing is ever unpickled: the loader reads safetensors only, checks every tensor's name and
shape against the model the config builds, and refuses pickle/zip files with a one-line hint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from robo.reward.model import ProgressRewardModel, RewardModelConfig

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


class CheckpointError(ValueError):
    """A checkpoint that is missing, not safetensors, or does not match its config."""


def _check_safetensors_file(path: Path) -> None:
    with open(path, "rb") as f:
        head = f.read(9)
    # A safetensors file starts with an 8-byte little-endian header length and then "{"; its
    # first byte may well be 0x80, so only files without that layout are checked for pickle/zip.
    if len(head) == 9 and head[8:9] == b"{":
        return
    if head[:2] == b"PK" or head[:1] == b"\x80":
        raise CheckpointError(
            f"{path} is a pickle/zip file; robo loads only safetensors "
            "(hint: convert it with safetensors.torch.save_file)"
        )
    if len(head) < 9 or head[8:9] != b"{":
        raise CheckpointError(f"{path} is not a safetensors file (bad header)")


def save_checkpoint(
    model: ProgressRewardModel, out_dir: str | Path, meta: dict[str, Any] | None = None
) -> Path:
    """Write ``out_dir/model.safetensors`` and ``out_dir/config.json``; returns ``out_dir``."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / WEIGHTS), metadata={"format": "robo-grm-v1"})
    payload = {"model": model.config.to_dict(), "meta": meta or {}}
    (out / CONFIG).write_text(json.dumps(payload, indent=2, default=str))
    return out


def read_meta(ckpt_dir: str | Path) -> dict[str, Any]:
    """The ``meta`` block saved with a checkpoint (training data, metrics, ...)."""
    return json.loads((Path(ckpt_dir) / CONFIG).read_text()).get("meta", {})


def load_checkpoint(ckpt_dir: str | Path, device: str = "cpu") -> ProgressRewardModel:
    """Build the model from ``config.json`` and load ``model.safetensors`` into it (eval mode).

    Raises:
        CheckpointError: missing files, a pickle, or tensors whose names/shapes do not match.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    d = Path(ckpt_dir)
    if d.is_file():
        raise CheckpointError(f"{d} is a file; pass the checkpoint folder (with {WEIGHTS})")
    for name in (WEIGHTS, CONFIG):
        if not (d / name).exists():
            raise CheckpointError(
                f"checkpoint {d} has no {name} (hint: train one with `robo train-reward`)"
            )
    try:
        cfg = RewardModelConfig.from_dict(json.loads((d / CONFIG).read_text())["model"])
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise CheckpointError(f"{d / CONFIG} is not a reward-model config: {err}") from None
    _check_safetensors_file(d / WEIGHTS)
    try:
        state = load_file(str(d / WEIGHTS), device=device)
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{d / WEIGHTS} is unreadable: {err}") from None
    cfg.pretrained_path = None  # weights come from the checkpoint itself
    model = ProgressRewardModel(cfg).to(device)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{d} does not match its config: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    for k, v in expected.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise CheckpointError(
                f"{d}: tensor {k} has shape {tuple(state[k].shape)}, config needs {tuple(v.shape)}"
            )
    model.load_state_dict(state)
    model.eval()
    return model


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors from a local weights file: safetensors, or a torch state dict loaded with
    ``weights_only=True`` (never a full unpickle)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"weights file {p} not found (hint: robo never downloads weights)")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        _check_safetensors_file(p)
        return load_file(str(p))
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError and friends
        raise CheckpointError(f"{p} is not a plain tensor state dict: {err}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{p} holds a {type(state).__name__}, not a state dict")
    return state
