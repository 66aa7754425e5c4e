"""Synthetic multi-view episodes for tests and smoke runs (no simulator needed).

A "gripper" blob moves to an "object" blob, closes, and carries it to a goal marker. Three
cameras see the scene from different projections: ``front`` (x, y), ``side`` (x, z) and
``wrist`` (a zoomed view centred on the gripper). Progress is known exactly: the reach and
the carry are two equal subtasks, so ``progress_gt`` is linear inside each (0 -> 0.5 -> 1).

Kinds (as in :data:`robo.types.EPISODE_KINDS`):

* ``expert``: reach, grasp, carry; success on the last step.
* ``noisy``: the same path with jitter; still succeeds.
* ``failure``: reaches and closes, but the object slips and stays; the gripper carries nothing.
* ``rewind``: carries half way, then carries the object back towards its start
  (``meta["rewinds"] = [[start, end)]`` marks the undo steps, as ``robo collect`` does).
"""

from __future__ import annotations

import numpy as np

from robo.types import CAMERA_NAMES, Episode

SYNTH_TASKS: dict[str, tuple[str, tuple[float, float, float], tuple[int, int, int]]] = {
    # name: (instruction, goal xyz in [0, 1]^3, background colour)
    "synth/left": ("move the red block to the left", (0.15, 0.5, 0.3), (40, 40, 60)),
    "synth/right": ("move the red block to the right", (0.85, 0.5, 0.3), (60, 40, 40)),
    "synth/up": ("lift the red block up high", (0.5, 0.5, 0.9), (40, 60, 40)),
    "synth/far": ("push the red block to the far corner", (0.85, 0.85, 0.2), (50, 50, 50)),
    "synth/near": ("bring the red block to the near corner", (0.15, 0.15, 0.2), (60, 60, 30)),
}


def _disc(img: np.ndarray, cx: float, cy: float, r: float, color: tuple[int, int, int]) -> None:
    h, w = img.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    mask = (xx - cx * (w - 1)) ** 2 + (yy - (1 - cy) * (h - 1)) ** 2 <= (r * w) ** 2
    img[mask] = color


def render_views(
    grip: np.ndarray, obj: np.ndarray, goal: np.ndarray, closed: float, bg: tuple, size: int
) -> dict[str, np.ndarray]:
    """uint8[size, size, 3] per camera for one scene state (positions in [0, 1]^3)."""
    out: dict[str, np.ndarray] = {}
    for cam, (a, b) in {"front": (0, 1), "side": (0, 2)}.items():
        img = np.empty((size, size, 3), np.uint8)
        img[:] = bg
        _disc(img, goal[a], goal[b], 0.09, (40, 200, 40))
        _disc(img, obj[a], obj[b], 0.07, (220, 40, 40))
        _disc(img, grip[a], grip[b], 0.05 if closed > 0.5 else 0.08, (60, 90, 240))
        out[cam] = img
    # Wrist view: a 3x zoom of the front projection around the gripper.
    img = np.empty((size, size, 3), np.uint8)
    img[:] = bg
    zoom = 3.0
    for pos, r, col in ((goal, 0.09, (40, 200, 40)), (obj, 0.07, (220, 40, 40))):
        rel = (pos[:2] - grip[:2]) * zoom + 0.5
        _disc(img, rel[0], rel[1], r * zoom, col)
    jaw = 0.1 if closed > 0.5 else 0.25
    _disc(img, 0.5 - jaw, 0.2, 0.06, (60, 90, 240))
    _disc(img, 0.5 + jaw, 0.2, 0.06, (60, 90, 240))
    out["wrist"] = img
    return out


