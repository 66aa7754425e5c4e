"""A small vision-language-action policy over discrete action tokens (a ``TokenChunkPolicy``).

``BinningTokenizer`` (per-dimension bins, time-major tokens, invalid sequences flagged),
``DCTBPETokenizer`` (FAST-style DCT + BPE trained locally; variable length closed by EOS),
``VLAPolicy`` (shared image encoder, MiniLM instruction embedding, state, causal transformer
trunk, exact token log-probs), instruction paraphrases, and imitation training.
"""

from robo.policy.vla.fast import DCTBPETokenizer
from robo.policy.vla.instructions import HELD_OUT, TRAIN, paraphrases
from robo.policy.vla.model import VLAConfig, VLAPolicy
from robo.policy.vla.tokenizer import BinningTokenizer

__all__ = [
    "HELD_OUT",
    "TRAIN",
    "BinningTokenizer",
    "DCTBPETokenizer",
    "VLAConfig",
    "VLAPolicy",
    "paraphrases",
]
