"""Progress from hops: per-frame embedding cache, multi-perspective fusion, online tracking.

Three perspectives estimate Φ_t from the same hop network:

* **incremental**: Φ_t = apply_hop(Φ_{t-1}, hop(frame_{t-1} -> frame_t));
* **forward-anchored**: Φ_t = apply_hop(0, hop(start -> frame_t)) (the start has Φ = 0);
* **backward-anchored**: Φ_t = apply_hop(1, hop(goal -> frame_t)) (a demo's goal frame has
  Φ = 1), available when a goal frame is given.

Each comes with a std from the hop distribution (the incremental one accumulates along the
episode), and they are fused by inverse variance like a one-dimensional Kalman filter: the
fused Φ_t is the prior for the next incremental step. The fused std is exposed so callers (e.g.
reward shaping) can gate on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from robo.reward.bins import progress_std_after_hop
from robo.reward.model import ProgressRewardModel
from robo.reward.text import embed_instructions
from robo.types import Episode, apply_hop

PERSPECTIVES = ("incremental", "forward", "backward")
MIN_STD = 1e-3
START_PRIOR_STD = 0.15


def stack_views(images: Mapping[str, np.ndarray], views: Sequence[str]) -> np.ndarray:
    """uint8[..., V, H, W, 3] from a camera dict of uint8[..., H, W, 3] (missing view -> zeros)."""
    present = [images[v] for v in views if v in images]
    if not present:
        raise ValueError(f"no camera of {list(views)} in observation (has {list(images)})")
    ref = present[0]
    arrs = [np.asarray(images[v]) if v in images else np.zeros_like(ref) for v in views]
    return np.stack(arrs, axis=-4)


def view_presence(images: Mapping[str, np.ndarray], views: Sequence[str]) -> np.ndarray:
    """bool[V]: which of the model's cameras the observation has."""
    return np.array([v in images for v in views], bool)


@torch.no_grad()
def encode_frames(model: ProgressRewardModel, frames: np.ndarray, batch: int = 64) -> torch.Tensor:
    """Embeddings float[T, V, D] of uint8[T, V, H, W, 3] frames, in batches."""
    dev = next(model.parameters()).device
    out = [
        model.encode(torch.as_tensor(frames[i : i + batch]).to(dev))
        for i in range(0, len(frames), batch)
    ]
    return torch.cat(out, 0)


