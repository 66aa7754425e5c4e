"""Networks of the diffusion policy: a 1-D temporal conv U-Net with FiLM conditioning and a
multi-view observation encoder (small per-view CNN + state MLP + optional instruction).

Shapes: chunks are [B, H, A] (time-major, as everywhere in robo); the U-Net works on
[B, A, H] internally.
"""

from __future__ import annotations

import math
import zlib

import torch
import torch.nn.functional as F
from torch import nn


class SinusoidalPosEmb(nn.Module):
    """Diffusion timestep t long[B] -> float[B, dim]."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / (half - 1))
        arg = t.float()[:, None] * freqs[None]
        return torch.cat([arg.sin(), arg.cos()], dim=-1)


def _groups(channels: int) -> int:
    return 8 if channels % 8 == 0 else 1


class Conv1dBlock(nn.Sequential):
    """Conv1d -> GroupNorm -> Mish on [B, C, H]."""

    def __init__(self, c_in: int, c_out: int, kernel: int):
        super().__init__(
            nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2),
            nn.GroupNorm(_groups(c_out), c_out),
            nn.Mish(),
        )


class FiLMResBlock1D(nn.Module):
    """Residual block whose hidden features are scaled and shifted by the conditioning."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int, kernel: int):
        super().__init__()
        self.block1 = Conv1dBlock(c_in, c_out, kernel)
        self.block2 = Conv1dBlock(c_out, c_out, kernel)
        self.film = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, 2 * c_out))
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.block1(x)
        scale, shift = self.film(cond).unsqueeze(-1).chunk(2, dim=1)
        h = h * (1 + scale) + shift
        return self.block2(h) + self.skip(x)


class ConditionalUnet1D(nn.Module):
    """Noise predictor eps(x_t, t, cond) over chunks [B, H, A] (H divisible by 2^(levels-1)).

    Args:
        action_dim: A.
        cond_dim: size of the observation embedding.
        dims: channel widths per level (e.g. (64, 128, 256)).
        kernel: temporal kernel size.
        time_dim: diffusion-step embedding size.
    """

    def __init__(
        self,
        action_dim: int,
        cond_dim: int,
        dims: tuple[int, ...] = (64, 128),
        kernel: int = 5,
        time_dim: int = 64,
    ):
        super().__init__()
        self.time_emb = nn.Sequential(
            SinusoidalPosEmb(time_dim), nn.Linear(time_dim, 4 * time_dim), nn.Mish(),
            nn.Linear(4 * time_dim, time_dim),
        )  # fmt: skip
        c = time_dim + cond_dim
        widths = [action_dim, *dims]
        self.down = nn.ModuleList()
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            last = i == len(dims) - 1
            self.down.append(
                nn.ModuleList([
                    FiLMResBlock1D(a, b, c, kernel),
                    FiLMResBlock1D(b, b, c, kernel),
                    nn.Conv1d(b, b, 3, stride=2, padding=1) if not last else nn.Identity(),
                ])
            )  # fmt: skip
        mid = dims[-1]
        self.mid = nn.ModuleList([FiLMResBlock1D(mid, mid, c, kernel) for _ in range(2)])
        self.up = nn.ModuleList()
        for a, b in zip(reversed(dims[1:]), reversed(dims[:-1])):
            self.up.append(
                nn.ModuleList([
                    FiLMResBlock1D(2 * a, b, c, kernel),
                    FiLMResBlock1D(b, b, c, kernel),
                    nn.ConvTranspose1d(b, b, 4, stride=2, padding=1),
                ])
            )  # fmt: skip
        self.final = nn.Sequential(
            Conv1dBlock(dims[0], dims[0], kernel), nn.Conv1d(dims[0], action_dim, 1)
        )
        self.levels = len(dims)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """x float[B, H, A], t long[B], cond float[B, cond_dim] -> eps float[B, H, A]."""
        c = torch.cat([self.time_emb(t), cond], dim=-1)
        h = x.transpose(1, 2)
        skips = []
        for res1, res2, down in self.down:
            h = res2(res1(h, c), c)
            skips.append(h)
            h = down(h)
        for block in self.mid:
            h = block(h, c)
        for res1, res2, up in self.up:
            h = torch.cat([h, skips.pop()], dim=1)
            h = up(res2(res1(h, c), c))
        return self.final(h).transpose(1, 2)


class ViewEncoder(nn.Module):
    """Small CNN: uint8-range image float[B, 3, S, S] -> float[B, out_dim] (spatial softmax)."""

    def __init__(self, out_dim: int = 64, width: int = 32):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(3, width, 5, stride=2, padding=2), nn.GroupNorm(8, width), nn.Mish(),
            nn.Conv2d(width, width, 3, stride=2, padding=1), nn.GroupNorm(8, width), nn.Mish(),
            nn.Conv2d(width, width, 3, stride=1, padding=1), nn.GroupNorm(8, width), nn.Mish(),
        )  # fmt: skip
        self.proj = nn.Linear(2 * width, out_dim)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        h = self.conv(img / 127.5 - 1.0)
        b, c, hh, ww = h.shape
        attn = F.softmax(h.flatten(2), dim=-1).view(b, c, hh, ww)
        ys = torch.linspace(-1, 1, hh, device=img.device)
        xs = torch.linspace(-1, 1, ww, device=img.device)
        kx = (attn.sum(2) * xs).sum(-1)
        ky = (attn.sum(3) * ys).sum(-1)
        return self.proj(torch.cat([kx, ky], dim=-1))


def hash_tokens(text: str, buckets: int) -> list[int]:
    """Stable bucket ids of the lower-cased words of ``text`` (hashed bag of words)."""
    words = "".join(ch if ch.isalnum() else " " for ch in text.lower()).split()
    return [zlib.crc32(w.encode()) % buckets for w in words] or [0]


class ObsEncoder(nn.Module):
    """Observation -> conditioning vector float[B, cond_dim].

    Inputs: ``images`` float[B, V, 3, S, S] in [0, 255] (views in ``cameras`` order; ignored
    when V = 0, a state-only policy), ``state`` float[B, D] (already normalised) and optional
    instruction token ids (hashed words).
    """

    def __init__(
        self,
        num_views: int,
        state_dim: int,
        view_dim: int = 64,
        state_hidden: int = 64,
        instruction_buckets: int = 0,
    ):
        super().__init__()
        self.views = nn.ModuleList([ViewEncoder(view_dim) for _ in range(num_views)])
        self.state = nn.Sequential(nn.Linear(state_dim, state_hidden), nn.Mish())
        self.instruction = (
            nn.EmbeddingBag(instruction_buckets, 32, mode="mean") if instruction_buckets else None
        )
        self.out_dim = num_views * view_dim + state_hidden + (32 if instruction_buckets else 0)

    def forward(
        self,
        images: torch.Tensor | None,
        state: torch.Tensor,
        tokens: torch.Tensor | None = None,
    ) -> torch.Tensor:
        feats = [enc(images[:, i]) for i, enc in enumerate(self.views)] if self.views else []
        feats.append(self.state(state))
        if self.instruction is not None:
            if tokens is None:
                raise ValueError("this policy is conditioned on the instruction; pass tokens")
            feats.append(self.instruction(tokens))
        return torch.cat(feats, dim=-1)
