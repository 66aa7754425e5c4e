"""Policies over action chunks behind one protocol, :class:`ChunkPolicy`.

``DiffusionPolicy`` (DDPM training, DDIM sampling through a loop :mod:`robo.steer` can drive),
its normaliser, safetensors checkpoints and :func:`load_policy`.
"""

from robo.policy.base import ChunkPolicy
from robo.policy.checkpoint import CheckpointError, load_policy, save_policy
from robo.policy.ddim import DDIMProcess, sample_plain
from robo.policy.diffusion import DiffusionConfig, DiffusionPolicy
from robo.policy.normalizer import Normalizer

__all__ = [
    "CheckpointError",
    "ChunkPolicy",
    "DDIMProcess",
    "DiffusionConfig",
    "DiffusionPolicy",
    "Normalizer",
    "load_policy",
    "sample_plain",
    "save_policy",
]
