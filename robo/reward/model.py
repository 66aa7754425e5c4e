"""The General Reward Model: a multi-view hop predictor.

``ProgressRewardModel`` sees a BEFORE and an AFTER observation from every camera, the task
instruction (a MiniLM embedding) and optional reference frames (the episode's start and a goal
frame from a demo), and returns logits over hop bins in [-1, 1] (:mod:`robo.reward.bins`).

Architecture (CPU-sized by default, ~0.14 M parameters):

* a shared per-view image encoder (small CNN with a spatial-softmax head, or a torchvision
  ResNet-18 that may load local pretrained weights) maps uint8[H, W, 3] -> float[D];
* tokens: [CLS, instruction] + for each view v: before, after, after - before, start, goal,
  each plus a view embedding and a role embedding;
* a small pre-norm transformer fuses them; a missing camera, absent reference or dropped view
  is masked out of attention, so the model degrades gracefully (view dropout in training);
* a linear head on CLS gives ``n_bins`` logits.

Frame embeddings depend on the frame alone, so callers cache them: scoring a new step costs one
encoder pass per camera plus a transformer pass over 2 + 5V tokens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from robo.reward.bins import HopBins
from robo.types import CAMERA_NAMES

ROLES = ("before", "after", "delta", "start", "goal")


@dataclass
class RewardModelConfig:
    """Hyper-parameters of :class:`ProgressRewardModel` (saved beside every checkpoint).

    Attributes:
        views: camera names, in the order the model sees them.
        image_size: side of the square input images [px]; other sizes are resized.
        backbone: ``"small_cnn"`` (default, trained from scratch) or ``"resnet18"``.
        pretrained_path: local torchvision-format weights for the backbone (safetensors or a
            ``torch.save`` state dict, loaded with ``weights_only=True``); None = random init.
        channels: conv widths of the small CNN (each conv halves the resolution).
        embed_dim: token width D.
        fusion_layers: transformer layers; heads: attention heads.
        n_bins: hop bins on [-1, 1] (odd).
        text_dim: instruction embedding size (384 for MiniLM).
        text_backend: ``"minilm"`` (offline MiniLM) or ``"hash"`` (tests only).
        view_dropout: probability of dropping cameras from a training pair (0.25 left the
            26-task model unusable without its wrist camera; docs/BENCHMARKS.md, session 7).
        dropout: dropout inside the transformer.
    """

    views: tuple[str, ...] = CAMERA_NAMES
    image_size: int = 96
    backbone: str = "small_cnn"
    pretrained_path: str | None = None
    channels: tuple[int, ...] = (8, 16, 32, 64)
    embed_dim: int = 64
    fusion_layers: int = 2
    heads: int = 4
    n_bins: int = 25
    text_dim: int = 384
    text_backend: str = "minilm"
    view_dropout: float = 0.5
    dropout: float = 0.1
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["views"], d["channels"] = list(self.views), list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RewardModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(
                f"reward model config has unknown keys {unknown} "
                "(hint: checkpoint from a newer version of robo?)"
            )
        d = dict(d)
        for key in ("views", "channels"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


class SpatialSoftmax(nn.Module):
    """Expected (x, y) in [-1, 1] of each channel's softmax: float[N, C, H, W] -> float[N, 2C]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        p = x.flatten(2).softmax(-1).view(n, c, h, w)
        ys = torch.linspace(-1, 1, h, device=x.device, dtype=x.dtype)
        xs = torch.linspace(-1, 1, w, device=x.device, dtype=x.dtype)
        ex = (p.sum(2) * xs).sum(-1)
        ey = (p.sum(3) * ys).sum(-1)
        return torch.cat([ex, ey], dim=1)