def make_episode(
    task: str = "synth/left",
    kind: str = "expert",
    seed: int = 0,
    length: int = 40,
    image_size: int = 48,
    instruction: str | None = None,
) -> Episode:
    """One synthetic :class:`Episode` of ``length`` steps with 3 cameras at ``image_size`` px."""
    if task not in SYNTH_TASKS:
        raise ValueError(f"unknown synthetic task {task!r}; choose from {sorted(SYNTH_TASKS)}")
    text, goal_xyz, bg = SYNTH_TASKS[task]
    rng = np.random.default_rng(seed)
    goal = np.asarray(goal_xyz) + rng.uniform(-0.05, 0.05, 3)
    obj0 = np.array([0.5, 0.5, 0.2]) + rng.uniform(-0.12, 0.12, 3) * [1, 1, 0]
    grip0 = np.array([0.5, 0.2, 0.7]) + rng.uniform(-0.1, 0.1, 3)
    t_grasp = length // 2 - 2  # reach phase: steps [0, t_grasp); gripper closes at t_grasp
    hold = 3  # steps spent closing the gripper (a speed minimum + gripper event)
    n_carry = length - t_grasp - hold
    grips, objs, closed, prog = [], [], [], []
    rewind_at = t_grasp + hold + n_carry // 2
    for t in range(length):
        if t < t_grasp:
            s = (t + 1) / t_grasp
            g, o, c, p = grip0 + (obj0 - grip0) * s, obj0, 0.0, 0.5 * s
        elif t < t_grasp + hold:
            g, o, c, p = obj0, obj0, 1.0, 0.5
        else:
            s = (t - t_grasp - hold + 1) / n_carry
            if kind == "rewind" and t >= rewind_at:
                s_peak = (rewind_at - t_grasp - hold) / n_carry
                s = max(0.0, s_peak - (t - rewind_at + 1) / n_carry)
            target = goal + (obj0 - goal) * (1 - s)
            if kind == "failure":
                g, o, c, p = target, obj0, 1.0, 0.5  # object slipped out; nothing carried
            else:
                g, o, c, p = target, target, 1.0, 0.5 + 0.5 * s
        if kind == "noisy":
            g = g + rng.normal(0, 0.015, 3)
            o = g if c > 0.5 and t >= t_grasp else o
        grips.append(np.clip(g, 0, 1))
        objs.append(np.clip(o, 0, 1))
        closed.append(c)
        prog.append(p)
    grips_a, objs_a = np.array(grips), np.array(objs)
    images = {cam: np.empty((length, image_size, image_size, 3), np.uint8) for cam in CAMERA_NAMES}
    for t in range(length):
        views = render_views(grips_a[t], objs_a[t], goal, closed[t], bg, image_size)
        for cam in CAMERA_NAMES:
            images[cam][t] = views[cam]
    state = np.concatenate([grips_a, np.array(closed)[:, None]], axis=1).astype(np.float32)
    delta = np.diff(grips_a, axis=0, append=grips_a[-1:])
    action = np.concatenate([delta, 2 * np.array(closed)[:, None] - 1], axis=1).astype(np.float32)
    progress = np.array(prog, np.float32)
    success = np.zeros(length, bool)
    if kind in ("expert", "noisy"):
        progress[-1] = 1.0
        success[-1] = True
    meta: dict = {"gripper_dims": [3]}
    if kind == "rewind":
        meta["rewinds"] = [[rewind_at - 1, length - 1]]
    return Episode(
        task=task,
        instruction=instruction or text,
        kind=kind,
        seed=seed,
        images=images,
        state=state,
        action=action,
        success=success,
        progress_gt=progress,
        timestamp=np.arange(length, dtype=np.float64) * 0.05,
        subtask_boundaries=[t_grasp],
        meta=meta,
    )


def make_dataset(
    tasks: tuple[str, ...] = tuple(SYNTH_TASKS),
    kinds: dict[str, int] | None = None,
    seed: int = 0,
    length: int = 40,
    image_size: int = 48,
) -> list[Episode]:
    """Episodes for every task: ``kinds`` maps kind -> count per task (default 4 expert,
    1 noisy, 1 failure, 1 rewind)."""
    kinds = kinds or {"expert": 4, "noisy": 1, "failure": 1, "rewind": 1}
    out: list[Episode] = []
    k = 0
    for task in tasks:
        for kind, n in kinds.items():
            for _ in range(n):
                out.append(make_episode(task, kind, seed * 10_000 + k, length, image_size))
                k += 1
    return out
