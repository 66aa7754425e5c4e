"""Policies over action chunks behind one protocol, :class:`ChunkPolicy`.

``DiffusionPolicy`` (DDPM training, DDIM sampling through a loop :mod:`robo.steer` can drive),
its normaliser, the token-policy contract (:class:`TokenChunkPolicy`) with its family, the VLA
(:mod:`robo.policy.vla`), safetensors checkpoints and :func:`load_policy`.
"""

from robo.policy.base import ChunkPolicy
from robo.policy.checkpoint import CheckpointError, load_policy, save_policy
from robo.policy.ddim import DDIMProcess, sample_plain
from robo.policy.diffusion import DiffusionConfig, DiffusionPolicy
from robo.policy.normalizer import Normalizer
from robo.policy.token_base import ActionTokenizer, TokenChunkPolicy
from robo.policy.vla import BinningTokenizer, DCTBPETokenizer, VLAConfig, VLAPolicy

__all__ = [
    "ActionTokenizer",
    "BinningTokenizer",
    "CheckpointError",
    "DCTBPETokenizer",
    "ChunkPolicy",
    "DDIMProcess",
    "DiffusionConfig",
    "DiffusionPolicy",
    "Normalizer",
    "load_policy",
    "sample_plain",
    "save_policy",
    "TokenChunkPolicy",
    "VLAConfig",
    "VLAPolicy",
]
