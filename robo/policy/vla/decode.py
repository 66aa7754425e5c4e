"""Incremental (KV-cached) causal decoding through a pre-norm ``nn.TransformerEncoder``.

Sampling a chunk of L tokens with full passes costs L passes over a growing sequence; with
cached keys/values each new token runs once through every layer and attends to the cache.
The arithmetic is the layer's own (same weights, pre-norm residual blocks), so the logits match
a full causal pass up to float rounding (tested in tests/policy/vla/test_model.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class KVCacheDecoder:
    """Runs ``trunk`` (``norm_first=True`` layers, GELU or ReLU, batch_first) one token at a time.

    ``prefill(x)`` consumes float[n, T, d] causally and returns its outputs float[n, T, d];
    ``step(x)`` consumes the next float[n, 1, d] and returns float[n, 1, d]. Eval mode only
    (dropout is not applied).
    """

    def __init__(self, trunk: nn.TransformerEncoder):
        self.layers = list(trunk.layers)
        for layer in self.layers:
            if not layer.norm_first or not layer.self_attn.batch_first:
                raise ValueError("KVCacheDecoder needs norm_first=True, batch_first=True layers")
        self.cache: list[tuple[torch.Tensor, torch.Tensor]] = []

    def _attend(self, layer: nn.TransformerEncoderLayer, h: torch.Tensor, i: int | None):
        attn = layer.self_attn
        n, t, d = h.shape
        heads = attn.num_heads
        q, k, v = F.linear(h, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (z.view(n, t, heads, d // heads).transpose(1, 2) for z in (q, k, v))
        if i is None:
            self.cache.append((k, v))
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            k = torch.cat([self.cache[i][0], k], dim=2)
            v = torch.cat([self.cache[i][1], v], dim=2)
            self.cache[i] = (k, v)
            out = F.scaled_dot_product_attention(q, k, v)  # the new token sees everything
        return attn.out_proj(out.transpose(1, 2).reshape(n, t, d))

    def _run(self, x: torch.Tensor, prefill: bool) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = x + self._attend(layer, layer.norm1(x), None if prefill else i)
            x = x + layer.linear2(layer.activation(layer.linear1(layer.norm2(x))))
        return x

    def prefill(self, x: torch.Tensor) -> torch.Tensor:
        """Causal pass over float[n, T, d]; fills the cache."""
        self.cache = []
        return self._run(x, prefill=True)

    def step(self, x: torch.Tensor) -> torch.Tensor:
        """One new position float[n, 1, d] attending to everything cached so far."""
        if not self.cache:
            raise RuntimeError("call prefill() first")
        return self._run(x, prefill=False)