def fuse(estimates: np.ndarray, stds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse-variance fusion along the last axis.

    Args:
        estimates, stds: float[..., P] (NaN estimate = perspective absent).
    Returns:
        (fused float[...], fused std float[...], weights float[..., P] summing to 1).
    """
    est = np.asarray(estimates, np.float64)
    prec = 1.0 / np.maximum(np.asarray(stds, np.float64), MIN_STD) ** 2
    prec = np.where(np.isfinite(est), prec, 0.0)
    total = prec.sum(-1, keepdims=True)
    w = prec / np.maximum(total, 1e-12)
    fused = (w * np.nan_to_num(est)).sum(-1)
    return fused, 1.0 / np.sqrt(np.maximum(total[..., 0], 1e-12)), w


@dataclass
class ProgressTrace:
    """Per-step progress of one episode; arrays are float[T] (weights float[T, 3])."""

    phi: np.ndarray
    std: np.ndarray
    perspectives: dict[str, np.ndarray] = field(default_factory=dict)
    perspective_std: dict[str, np.ndarray] = field(default_factory=dict)
    weights: np.ndarray | None = None
    hops: np.ndarray | None = None


def _recurse(
    inc_hop: np.ndarray,
    inc_std: np.ndarray,
    fwd_hop: np.ndarray | None,
    fwd_std: np.ndarray | None,
    bwd: np.ndarray | None,
    bwd_std: np.ndarray | None,
    use_incremental: bool,
    q: float = 0.0,
) -> ProgressTrace:
    """Kalman-style pass over T steps (hops float[T-1] incremental, float[T] anchored).

    Φ_0 fuses the prior "episodes start at 0" (std :data:`START_PRIOR_STD`) with the backward
    estimate of frame 0, so a video that starts done (e.g. played backwards) starts high.
    The forward estimate is ``apply_hop(Φ_0, hop(start -> t))``. ``q``: process noise added to
    the incremental step's std (see :func:`process_std`).
    """
    T = len(inc_hop) + 1
    phi, std = np.zeros(T), np.zeros(T)
    per = np.full((T, 3), np.nan)
    per_std = np.full((T, 3), np.nan)
    weights = np.zeros((T, 3))
    if bwd is not None:
        phi[0], std[0], _ = fuse(np.array([0.0, bwd[0]]), np.array([START_PRIOR_STD, bwd_std[0]]))
    else:
        phi[0], std[0] = 0.0, START_PRIOR_STD
    per[0], per_std[0], weights[0] = phi[0], std[0], 1.0 / 3
    for t in range(1, T):
        if use_incremental:
            per[t, 0] = apply_hop(phi[t - 1], inc_hop[t - 1])
            per_std[t, 0] = np.hypot(
                progress_std_after_hop(phi[t - 1], std[t - 1], inc_hop[t - 1], inc_std[t - 1]), q
            )
        if fwd_hop is not None:
            per[t, 1] = apply_hop(phi[0], fwd_hop[t])
            per_std[t, 1] = progress_std_after_hop(phi[0], std[0], fwd_hop[t], fwd_std[t])
        if bwd is not None:
            per[t, 2], per_std[t, 2] = bwd[t], bwd_std[t]
        phi[t], std[t], weights[t] = fuse(per[t], np.nan_to_num(per_std[t], nan=1.0))
    return ProgressTrace(
        phi=np.clip(phi, 0, 1),
        std=std,
        perspectives={p: per[:, i] for i, p in enumerate(PERSPECTIVES)},
        perspective_std={p: per_std[:, i] for i, p in enumerate(PERSPECTIVES)},
        weights=weights,
        hops=inc_hop,
    )


@torch.no_grad()
def score_embeddings(
    model: ProgressRewardModel,
    emb: torch.Tensor,
    text: torch.Tensor,
    goal: torch.Tensor | None = None,
    view_mask: torch.Tensor | None = None,
    perspectives: Sequence[str] = PERSPECTIVES,
) -> ProgressTrace:
    """Progress trace of an episode from cached frame embeddings.

    Args:
        emb: float[T, V, D] frame embeddings (frame 0 is the start).
        text: float[text_dim] instruction embedding.
        goal: float[V, D] embedding of a goal frame from a demo, or None.
        view_mask: bool[V] cameras to use (None = all).
        perspectives: subset of :data:`PERSPECTIVES` to fuse.
    """
    unknown = set(perspectives) - set(PERSPECTIVES)
    if unknown or not perspectives:
        raise ValueError(f"perspectives must be a non-empty subset of {PERSPECTIVES}")
    T = emb.shape[0]
    start = emb[:1].expand(T, -1, -1)
    g = goal.unsqueeze(0).expand(T, -1, -1) if goal is not None else None
    txt = text.reshape(1, -1).expand(T, -1)
    vm = None if view_mask is None else view_mask.reshape(1, -1).expand(T, -1)
    prev = torch.cat([emb[:1], emb[:-1]], 0)
    h_inc, s_inc = model.hop(prev, emb, txt, start, g, vm)
    fwd = fwd_s = bwd = bwd_s = None
    if "forward" in perspectives:
        h, s = model.hop(start, emb, txt, start, g, vm)
        fwd, fwd_s = h.cpu().numpy(), s.cpu().numpy()
    if "backward" in perspectives and g is not None:
        h, s = model.hop(g, emb, txt, start, g, vm)
        bwd, bwd_s = 1.0 + np.clip(h.cpu().numpy(), -1, 0), s.cpu().numpy()
    use_inc = "incremental" in perspectives or (fwd is None and bwd is None)
    trace = _recurse(
        h_inc.cpu().numpy()[1:], s_inc.cpu().numpy()[1:], fwd, fwd_s, bwd, bwd_s, use_inc,
        process_std(model),
    )  # fmt: skip
    trace.std = trace.std * std_scale(model)
    return trace


PROCESS_STD = 0.1
"""Default process noise [Φ] of the incremental step (session 8: with 0, a model missing its
wrist camera scored Meta-World episodes as regress, voc_s -0.5 to -0.9; with 0.1 no camera
subset of four models inverted and all-camera voc_s moved by <= 0.02, docs/BENCHMARKS.md)."""


def process_std(model: ProgressRewardModel) -> float:
    """Process noise [Φ] added to the incremental step's std (``config.extra["process_std"]``;
    default :data:`PROCESS_STD`; 0 = none, the behaviour of sessions 1-7).

    The fused Φ is the prior of the next incremental step and its std shrinks at every fusion,
    so the incremental perspective comes to dominate; a small bias in its step hops (e.g. a
    model missing its wrist camera) then integrates into a drifting Φ. Process noise bounds
    that confidence (``bench/bench_reward_views.py --process-std``)."""
    return float(model.config.extra.get("process_std", PROCESS_STD))


def std_scale(model: ProgressRewardModel) -> float:
    """Calibration factor of the fused std (fit on held-out episodes after training)."""
    return float(model.config.extra.get("std_scale", 1.0))


def score_episode(
    model: ProgressRewardModel,
    ep: Episode,
    goal_images: Mapping[str, np.ndarray] | None = None,
    views: Sequence[str] | None = None,
    perspectives: Sequence[str] = PERSPECTIVES,
    reverse: bool = False,
    instruction: str | None = None,
) -> ProgressTrace:
    """Progress trace of ``ep`` (frames encoded once, in batches).

    Args:
        goal_images: one goal frame per camera (uint8[H, W, 3]) from a demo, or None.
        views: cameras to use (None = every model camera the episode has).
        reverse: score the episode played backwards (for ``voc_rev``).
        instruction: override the episode's instruction (instruction-swap tests).
    """
    cams = model.config.views
    frames = stack_views(ep.images, cams)
    if reverse:
        frames = frames[::-1].copy()
    mask = view_presence(ep.images, cams)
    if views is not None:
        mask &= np.array([c in views for c in cams])
    if not mask.any():
        raise ValueError(f"none of the cameras {list(views or [])} is in the model's {list(cams)}")
    dev = next(model.parameters()).device
    emb = encode_frames(model, frames)
    text = torch.as_tensor(
        embed_instructions([instruction or ep.instruction], model.config.text_backend)[0]
    ).to(dev)
    goal = None
    if goal_images is not None:
        goal = encode_frames(model, stack_views(goal_images, cams)[None])[0]
    return score_embeddings(model, emb, text, goal, torch.as_tensor(mask).to(dev), perspectives)


class ProgressTracker:
    """Online progress: one encoder pass per camera per step, embeddings cached.

    ``reset(obs)`` takes the start observation; ``step(obs)`` returns (Φ, std) of the new one.
    """

    def __init__(
        self,
        model: ProgressRewardModel,
        instruction: str,
        goal_images: Mapping[str, np.ndarray] | None = None,
    ):
        self.model = model.eval()
        self.dev = next(model.parameters()).device
        self.text = torch.as_tensor(
            embed_instructions([instruction], model.config.text_backend)
        ).to(self.dev)
        self.goal = None
        if goal_images is not None:
            self.goal = encode_frames(model, stack_views(goal_images, model.config.views)[None])
        self.cache: list[torch.Tensor] = []
        self.phi, self.std = 0.0, START_PRIOR_STD
        self.phi0, self.std0 = self.phi, self.std
        self.history: list[tuple[float, float]] = []

    @torch.no_grad()
    def _embed(self, images: Mapping[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        cams = self.model.config.views
        frames = torch.as_tensor(stack_views(images, cams)[None]).to(self.dev)
        mask = torch.as_tensor(view_presence(images, cams)[None]).to(self.dev)
        return self.model.encode(frames), mask

    @torch.no_grad()
    def reset(self, images: Mapping[str, np.ndarray]) -> tuple[float, float]:
        """Start a new episode from its first observation's images; returns (Φ_0, std)."""
        emb, mask = self._embed(images)
        self.cache = [emb]
        self.phi, self.std = 0.0, START_PRIOR_STD
        if self.goal is not None:
            h, s = self.model.hop(self.goal, emb, self.text, emb, self.goal, mask)
            bwd = 1.0 + float(np.clip(h.item(), -1, 0))
            phi, sd, _ = fuse(np.array([0.0, bwd]), np.array([START_PRIOR_STD, s.item()]))
            self.phi, self.std = float(phi), float(sd)
        self.phi0, self.std0 = self.phi, self.std
        self.history = [(self.phi, self.std)]
        return self.phi, self.std * std_scale(self.model)

    @torch.no_grad()
    def step(self, images: Mapping[str, np.ndarray]) -> tuple[float, float]:
        """(Φ, std) after a new observation's camera images (dict of uint8[H, W, 3])."""
        if not self.cache:
            raise RuntimeError("ProgressTracker.step before reset (hint: call reset(obs) first)")
        emb, mask = self._embed(images)
        start, prev = self.cache[0], self.cache[-1]
        befores = [prev, start] + ([self.goal] if self.goal is not None else [])
        n = len(befores)
        h, s = self.model.hop(
            torch.cat(befores, 0),
            emb.expand(n, -1, -1),
            self.text.expand(n, -1),
            start.expand(n, -1, -1),
            None if self.goal is None else self.goal.expand(n, -1, -1),
            mask.expand(n, -1),
        )
        h, s = h.cpu().numpy(), s.cpu().numpy()
        est = [apply_hop(self.phi, h[0]), apply_hop(self.phi0, h[1])]
        std = [
            np.hypot(
                progress_std_after_hop(self.phi, self.std, h[0], s[0]), process_std(self.model)
            ),
            progress_std_after_hop(self.phi0, self.std0, h[1], s[1]),
        ]
        if n == 3:
            est.append(1.0 + np.clip(h[2], -1, 0))
            std.append(s[2])
        phi, sd, _ = fuse(np.array(est, float), np.array(std, float))
        self.cache.append(emb)
        self.phi, self.std = float(np.clip(phi, 0, 1)), float(sd)
        self.history.append((self.phi, self.std))
        return self.phi, self.std * std_scale(self.model)


def calibrate_std(
    model: ProgressRewardModel, episodes: Sequence[Episode], labels: Sequence
) -> float:
    """Fit and store ``std_scale`` = RMS((Φ - label) / std) over held-out frames.

    One temperature for the fused std, stored in the checkpoint's config and applied by
    :func:`score_embeddings`, :class:`ProgressTracker` and the RL progress reward. On fresh
    Meta-World episodes it takes the uncertainty calibration error (``unc_ece``) from 0.32 to
    0.06; a scale fitted to the coverage curve instead did no better
    (``bench/bench_reward_calib.py``). ``labels`` are the automatic training labels (float[T]
    or None per episode), never the privileged progress_gt. Returns the scale (1.0 when
    nothing can be fit).
    """
    model.config.extra["std_scale"] = 1.0
    z = []
    for ep, lab in zip(episodes, labels):
        if lab is None:
            continue
        tr = score_episode(model, ep)
        z.append((tr.phi - np.asarray(lab)) / np.maximum(tr.std, MIN_STD))
    scale = float(np.sqrt(np.mean(np.concatenate(z) ** 2))) if z else 1.0
    model.config.extra["std_scale"] = scale if np.isfinite(scale) and scale > 0 else 1.0
    return model.config.extra["std_scale"]
