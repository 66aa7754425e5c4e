"""A tiny token policy implementing :class:`robo.policy.token_base.TokenChunkPolicy` for tests.

Per-dimension binning tokenizer (:class:`BinningTokenizer`) over ``[low, high]`` with ``bins``
action-token ids plus one id (``bins``) that never decodes, so "invalid chunk" is a real
outcome a policy can sample. The policy (:class:`ToyTokenPolicy`) is an MLP over
``obs["state"]`` followed by an autoregressive categorical head: token ``i`` is drawn from
``softmax(W · tanh(h(state) + pos[i] + emb[token_{i-1}]))``, so chunk log-probs are exact sums of
token log-probs. Seconds to train on a CPU; used by tests of :mod:`robo.rft` and :mod:`robo.tpo`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from robo.types import Observation


class BinningTokenizer:
    """Per-dimension uniform binning of chunks float32[n, H, A] in ``[low, high]`` (action units).

    Tokens are time-major (``t0 a0, t0 a1, ..., t1 a0, ...``), L = H * A. Ids ``0..bins-1``
    decode to bin centres; id ``bins`` (and anything out of range) makes the sequence invalid.
    """

    def __init__(
        self, horizon: int, action_dim: int, bins: int = 9, low: float = -1.0, high: float = 1.0
    ):
        if bins < 2 or high <= low:
            raise ValueError(f"need bins >= 2 and high > low, got bins={bins}, [{low}, {high}]")
        self.horizon, self.action_dim, self.bins = horizon, action_dim, bins
        self.low, self.high = float(low), float(high)
        self.vocab_size = bins + 1
        self.invalid_id = bins
        self.length = horizon * action_dim

    def encode(self, chunks: torch.Tensor) -> torch.Tensor:
        """float32[n, H, A] -> int64[n, L] (values outside [low, high] go to the edge bins)."""
        if chunks.shape[-2:] != (self.horizon, self.action_dim):
            raise ValueError(
                f"chunks have shape {tuple(chunks.shape)}; tokenizer expects [n, {self.horizon}, "
                f"{self.action_dim}]"
            )
        unit = (chunks.float() - self.low) / (self.high - self.low)
        ids = torch.floor(unit * self.bins).clamp(0, self.bins - 1).long()
        return ids.reshape(chunks.shape[0], self.length)

    def decode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """int64[n, L] -> (float32[n, H, A] bin centres, bool[n] valid); invalid rows are zeros."""
        n = tokens.shape[0]
        out = torch.zeros(n, self.horizon, self.action_dim)
        if tokens.ndim != 2 or tokens.shape[1] != self.length:
            return out, torch.zeros(n, dtype=torch.bool)
        valid = ((tokens >= 0) & (tokens < self.bins)).all(dim=1)
        centres = self.low + (tokens.clamp(0, self.bins - 1).float() + 0.5) * (
            (self.high - self.low) / self.bins
        )
        out[valid] = centres[valid].reshape(-1, self.horizon, self.action_dim)
        return out, valid

    def prefix_mask(self, executed: int) -> torch.Tensor:
        """bool[L]: the first ``executed * A`` tokens (time-major layout)."""
        if not 0 <= executed <= self.horizon:
            raise ValueError(f"executed={executed} must be in [0, H={self.horizon}]")
        mask = torch.zeros(self.length, dtype=torch.bool)
        mask[: executed * self.action_dim] = True
        return mask

    def token_mask(self, tokens: torch.Tensor) -> torch.Tensor:
        """bool[n, L]: every token is real (fixed length)."""
        return torch.ones(tokens.shape, dtype=torch.bool)


@dataclass
class ToyTokenConfig:
    """state_dim: D. action_dim: A. horizon: H [steps]. executed: prefix length [steps].
    bins: action bins per dimension. hidden: MLP width. low/high: action range."""

    state_dim: int = 2
    action_dim: int = 2
    horizon: int = 4
    executed: int = 2
    bins: int = 9
    hidden: int = 32
    low: float = -1.0
    high: float = 1.0
    family: str = "toy_token"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToyTokenConfig:
        return cls(**d)


class ToyTokenPolicy(nn.Module):
    """MLP over ``obs["state"]`` + first-order autoregressive categorical head over tokens."""

    def __init__(self, config: ToyTokenConfig | None = None, **kwargs: Any):
        super().__init__()
        self.config = config or ToyTokenConfig(**kwargs)
        c = self.config
        self.horizon, self.action_dim, self.executed = c.horizon, c.action_dim, c.executed
        self.tokenizer = BinningTokenizer(c.horizon, c.action_dim, c.bins, c.low, c.high)
        n_tok = self.tokenizer.length
        self.trunk = nn.Sequential(
            nn.Linear(c.state_dim, c.hidden), nn.Tanh(), nn.Linear(c.hidden, c.hidden)
        )
        self.pos = nn.Parameter(torch.randn(n_tok, c.hidden) * 0.1)
        self.prev = nn.Embedding(self.tokenizer.vocab_size + 1, c.hidden)  # last id = BOS
        self.head = nn.Linear(c.hidden, self.tokenizer.vocab_size)
        self.meta: dict[str, Any] = {}
        self.last_info: dict[str, Any] = {}

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    def _states(self, obs: list[Observation]) -> torch.Tensor:
        return torch.as_tensor(
            np.stack([o["state"] for o in obs]), dtype=torch.float32, device=self.device
        )

    def _logits(self, ctx: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """ctx float[n, hidden], tokens int64[n, L] -> logits float[n, L, V] (teacher forcing)."""
        bos = torch.full_like(tokens[:, :1], self.tokenizer.vocab_size)
        prev = torch.cat([bos, tokens[:, :-1]], dim=1)
        x = torch.tanh(ctx[:, None] + self.pos[None] + self.prev(prev))
        return self.head(x)

    def token_log_probs_batch(self, obs: list[Observation], tokens: torch.Tensor) -> torch.Tensor:
        """float32[n, L] per-token log-probs, one observation per row (differentiable)."""
        if len(obs) != tokens.shape[0]:
            raise ValueError(f"{len(obs)} observations for {tokens.shape[0]} token rows")
        tokens = tokens.to(self.device)
        logits = self._logits(self.trunk(self._states(obs)), tokens)
        return torch.log_softmax(logits, -1).gather(-1, tokens[..., None]).squeeze(-1)

    def token_log_probs(self, obs: Observation, tokens: torch.Tensor) -> torch.Tensor:
        return self.token_log_probs_batch([obs] * tokens.shape[0], tokens)

    @torch.no_grad()
    def sample_tokens(
        self,
        obs: Observation,
        n: int = 1,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """int64[n, L] drawn autoregressively (greedy when ``temperature == 0``)."""
        ctx = self.trunk(self._states([obs])).expand(n, -1)
        prev = torch.full((n,), self.tokenizer.vocab_size, dtype=torch.long, device=self.device)
        out = []
        for i in range(self.tokenizer.length):
            logits = self.head(torch.tanh(ctx + self.pos[i] + self.prev(prev)))
            if temperature <= 0:
                prev = logits.argmax(-1)
            else:
                probs = torch.softmax(logits / temperature, -1)
                prev = (
                    torch.multinomial(probs.cpu(), 1, generator=generator)
                    .squeeze(1)
                    .to(self.device)
                )
            out.append(prev)
        return torch.stack(out, dim=1)

    @torch.no_grad()
    def sample(
        self,
        obs: Observation,
        n: int = 1,
        steer: Any | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """float32[n, H, A] decoded chunks (invalid rows zeros; ``last_info['valid']`` says which)."""
        tokens = self.sample_tokens(obs, n, generator=generator)
        chunks, valid = self.tokenizer.decode(tokens.cpu())
        self.last_info = {"valid": valid, "tokens": tokens, "nfe": 1}
        return chunks

    def log_prob(self, obs: Observation, chunks: torch.Tensor) -> torch.Tensor:
        return self.token_log_probs(obs, self.tokenizer.encode(chunks)).sum(-1)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file(
            {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()},
            str(path / "model.safetensors"),
        )
        payload = {"family": self.config.family, "config": self.config.to_dict(), "meta": self.meta}
        (path / "config.json").write_text(json.dumps(payload, indent=2))

    @classmethod
    def load(cls, path: str | Path) -> ToyTokenPolicy:
        path = Path(path)
        payload = json.loads((path / "config.json").read_text())
        policy = cls(ToyTokenConfig.from_dict(payload["config"]))
        policy.load_state_dict(load_file(str(path / "model.safetensors")))
        policy.meta = payload.get("meta", {})
        return policy


def toy_obs(state: np.ndarray | list[float], instruction: str = "reach") -> Observation:
    """An observation with only a state (no images) for the toy policy."""
    return {
        "images": {},
        "state": np.asarray(state, dtype=np.float32),
        "instruction": instruction,
        "timestamp": np.zeros((), dtype=np.float64),
    }


def fit_toy_bc(
    policy: ToyTokenPolicy,
    obs: list[Observation],
    chunks: torch.Tensor,
    steps: int = 200,
    lr: float = 1e-2,
) -> float:
    """Behaviour-clone ``policy`` on (obs, chunk float32[n, H, A]) pairs; returns the final NLL."""
    tokens = policy.tokenizer.encode(chunks)
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    loss = torch.tensor(0.0)
    for _ in range(steps):
        loss = -policy.token_log_probs_batch(obs, tokens).sum(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss.detach())
