"""Φ sources for RL: the privileged ``gt`` and the General Reward Model as a Markov potential.

The GRM predicts hops between two frames. Chaining hops along the episode (its incremental
tracker) makes Φ depend on history, which PBRS forbids. :class:`AnchoredGRMProgress` instead
anchors every hop to fixed reference frames taken once from one demonstration:

* forward: Φ_f = apply_hop(0, hop(demo start -> s)),
* backward: Φ_b = apply_hop(1, hop(demo goal -> s)),

fused by inverse variance (the GRM's own std per hop). The references never change during
training, so Φ is a function of the current images (and instruction) alone; the fused std is
the uncertainty the shaping layer can gate on.

The anchored Φ is compressed (0.38 -> 0.56 along expert episodes of metaworld/reach, see
``bench/results/rl_potential_cal.json``). :func:`measure_calibration` fits the shaping layer's
affine calibration on a few demo episodes' first and goal frames, once, before training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from robo.reward.shaping import (
    AffineCalibration,
    ProgressEstimate,
    ProgressFn,
    fit_affine_calibration,
)


class AnchoredGRMProgress:
    """Batch Φ(s) in [0, 1] with uncertainty from a GRM and a demo's start and goal frames.

    Args:
        model: a :class:`robo.reward.model.ProgressRewardModel` (eval mode).
        start_images, goal_images: camera -> uint8[H, W, 3] of the reference demo's first
            and last (success) frames.
    """

    markovian = True

    def __init__(
        self,
        model: Any,
        start_images: Mapping[str, np.ndarray],
        goal_images: Mapping[str, np.ndarray],
    ):
        from robo.reward.scoring import encode_frames, stack_views

        self.model = model.eval()
        self.views = tuple(model.config.views)
        self.device = next(model.parameters()).device
        self._stack = stack_views
        self.start = encode_frames(model, stack_views(start_images, self.views)[None])
        self.goal = encode_frames(model, stack_views(goal_images, self.views)[None])
        self._text: dict[str, torch.Tensor] = {}

    def _text_emb(self, instruction: str) -> torch.Tensor:
        if instruction not in self._text:
            from robo.reward.text import embed_instructions

            emb = embed_instructions([instruction], self.model.config.text_backend)
            self._text[instruction] = torch.as_tensor(np.asarray(emb)).float().to(self.device)
        return self._text[instruction]

    @torch.no_grad()
    def __call__(self, observations: Sequence[Mapping[str, Any]]) -> ProgressEstimate:
        from robo.reward.scoring import encode_frames, fuse, std_scale, view_presence

        b = len(observations)
        frames = np.stack([self._stack(o["images"], self.views) for o in observations])
        mask = torch.as_tensor(
            np.stack([view_presence(o["images"], self.views) for o in observations])
        ).to(self.device)
        emb = encode_frames(self.model, frames)
        text = torch.cat([self._text_emb(o["instruction"]) for o in observations], 0)
        start = self.start.expand(b, -1, -1)
        goal = self.goal.expand(b, -1, -1)
        h, s = self.model.hop(
            torch.cat([start, goal], 0),
            emb.repeat(2, 1, 1),
            text.repeat(2, 1),
            start.repeat(2, 1, 1),
            goal.repeat(2, 1, 1),
            mask.repeat(2, 1),
        )
        h, s = h.float().cpu().numpy(), s.float().cpu().numpy()
        fwd = np.clip(h[:b], 0.0, 1.0)  # apply_hop(0, h)
        bwd = 1.0 + np.clip(h[b:], -1.0, 0.0)  # apply_hop(1, h)
        phi, std, _ = fuse(np.stack([fwd, bwd], -1), np.stack([s[:b], s[b:]], -1))
        # The GRM's raw std is rescaled by the factor calibrated on held-out data after training.
        return ProgressEstimate(np.clip(phi, 0.0, 1.0), std * std_scale(self.model))


class EnsembleProgress:
    """Mean Φ of several Markov Φ sources (one :class:`AnchoredGRMProgress` per member of a
    reward-model ensemble, :mod:`robo.reward.ensemble`); uncertainty = the mixture's std."""

    markovian = True

    def __init__(self, members: Sequence[Any]):
        if not members:
            raise ValueError("EnsembleProgress needs at least one member")
        self.members = list(members)

    def __call__(self, observations: Sequence[Mapping[str, Any]]) -> ProgressEstimate:
        from robo.reward.ensemble import combine

        outs = [m(observations) for m in self.members]
        phi, std = combine([o.phi for o in outs], [o.uncertainty for o in outs])
        return ProgressEstimate(np.clip(phi, 0.0, 1.0), std)


def reference_frames(
    env: Any, expert: Any, seed: int, max_steps: int = 1000
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], bool]:
    """Start and goal camera images of one expert episode on ``env`` (render=True).

    Returns ``(start_images, goal_images, success)``; the goal is the first success frame
    (the last frame when the expert fails).
    """
    obs, info = env.reset(seed=seed)
    expert.reset(env, obs, info)
    start = {k: v.copy() for k, v in obs["images"].items()}
    for _ in range(max_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(env, obs, info))
        if info.get("success") or terminated or truncated:
            break
    return start, {k: v.copy() for k, v in obs["images"].items()}, bool(info.get("success"))


CALIBRATION_SEED0 = 99_900
"""First seed of the calibration episodes: apart from the reference (99_999), the demos
(10_000 + seed + k) and the evaluation scenes (10**6 and 10**7 multiples)."""


def measure_calibration(
    fn: ProgressFn,
    frames: Sequence[tuple[Mapping[str, np.ndarray], Mapping[str, np.ndarray]]],
    instruction: str,
) -> tuple[AffineCalibration, dict[str, Any]]:
    """Fit the affine calibration of ``fn`` on demo episodes' first and goal frames, once.

    Args:
        fn: the progress function (e.g. :class:`AnchoredGRMProgress`).
        frames: per demo episode, ``(start_images, goal_images)`` (camera -> uint8[H, W, 3]).
        instruction: the task's instruction, given to ``fn`` with every frame.

    Returns:
        ``(calibration, details)``: Φ_start / Φ_goal are the means of Φ over the start and
        goal frames; ``details`` lists the per-episode values.
    """
    if not frames:
        raise ValueError("calibration needs at least one demo episode (hint: calibrate=3)")
    obs = [{"images": dict(im), "instruction": instruction} for pair in frames for im in pair]
    phi = np.asarray(fn(obs).phi, dtype=np.float64).reshape(len(frames), 2)
    cal = fit_affine_calibration(phi[:, 0], phi[:, 1])
    details = {
        "episodes": len(frames),
        "phi_start": cal.phi_start,
        "phi_goal": cal.phi_goal,
        "gain": cal.gain,
        "phi_start_per_episode": phi[:, 0].tolist(),
        "phi_goal_per_episode": phi[:, 1].tolist(),
    }
    return cal, details


def expert_calibration_frames(
    env: Any, make_expert: Any, episodes: int, seed0: int = CALIBRATION_SEED0
) -> list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
    """(start, goal) images of ``episodes`` successful expert episodes on ``env`` (render=True).

    Seeds ``seed0, seed0 + 1, ...``; failed expert episodes are skipped (at most 3x tries).
    """
    out = []
    for k in range(3 * episodes):
        if len(out) == episodes:
            break
        start, goal, ok = reference_frames(env, make_expert(), seed=seed0 + k)
        if ok:
            out.append((start, goal))
    return out
