"""Step-wise progress labels without human keyframes.

Each demonstration is cut into subtasks automatically from signals the robot itself has:

* **gripper events**: the commanded gripper crosses the middle of its range (open <-> close);
* **speed minima**: the proprioceptive state nearly stops between two motions.

Every subtask gets an equal share of progress, linear inside it; progress reaches 1 at the
first step with ``success`` (the task's own sparse reward) and stays there. Privileged
``progress_gt`` is never read here: it is for evaluation only.

Episodes that do not succeed make no progress toward their instruction (Φ = 0), as does a
video paired with another task's instruction. ``rewind`` episodes carry
``meta["rewinds"] = [[start, end), ...]`` (written by the recorder): inside a range the robot
undoes what it did, so Φ mirrors the steps before ``start`` and climbs again as the robot
redoes them (:func:`net_time`); ``paused`` episodes carry
``meta["pauses"]``, steps during which Φ stays put (and which are not subtask boundaries).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from robo.types import Episode

LabelMode = Literal["segments", "time"]


def _smooth(x: np.ndarray, k: int) -> np.ndarray:
    if k <= 1 or len(x) < k:
        return x
    pad = k // 2
    xp = np.pad(x, [(pad, pad)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    kernel = np.ones(k) / k
    if x.ndim == 1:
        return np.convolve(xp, kernel, mode="valid")[: len(x)]
    return np.stack(
        [np.convolve(xp[:, i], kernel, mode="valid")[: len(x)] for i in range(x.shape[1])], 1
    )


def gripper_events(signal: np.ndarray, min_range: float = 0.2) -> list[int]:
    """Steps where a gripper command float[T] crosses the middle of its range.

    Returns an empty list when the signal spans less than ``min_range`` (gripper unused).
    """
    s = _smooth(np.asarray(signal, np.float64), 3)
    lo, hi = np.percentile(s, 5), np.percentile(s, 95)
    if hi - lo < min_range:
        return []
    above = s > (lo + hi) / 2
    return [int(t) for t in np.flatnonzero(above[1:] != above[:-1]) + 1]


def speed_minima(state: np.ndarray, rel_depth: float = 0.35, smooth: int = 5) -> list[int]:
    """Steps where the normalised state speed has a local minimum below ``rel_depth`` x median.

    Args:
        state: float[T, D] proprioceptive state.
    Returns:
        sorted step indices, deepest pauses only.
    """
    x = np.asarray(state, np.float64)
    if len(x) < 5:
        return []
    scale = x.std(0)
    x = x[:, scale > 1e-6] / scale[scale > 1e-6]
    speed = _smooth(np.linalg.norm(np.diff(x, axis=0), axis=1), smooth)
    med = np.median(speed)
    if med <= 1e-9:
        return []
    out = []
    for t in range(1, len(speed) - 1):
        if speed[t] <= speed[t - 1] and speed[t] < speed[t + 1] and speed[t] < rel_depth * med:
            out.append(t + 1)
    return out


def _gripper_signal(ep: Episode) -> np.ndarray | None:
    dims = ep.meta.get("gripper_dims")
    if dims:
        src = ep.action if ep.action.ndim == 2 and ep.action.shape[1] > max(dims) else ep.state
        return np.asarray(src[:, dims[0]], np.float64)
    if ep.action.ndim == 2 and ep.action.shape[1] > 0:
        return np.asarray(ep.action[:, -1], np.float64)
    return None


def first_success(ep: Episode) -> int | None:
    """Index of the first step with ``success``, or None."""
    idx = np.flatnonzero(np.asarray(ep.success, bool))
    return int(idx[0]) if len(idx) else None


def segment_episode(ep: Episode, max_segments: int = 6, min_len_frac: float = 0.08) -> list[int]:
    """Subtask start steps (excluding 0) found from gripper events and speed minima.

    Boundaries closer than ``min_len_frac`` x the episode length to each other or to the ends
    are merged; at most ``max_segments - 1`` are kept (gripper events first).
    """
    end = first_success(ep)
    end = len(ep) - 1 if end is None else end
    min_len = max(2, int(round(min_len_frac * (end + 1))))
    sig = _gripper_signal(ep)
    grip = gripper_events(sig[: end + 1]) if sig is not None else []
    pauses = speed_minima(ep.state[: end + 1])
    chosen: list[int] = []
    for t in grip + pauses:  # gripper events have priority
        if len(chosen) >= max_segments - 1:
            break
        if t < min_len or t > end - min_len:
            continue
        if all(abs(t - c) >= min_len for c in chosen):
            chosen.append(t)
    return sorted(chosen)


def progress_from_boundaries(length: int, boundaries: list[int], end: int) -> np.ndarray:
    """float32[length]: K = len(boundaries)+1 equal shares, linear inside each, 1 from ``end``.

    Knots are (0, 0), (b_k, k/K) and (end, 1).
    """
    k = len(boundaries) + 1
    xs = [0, *boundaries, max(end, 1)]
    ys = np.arange(k + 1) / k
    return np.interp(np.arange(length), xs, ys).astype(np.float32)


def rewind_ranges(ep: Episode) -> list[tuple[int, int]]:
    """``[start, end)`` step ranges in which the robot undid its recent actions.

    Frame ``start`` is the last one before the undo, frame ``end`` the first after it, so frame
    ``start + k`` mirrors frame ``start - k``. Read from ``meta["rewinds"]`` (``robo collect``).
    """
    return [(int(a), int(b)) for a, b in ep.meta.get("rewinds", []) if int(b) > int(a)]


def pause_ranges(ep: Episode) -> list[tuple[int, int]]:
    """``[start, end)`` step ranges where the robot held still on purpose (``meta["pauses"]``)."""
    return [(int(a), int(b)) for a, b in ep.meta.get("pauses", []) if int(b) > int(a)]


def net_time(length: int, rewinds: list[tuple[int, int]]) -> np.ndarray:
    """float[T] "net" steps: +1 per forward step, -1 per undo step inside a rewind.

    Frame ``start + k`` of a rewind gets the net time of frame ``start - k`` (it mirrors it);
    after the rewind the robot redoes the undone steps, so net time climbs again from there.
    """
    step = np.ones(length)
    step[0] = 0.0
    for start, end in rewinds:
        step[start + 1 : min(end, length - 1) + 1] = -1.0
    return np.maximum(np.cumsum(step), 0.0)


def _without_pauses(ep: Episode, pauses: list[tuple[int, int]]) -> tuple[Episode, np.ndarray]:
    """The episode with paused steps removed, and the kept step indices."""
    keep = np.ones(len(ep), bool)
    for a, b in pauses:
        keep[a + 1 : b + 1] = False  # frames a+1..b repeat frame a
    idx = np.flatnonzero(keep)
    sub = Episode(
        task=ep.task,
        instruction=ep.instruction,
        kind=ep.kind,
        seed=ep.seed,
        images={},
        state=ep.state[idx],
        action=ep.action[idx],
        success=ep.success[idx],
        progress_gt=ep.progress_gt[idx],
        timestamp=ep.timestamp[idx],
        meta=ep.meta,
    )
    return sub, idx


def progress_labels(
    ep: Episode,
    mode: LabelMode = "segments",
    reference_length: float | None = None,
    max_segments: int = 6,
) -> np.ndarray | None:
    """Training progress labels float32[T] for one episode, or None if none can be made.

    Args:
        ep: the episode (reads ``action``, ``state``, ``success``, ``kind``, ``meta``).
        mode: ``"segments"`` (auto subtasks, equal shares) or ``"time"`` (linear in t, the
            ablation without segmentation).
        reference_length: median steps-to-success of the task's demos; needed to label the
            forward part of a rewind episode that never succeeds.
    """
    T = len(ep)
    end = first_success(ep)
    rewinds = rewind_ranges(ep)
    if end is None and not rewinds:
        return np.zeros(T, np.float32)
    if rewinds:
        tau = net_time(T, rewinds)
        if end is None:
            if reference_length is None:
                return None
            return np.clip(tau / max(reference_length, 1.0), 0, 1).astype(np.float32)
        if mode == "time":
            return np.clip(tau / max(tau[end], 1.0), 0, 1).astype(np.float32)
        undone = np.zeros(T, bool)  # boundaries inside undo/redo stretches are not subtasks
        for start, stop in rewinds:
            undone[start : min(T, 2 * stop - start)] = True
        bounds = [b for b in segment_episode(ep, max_segments) if not undone[b]]
        xs = np.maximum.accumulate(np.array([0.0, *tau[bounds], max(tau[end], 1.0)]))
        ys = np.arange(len(xs)) / (len(xs) - 1)
        phi = np.interp(tau, xs, ys).astype(np.float32)
        phi[end:] = 1.0
        return phi
    pauses = pause_ranges(ep)
    if pauses:
        sub, idx = _without_pauses(ep, pauses)
        phi_sub = progress_labels(sub, mode, reference_length, max_segments)
        return (
            np.interp(np.arange(T), idx, phi_sub).astype(np.float32)
            if phi_sub is not None
            else None
        )
    if mode == "time":
        return np.clip(np.arange(T) / max(end, 1), 0, 1).astype(np.float32)
    return progress_from_boundaries(T, segment_episode(ep, max_segments=max_segments), end)
