"""Closed-loop evaluation of a chunk policy (optionally steered) on gym-style envs.

The harness knows nothing about MuJoCo: the caller passes an env, a policy, and optional
callbacks — ``make_steer(env, obs)`` builds the steering object for the next chunk (keypoints
from sim state or a detector), ``frame(env)`` renders a video frame, ``path_of(chunks, obs)``
maps chunks to end-effector paths for drawing, ``scene(env)`` gives points to draw (goal,
obstacle). It returns per-episode outcomes and per-chunk NFE / wall time, and
:func:`summarize` turns them into the ``metrics.json`` payload (Wilson CI, ms p50/p99).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from robo.eval.stats import percentiles, success_summary


@dataclass
class EpisodeLog:
    """One evaluated episode: outcome, per-chunk NFE and wall time [ms], optional frames.

    ``success_step`` / ``collision_step``: the first step with ``info["success"]`` /
    ``info["collision"]`` (envs that report collisions, e.g. with a shift's obstacle), or None.
    """

    seed: int
    success: bool
    steps: int
    success_step: int | None = None
    collision_step: int | None = None
    nfe: list[int] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)


def draw_paths(
    frame: np.ndarray | None,
    paths: np.ndarray,
    chosen: np.ndarray | None,
    scene: dict[str, np.ndarray] | None = None,
    size: int = 128,
    extent: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """A top-down (x, y) inset of candidate paths float[B, H, 3] (grey), the executed chunk's
    path float[H, 3] (red), and scene points (``goal`` green, ``obstacle`` boxes blue), placed
    right of ``frame`` (uint8[S, S, 3]) when given. ``extent`` = (xmin, xmax, ymin, ymax) [m]."""
    pts = [paths.reshape(-1, 3)] + ([chosen] if chosen is not None else [])
    for key in ("goal", "obstacle"):  # positions only (not sizes or the table height)
        if (scene or {}).get(key) is not None:
            pts.append(np.asarray(scene[key], dtype=np.float64).reshape(-1, 3))
    allp = np.concatenate(pts)
    if extent is None:
        lo, hi = allp[:, :2].min(0) - 0.05, allp[:, :2].max(0) + 0.05
        extent = (lo[0], hi[0], lo[1], hi[1])
    xmin, xmax, ymin, ymax = extent
    span = max(xmax - xmin, ymax - ymin, 1e-6)

    def px(p: np.ndarray) -> list[tuple[float, float]]:
        return [
            ((x - xmin) / span * (size - 8) + 4, size - 4 - (y - ymin) / span * (size - 8))
            for x, y in p[:, :2]
        ]

    img = Image.new("RGB", (size, size), (245, 245, 245))
    d = ImageDraw.Draw(img)
    obstacle = (scene or {}).get("obstacle")
    half = (scene or {}).get("obstacle_half")
    if obstacle is not None and half is not None:
        for c, h in zip(np.reshape(obstacle, (-1, 3)), np.reshape(half, (-1, 3))):
            (x0, y0), (x1, y1) = px(np.array([c - h, c + h]))
            d.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], fill=(90, 120, 230))
    for p in paths:
        d.line(px(p), fill=(170, 170, 170), width=1)
    if chosen is not None:
        d.line(px(chosen), fill=(220, 30, 30), width=2)
    goal = (scene or {}).get("goal")
    if goal is not None:
        ((gx, gy),) = px(np.reshape(goal, (1, 3)))
        d.ellipse([gx - 3, gy - 3, gx + 3, gy + 3], fill=(30, 170, 60))
    inset = np.asarray(img)
    if frame is None:
        return inset
    if frame.shape[0] != size:
        frame = np.asarray(
            Image.fromarray(frame).resize((frame.shape[1] * size // frame.shape[0], size))
        )
    return np.concatenate([frame, inset], axis=1)


def run_episode(
    env: Any,
    policy: Any,
    seed: int,
    make_steer: Callable[[Any, dict], Any] | None = None,
    frame: Callable[[Any], np.ndarray | None] | None = None,
    path_of: Callable[[torch.Tensor, dict], np.ndarray] | None = None,
    scene: Callable[[Any], dict[str, np.ndarray]] | None = None,
    generator: torch.Generator | None = None,
) -> EpisodeLog:
    """Run one episode: query a chunk, execute its first ``policy.executed`` actions, repeat
    until ``terminated``/``truncated``. Frames (if ``frame``) get the steered paths drawn."""
    obs, info = env.reset(seed=seed)
    log = EpisodeLog(seed=seed, success=bool(info.get("success", False)), steps=0)
    done = False
    while not done:
        steer = make_steer(env, obs) if make_steer is not None else None
        t0 = time.perf_counter()
        chunk = policy.sample(obs, n=1, steer=steer, generator=generator)
        log.ms.append(1000 * (time.perf_counter() - t0))
        log.nfe.append(int(policy.last_info.get("nfe", 0)))
        inset = None
        if frame is not None and path_of is not None:
            particles = policy.last_info.get("particles")
            cands = (
                chunk
                if particles is None
                else policy.normalizer.unnormalize_action(particles.clamp(-1, 1))
            )
            inset = (path_of(cands, obs), path_of(chunk, obs)[0])
        for action in chunk[0, : policy.executed].numpy():
            if frame is not None:
                img = frame(env)  # None: draw the path inset alone (no rendering)
                if inset is not None:
                    size = img.shape[0] if img is not None else 128
                    sc = scene(env) if scene else None
                    img = draw_paths(img, inset[0], inset[1], sc, size=size)
                if img is not None:
                    log.frames.append(img)
            obs, _, terminated, truncated, info = env.step(action)
            log.steps += 1
            log.success = log.success or bool(info.get("success", False))
            if log.success and log.success_step is None:
                log.success_step = log.steps
            if info.get("collision") and log.collision_step is None:
                log.collision_step = log.steps
            done = terminated or truncated
            if done:
                break
    return log


def collision_free(log: EpisodeLog) -> bool:
    """Succeeded before any collision (a collision on the success step counts)."""
    if not log.success:
        return False
    return log.collision_step is None or (log.success_step or 0) < log.collision_step


def summarize(logs: list[EpisodeLog], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``metrics.json`` payload: success with Wilson 95% CI, NFE per chunk, ms p50/p99;
    ``collision_free`` (success before any collision, Wilson CI) and ``collision_rate`` too."""
    ms = [m for log in logs for m in log.ms]
    nfe = [n for log in logs for n in log.nfe]
    out: dict[str, Any] = {
        **success_summary([log.success for log in logs]),
        "nfe_per_chunk": float(np.mean(nfe)) if nfe else float("nan"),
        "ms_per_chunk": percentiles(ms),
        "chunks": len(ms),
        "episode_steps_mean": float(np.mean([log.steps for log in logs])) if logs else float("nan"),
        "seeds": [log.seed for log in logs],
        "per_episode_success": [bool(log.success) for log in logs],
        "collision_free": success_summary([collision_free(log) for log in logs]),
        "per_episode_collision": [log.collision_step is not None for log in logs],
        "collision_rate": float(np.mean([log.collision_step is not None for log in logs]))
        if logs
        else float("nan"),
    }
    return {**out, **(extra or {})}
