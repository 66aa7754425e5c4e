"""Per-dimension uniform binning of action chunks into discrete tokens (an :class:`ActionTokenizer`).

Each action dimension ``j`` is mapped to [-1, 1] by its range ``[low_j, high_j]`` (action
units) and cut into ``bins`` equal bins; a chunk float32[H, A] becomes ``L = H * A`` tokens,
time-major (``t0 a0, t0 a1, ..., t1 a0, ...``). Ids ``0 .. bins-1`` are action bins; the
vocabulary also holds the special id ``BOS = bins`` (start of the chunk), which a policy's
output head can emit too. A sequence holding a special or out-of-vocabulary id, or of the wrong
length, does not decode: :meth:`BinningTokenizer.decode` flags it invalid and gives zeros, it
never clips it to a valid action.

Round trip: ``decode(encode(x))`` returns bin centres, so for ``x`` inside the range the error
per dimension is at most half a bin, ``(high - low) / (2 bins)``.
"""

from __future__ import annotations

import torch
from torch import nn


class RangedTokenizer(nn.Module):
    """Base of the action tokenizers: chunks of H steps x A dimensions, and a per-dimension
    range ``[low, high]`` float[A] (action units, buffers saved with the policy; default
    [-1, 1]) that the policy fits from its training actions (:meth:`set_range`)."""

    def __init__(
        self,
        horizon: int,
        action_dim: int,
        low: torch.Tensor | None = None,
        high: torch.Tensor | None = None,
    ):
        super().__init__()
        if horizon < 1 or action_dim < 1:
            raise ValueError(f"horizon={horizon} and action_dim={action_dim} must be >= 1")
        self.horizon, self.action_dim = horizon, action_dim
        self.register_buffer("low", -torch.ones(action_dim))
        self.register_buffer("high", torch.ones(action_dim))
        if low is not None or high is not None:
            self.set_range(
                low if low is not None else self.low, high if high is not None else self.high
            )

    @torch.no_grad()
    def set_range(self, low: torch.Tensor, high: torch.Tensor) -> None:
        """Set the per-dimension range float[A] (action units); ``high > low`` everywhere."""
        low = torch.as_tensor(low, dtype=torch.float32).reshape(-1)
        high = torch.as_tensor(high, dtype=torch.float32).reshape(-1)
        if low.numel() != self.action_dim or high.numel() != self.action_dim:
            raise ValueError(f"range must have {self.action_dim} entries per bound")
        if not bool((high > low).all()):
            raise ValueError(f"every high must exceed its low (got low={low}, high={high})")
        self.low.copy_(low.to(self.low))
        self.high.copy_(high.to(self.high))


class BinningTokenizer(RangedTokenizer):
    """Uniform per-dimension binning over ``[low, high]`` (buffers, saved with the policy).

    Args:
        horizon: H, control steps per chunk.
        action_dim: A.
        bins: bins per dimension (e.g. 64-256); also the id of the BOS token.
        low, high: float[A] range per dimension (action units); default [-1, 1].

    Attributes:
        vocab_size: ``bins + 1`` (action bins + BOS).
        length: L = H * A tokens per chunk.
    """

    def __init__(
        self,
        horizon: int,
        action_dim: int,
        bins: int = 128,
        low: torch.Tensor | None = None,
        high: torch.Tensor | None = None,
    ):
        if bins < 2:
            raise ValueError(f"bins={bins} must be >= 2")
        super().__init__(horizon, action_dim, low, high)
        self.bins = bins
        self.bos = bins
        self.vocab_size = bins + 1
        self.length = horizon * action_dim

    def bin_width(self) -> torch.Tensor:
        """float[A]: width of one bin per dimension (action units)."""
        return (self.high - self.low) / self.bins

    def encode(self, chunks: torch.Tensor) -> torch.Tensor:
        """float[n, H, A] (action units) -> int64[n, L], time-major.

        Values outside ``[low, high]`` go to the edge bins (quantising data, not decoding).
        """
        if chunks.ndim != 3 or tuple(chunks.shape[1:]) != (self.horizon, self.action_dim):
            raise ValueError(
                f"chunks must be [n, {self.horizon}, {self.action_dim}], got {tuple(chunks.shape)}"
            )
        x = (chunks.to(self.low) - self.low) / (self.high - self.low)
        ids = torch.floor(x * self.bins).clamp(0, self.bins - 1).long()
        return ids.reshape(chunks.shape[0], self.length)

    def decode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """int64[n, L] -> (float32[n, H, A] bin centres, bool[n] valid).

        Invalid rows (an id outside ``0 .. bins-1``, e.g. BOS) are zeros; a wrong length makes
        every row invalid.
        """
        if tokens.ndim != 2:
            raise ValueError(f"tokens must be [n, L], got shape {tuple(tokens.shape)}")
        n = tokens.shape[0]
        out = torch.zeros(n, self.horizon, self.action_dim, device=self.low.device)
        if tokens.shape[1] != self.length:
            return out, torch.zeros(n, dtype=torch.bool, device=self.low.device)
        tokens = tokens.to(self.low.device)
        valid = ((tokens >= 0) & (tokens < self.bins)).all(dim=1)
        ids = tokens.clamp(0, self.bins - 1).view(n, self.horizon, self.action_dim).float()
        centres = self.low + (ids + 0.5) * self.bin_width()
        out = torch.where(valid.view(n, 1, 1), centres, out)
        return out.float(), valid

    def prefix_mask(self, executed: int) -> torch.Tensor:
        """bool[L]: the first ``executed * A`` tokens (those of the executed prefix)."""
        if not 0 <= executed <= self.horizon:
            raise ValueError(f"executed={executed} must be in [0, H={self.horizon}]")
        return torch.arange(self.length, device=self.low.device) < executed * self.action_dim

    def fit(self, chunks: torch.Tensor) -> dict[str, float]:
        """Nothing to learn from training chunks beyond the range (:meth:`set_range`): ``{}``."""
        return {}

    def token_mask(self, tokens: torch.Tensor) -> torch.Tensor:
        """bool[n, L]: tokens that carry probability (all of them: the length is fixed)."""
        return torch.ones(tokens.shape, dtype=torch.bool, device=tokens.device)

    def allowed(self, tokens: torch.Tensor, strict: bool) -> torch.Tensor:
        """bool[n, t, vocab_size]: ids allowed at each position of int64[n, t]; ``strict``
        allows only action bins (the chunk then always decodes), otherwise every id."""
        mask = self.valid_token_mask() if strict else torch.ones(self.vocab_size, dtype=torch.bool)
        return mask.to(tokens.device)[None, None].expand(*tokens.shape, -1)

    def allowed_next(self, tokens: torch.Tensor, strict: bool) -> torch.Tensor:
        """bool[n, vocab_size]: ids that may follow ``tokens`` int64[n, t] (see :meth:`allowed`)."""
        slot = torch.zeros(tokens.shape[0], 1, dtype=torch.long, device=tokens.device)
        return self.allowed(slot, strict)[:, 0]

    def valid_token_mask(self) -> torch.Tensor:
        """bool[vocab_size]: ids that may appear inside a chunk (the action bins)."""
        return torch.arange(self.vocab_size, device=self.low.device) < self.bins