class SmallCNN(nn.Module):
    """Strided conv stack + spatial softmax and mean pooling: float[N, 3, S, S] -> float[N, D]."""

    def __init__(self, channels: tuple[int, ...], out_dim: int):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.GroupNorm(4, c), nn.ReLU()]
            c_in = c
        self.convs = nn.Sequential(*layers)
        self.keypoints = SpatialSoftmax()
        self.proj = nn.Sequential(nn.Linear(3 * c_in, out_dim), nn.LayerNorm(out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # channels_last runs the strided convs ~1.3x faster on CPU (oneDNN).
        f = self.convs(x.contiguous(memory_format=torch.channels_last)).contiguous()
        return self.proj(torch.cat([self.keypoints(f), f.mean((2, 3))], dim=1))


class TorchvisionResNet(nn.Module):
    """ResNet-18 trunk (torchvision) with a linear head to D; optional local pretrained weights."""

    def __init__(self, out_dim: int, pretrained_path: str | None):
        super().__init__()
        from torchvision.models import resnet18

        net = resnet18(weights=None)
        if pretrained_path:
            from robo.reward.checkpoint import load_state_dict_file

            state = load_state_dict_file(pretrained_path)
            state = {k: v for k, v in state.items() if not k.startswith("fc.")}
            missing, _ = net.load_state_dict(state, strict=False)
            if any(not k.startswith("fc.") for k in missing):
                raise ValueError(
                    f"pretrained weights {pretrained_path} miss {len(missing)} ResNet-18 keys "
                    "(hint: pass a torchvision resnet18 state dict)"
                )
        net.fc = nn.Identity()
        self.net = net
        self.proj = nn.Sequential(nn.Linear(512, out_dim), nn.LayerNorm(out_dim))
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.net(((x + 0.5) - self.mean) / self.std))


class ProgressRewardModel(nn.Module):
    """Predicts the hop between two multi-view states; see the module docstring."""

    def __init__(self, config: RewardModelConfig | None = None):
        super().__init__()
        self.config = cfg = config or RewardModelConfig()
        self.bins = HopBins(cfg.n_bins)
        d, v = cfg.embed_dim, len(cfg.views)
        if cfg.backbone == "small_cnn":
            self.encoder: nn.Module = SmallCNN(cfg.channels, d)
        elif cfg.backbone == "resnet18":
            self.encoder = TorchvisionResNet(d, cfg.pretrained_path)
        else:
            raise ValueError(f"unknown backbone {cfg.backbone!r} (hint: small_cnn or resnet18)")
        self.view_emb = nn.Parameter(torch.randn(v, d) * 0.02)
        self.role_emb = nn.Parameter(torch.randn(len(ROLES), d) * 0.02)
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.text_proj = nn.Linear(cfg.text_dim, d)
        self.delta_proj = nn.Linear(d, d)
        layer = nn.TransformerEncoderLayer(
            d, cfg.heads, 2 * d, cfg.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.fusion = nn.TransformerEncoder(layer, cfg.fusion_layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, cfg.n_bins))

    @property
    def n_views(self) -> int:
        return len(self.config.views)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Frame embeddings: uint8[N, V, H, W, 3] -> float[N, V, D] (resized to image_size)."""
        if images.ndim != 5 or images.shape[-1] != 3 or images.shape[1] != self.n_views:
            raise ValueError(
                f"encode expects uint8[N, V={self.n_views}, H, W, 3], got {tuple(images.shape)}"
            )
        n, v, h, w, _ = images.shape
        x = images.reshape(n * v, h, w, 3).permute(0, 3, 1, 2).float().div_(255.0).sub_(0.5)
        s = self.config.image_size
        if (h, w) != (s, s):
            x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False, antialias=True)
        return self.encoder(x).view(n, v, -1)

    def hop_logits(
        self,
        before: torch.Tensor,
        after: torch.Tensor,
        text: torch.Tensor,
        start: torch.Tensor | None = None,
        goal: torch.Tensor | None = None,
        view_mask: torch.Tensor | None = None,
        goal_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits float[B, n_bins] of the hop from ``before`` to ``after``.

        Args:
            before, after: frame embeddings float[B, V, D].
            text: instruction embeddings float[B, text_dim].
            start, goal: reference frame embeddings float[B, V, D] or None (absent).
            view_mask: bool[B, V], True where the camera is present (None = all present).
            goal_mask: bool[B], True where ``goal`` is present (None = present iff given).
        """
        b, v, d = before.shape
        dev = before.device
        vm = torch.ones(b, v, dtype=torch.bool, device=dev) if view_mask is None else view_mask
        zeros = torch.zeros_like(before)
        has_start = torch.full((b,), start is not None, dtype=torch.bool, device=dev)
        if goal is None:
            has_goal = torch.zeros(b, dtype=torch.bool, device=dev)
        else:
            has_goal = (
                torch.ones(b, dtype=torch.bool, device=dev) if goal_mask is None else goal_mask
            )
        per_role = [
            before,
            after,
            self.delta_proj(after - before),
            start if start is not None else zeros,
            goal if goal is not None else zeros,
        ]
        tok = torch.stack(per_role, dim=2)  # [B, V, R, D]
        tok = tok + self.view_emb[None, :, None, :] + self.role_emb[None, None, :, :]
        present = vm[:, :, None].expand(b, v, len(ROLES)).clone()
        present[:, :, 3] &= has_start[:, None]
        present[:, :, 4] &= has_goal[:, None]
        tokens = torch.cat(
            [self.cls.expand(b, 1, d), self.text_proj(text).unsqueeze(1), tok.reshape(b, -1, d)], 1
        )
        keep = torch.cat(
            [torch.ones(b, 2, dtype=torch.bool, device=dev), present.reshape(b, -1)], 1
        )
        out = self.fusion(tokens, src_key_padding_mask=~keep)
        return self.head(out[:, 0])

    def hop(self, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Expected hop and its std, each float[B]; same arguments as :meth:`hop_logits`."""
        return self.bins.mean_std(self.hop_logits(*args, **kwargs))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
