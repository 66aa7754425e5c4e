"""Contract for token policies: a :class:`ChunkPolicy` whose chunks are discrete action tokens.

The VLA (:mod:`robo.policy.vla`) implements it; chunk-level RL fine-tuning (:mod:`robo.rft`) and
trajectory preference alignment (:mod:`robo.tpo`) are written against this protocol only, so any
token policy (or a toy one in tests) plugs into both.

Token layout (per-dimension binning): a chunk float32[H, A] becomes ``H * A`` tokens, time-major
(``t0 a0, t0 a1, ..., t0 a{A-1}, t1 a0, ...``), so the executed prefix of ``e`` control steps is
exactly the first ``e * A`` tokens (:meth:`ActionTokenizer.prefix_mask`). Other tokenizers must
still say which tokens touch the executed prefix through ``prefix_mask``: for DCT + BPE
(:class:`robo.policy.vla.DCTBPETokenizer`) every token moves every step, so all of them.

Variable-length tokenizers pad a chunk's tokens to L after an end token; the padding carries no
probability (a policy forces it and gives it log-prob 0) and :meth:`ActionTokenizer.token_mask`
says which tokens are real. Fixed-length tokenizers return all-True.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from robo.policy.base import ChunkPolicy
from robo.types import Observation


@runtime_checkable
class ActionTokenizer(Protocol):
    """Maps action chunks to token ids and back.

    Attributes:
        vocab_size: number of action-token ids (special tokens, if any, included).
        length: tokens per chunk L, padding included (a fixed size for every tokenizer).
    """

    vocab_size: int
    length: int

    def encode(self, chunks: torch.Tensor) -> torch.Tensor:
        """float32[n, H, A] (action units) -> int64[n, L]."""
        ...

    def decode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """int64[n, L] -> (float32[n, H, A], bool[n] valid).

        A sequence that does not decode (bad id, wrong length, ...) is flagged invalid, never
        silently clipped; its chunk rows are zeros.
        """
        ...

    def prefix_mask(self, executed: int) -> torch.Tensor:
        """bool[L]: tokens that determine the first ``executed`` control steps of a chunk."""
        ...

    def token_mask(self, tokens: torch.Tensor) -> torch.Tensor:
        """bool[n, L]: the real tokens of int64[n, L] (False on padding after an end token)."""
        ...


@runtime_checkable
class TokenChunkPolicy(ChunkPolicy, Protocol):
    """A :class:`ChunkPolicy` with exact token-level likelihoods.

    ``log_prob(obs, chunks)`` equals ``token_log_probs(obs, tokenizer.encode(chunks)).sum(-1)``.
    """

    tokenizer: ActionTokenizer

    def sample_tokens(self, obs: Observation, n: int = 1, temperature: float = 1.0) -> torch.Tensor:
        """Sample ``n`` token sequences autoregressively: int64[n, L] (no grad)."""
        ...

    def token_log_probs(self, obs: Observation, tokens: torch.Tensor) -> torch.Tensor:
        """Per-token log-probs of int64[n, L] given ``obs`` -> float32[n, L] (differentiable)."""
        ...

    def token_log_probs_batch(self, obs: list[Observation], tokens: torch.Tensor) -> torch.Tensor:
        """Like :meth:`token_log_probs` with one observation per row: len(obs) == n."""
        ...


def mean_token_nll(
    policy: TokenChunkPolicy, obs: list[Observation], tokens: torch.Tensor
) -> torch.Tensor:
    """Mean NLL [nats] per real token of int64[n, L] (one observation per row), the imitation
    loss of any token policy: padding after a variable-length chunk's end token neither counts
    nor dilutes the mean (differentiable)."""
    logp = policy.token_log_probs_batch(obs, tokens)
    real = policy.tokenizer.token_mask(tokens).to(logp.device)
    return -(logp * real).sum() / real.sum().clamp_min(1)
