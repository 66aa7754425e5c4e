"""A small vision-language-action policy over discrete action tokens (a ``TokenChunkPolicy``).

``BinningTokenizer`` (per-dimension bins, time-major tokens, invalid sequences flagged),
``VLAPolicy`` (shared image encoder, MiniLM instruction embedding, state, causal transformer
trunk, exact token log-probs), instruction paraphrases, and imitation training.
"""

from robo.policy.vla.instructions import HELD_OUT, TRAIN, paraphrases
from robo.policy.vla.model import VLAConfig, VLAPolicy
from robo.policy.vla.tokenizer import BinningTokenizer

__all__ = ["HELD_OUT", "TRAIN", "BinningTokenizer", "VLAConfig", "VLAPolicy", "paraphrases"]
