"""Networks of the diffusion policy: a 1-D temporal conv U-Net with FiLM conditioning and a
multi-view observation encoder (small per-view CNN + state MLP + optional instruction).

Shapes: chunks are [B, H, A] (time-major, as everywhere in robo); the U-Net works on
[B, A, H] internally.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

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

    def film_blocks(self) -> list[FiLMResBlock1D]:
        """The FiLM residual blocks in the order :meth:`forward` runs them."""
        blocks = [blk for res1, res2, _ in self.down for blk in (res1, res2)]
        blocks += list(self.mid)
        return blocks + [blk for res1, res2, _ in self.up for blk in (res1, res2)]

    def film_table(self, t: torch.Tensor, cond: torch.Tensor) -> list[torch.Tensor]:
        """FiLM modulation of every block for timesteps t long[T] and conditioning cond
        float[T or 1, cond_dim]: ``[1 + scale_0, shift_0, 1 + scale_1, ...]``, each float[T, 1, C_i]
        (channels last: broadcast over a chunk's time axis).

        What :meth:`forward` computes per row from ``(t, cond)`` before any convolution; a
        sampler whose conditioning is fixed for a chunk computes it once for its K timesteps
        and passes row k to :meth:`forward_fast` at step k.
        """
        c = torch.cat([self.time_emb(t), cond.expand(t.shape[0], -1)], dim=-1)
        table = []
        for blk in self.film_blocks():
            scale, shift = blk.film(c).unsqueeze(1).chunk(2, dim=2)
            table += [(1 + scale).contiguous(), shift.contiguous()]
        return table

    def fast_weights(self) -> list[torch.Tensor]:
        """The trunk's tensors in the layout :meth:`forward_fast` reads (copies, made from the
        current parameters: call again after they change). Convolutions become matrices
        float[C_out, K * C_in] over time-major windows; the stride-2 transposed convolution
        becomes one matrix over 3-step windows giving the even and odd output steps."""
        out: list[torch.Tensor] = []
        for res1, res2, down in self.down:
            out += _pack_res(res1) + _pack_res(res2)
            if isinstance(down, nn.Conv1d):
                out += _pack_conv(down)
        for block in self.mid:
            out += _pack_res(block)
        for res1, res2, up in self.up:
            out += _pack_res(res1) + _pack_res(res2) + _pack_up(up)
        return out + _pack_block(self.final[0]) + _pack_conv(self.final[1])

    def forward_fast(
        self, x: torch.Tensor, films: Sequence[torch.Tensor], weights: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        """:meth:`forward` for x float[B, H, A] given the FiLM rows (``film_table`` rows,
        float[1, 1, C_i]) and :meth:`fast_weights`: eps float[B, H, A].

        The same maths as :meth:`forward` (equal up to float rounding, ~1e-6), laid out for
        small batches on a CPU: activations stay time-major float[B, H, C], every convolution
        is one matrix product over [B * H, K * C] windows instead of a per-sample convolution
        kernel, and no module is called (tensors in, tensors out: traceable).
        """
        f, w = iter(films), iter(weights)
        h = x
        skips = []
        for res1, res2, down in self.down:
            h = _res_fast(res1, h, next(f), next(f), w)
            h = _res_fast(res2, h, next(f), next(f), w)
            skips.append(h)
            if isinstance(down, nn.Conv1d):
                h = _conv_fast(h, next(w), next(w), 3, stride=2)
        for block in self.mid:
            h = _res_fast(block, h, next(f), next(f), w)
        for res1, res2, _ in self.up:
            h = torch.cat([h, skips.pop()], dim=2)
            h = _res_fast(res1, h, next(f), next(f), w)
            h = _res_fast(res2, h, next(f), next(f), w)
            h = _up_fast(h, next(w), next(w))
        h = _block_fast(self.final[0], h, w)
        return _conv_fast(h, next(w), next(w), 1)


class FastTrunk:
    """``trunk(x, *films, *weights)`` = ``unet.forward_fast(x, films, weights)``: tensors in,
    tensors out, no parameter read, so :func:`torch.jit.trace` can trace :meth:`forward` as a
    plain function (no module hierarchy to script: a fraction of the build time) and the trace
    holds no weights (they are passed in on every call)."""

    def __init__(self, unet: ConditionalUnet1D):
        self.unet = unet
        self.num_films = 2 * len(unet.film_blocks())

    def forward(self, x: torch.Tensor, *tensors: torch.Tensor) -> torch.Tensor:
        n = self.num_films
        return self.unet.forward_fast(x, tensors[:n], tensors[n:])

    __call__ = forward


def _pack_conv(conv: nn.Conv1d) -> list[torch.Tensor]:
    """weight [C_out, C_in, K] -> [C_out, K * C_in] (window-step major), and the bias."""
    w = conv.weight
    return [w.permute(0, 2, 1).reshape(w.shape[0], -1).contiguous(), conv.bias]


def _pack_block(block: Conv1dBlock) -> list[torch.Tensor]:
    return _pack_conv(block[0]) + [block[1].weight, block[1].bias]


def _pack_res(block: FiLMResBlock1D) -> list[torch.Tensor]:
    out = _pack_block(block.block1) + _pack_block(block.block2)
    return out + (_pack_conv(block.skip) if isinstance(block.skip, nn.Conv1d) else [])


def _pack_up(up: nn.ConvTranspose1d) -> list[torch.Tensor]:
    """ConvTranspose1d(C, C', 4, stride=2, padding=1) as one matrix float[2 C', 3 C] over the
    windows ``(x[m-1], x[m], x[m+1])``: ``y[2m] = x[m-1] W_3 + x[m] W_1``, ``y[2m+1] = x[m] W_2 +
    x[m+1] W_0`` (W_j = weight[:, :, j], float[C, C'])."""
    if (up.kernel_size, up.stride, up.padding) != ((4,), (2,), (1,)):
        raise ValueError(f"fast path supports ConvTranspose1d(k=4, s=2, p=1), got {up}")
    w = up.weight
    zero = torch.zeros_like(w[:, :, 0])
    even = torch.cat([w[:, :, 3], w[:, :, 1], zero], dim=0)
    odd = torch.cat([zero, w[:, :, 2], w[:, :, 0]], dim=0)
    return [torch.cat([even, odd], dim=1).t().contiguous(), torch.cat([up.bias, up.bias])]


def _conv_fast(
    h: torch.Tensor, w: torch.Tensor, b: torch.Tensor, kernel: int, stride: int = 1
) -> torch.Tensor:
    """Conv1d (padding kernel // 2) on time-major h float[B, H, C] -> float[B, H', C_out]."""
    if kernel == 1:
        return F.linear(h, w, b)
    pad = kernel // 2
    windows = F.pad(h, (0, 0, pad, pad)).unfold(1, kernel, stride)  # [B, H', C, K]
    bsz, steps = windows.shape[:2]
    windows = windows.transpose(2, 3).reshape(bsz * steps, -1)
    return F.linear(windows, w, b).view(bsz, steps, -1)


def _up_fast(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The stride-2 transposed convolution of :func:`_pack_up`: float[B, H, C] -> [B, 2H, C']."""
    bsz, steps = h.shape[:2]
    windows = F.pad(h, (0, 0, 1, 1)).unfold(1, 3, 1).transpose(2, 3).reshape(bsz * steps, -1)
    return F.linear(windows, w, b).view(bsz, 2 * steps, -1)  # (even, odd) pairs interleave


def _block_fast(block: Conv1dBlock, h: torch.Tensor, w) -> torch.Tensor:
    conv, norm = block[0], block[1]
    h = _conv_fast(h, next(w), next(w), conv.kernel_size[0])
    # torch.group_norm = F.group_norm without its Python-side batch check (a data-dependent
    # branch that tracing would warn about; our batches always have H > 1 values per channel)
    h = torch.group_norm(h.transpose(1, 2), norm.num_groups, next(w), next(w), norm.eps, False)
    return F.mish(h).transpose(1, 2)


def _res_fast(
    block: FiLMResBlock1D, x: torch.Tensor, scale1: torch.Tensor, shift: torch.Tensor, w
) -> torch.Tensor:
    """``FiLMResBlock1D.forward`` on time-major x with its modulation ``(1 + scale, shift)``."""
    h = torch.addcmul(shift, _block_fast(block.block1, x, w), scale1)
    h = _block_fast(block.block2, h, w)
    skip = _conv_fast(x, next(w), next(w), 1) if isinstance(block.skip, nn.Conv1d) else x
    return h + skip


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
