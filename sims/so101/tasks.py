"""Success, privileged progress, dense reward and stage of each SO-101 task.

All inputs are privileged simulator quantities in the world frame [m]. Definitions
(``d(a, b)`` = Euclidean distance, ``clip01`` clips to [0, 1], ``ramp(d, d0) = clip01(1 - d/d0)``):

* **reach** (stage 0 reach): success when ``d(tip, target) < 2 cm``.
  ``progress = ramp(d, d_0)``; ``env_reward = 1 - tanh(10 d)``.
* **pick-cube** (stages 0 reach, 1 grasp, 2 lift): grasped = the cube touches both fingertip
  pads; success when grasped and lifted >= 5 cm. Not grasped: ``progress = 0.45 ramp(d_tc, d_0)``
  (tip-cube distance); grasped: ``0.5 + 0.5 clip01(lift / 5 cm)``.
  ``env_reward = 0.25 (1 - tanh(10 d_tc)) + 0.25 grasped + 0.5 grasped clip01(lift / 5 cm)``.
* **push-cube** (stages 0 reach, 1 push): success when the cube centre is within the 3 cm
  target disc and the cube rests on the surface. ``progress = 0.3 ramp(d(tip, behind), d_0)
  + 0.7 ramp(d(cube, target), D_0)`` where ``behind`` is 3.5 cm behind the cube opposite the
  target; ``env_reward = 0.3 (1 - tanh(10 d_tc)) + 0.7 (1 - tanh(10 d(cube, target)))``.
* **place-cube-in-bin** (stages 0 reach, 1 grasp, 2 lift, 3 move, 4 place): success when the
  cube lies inside the bin below its rim and is released. Not grasped: ``0.25 ramp(d_tc, d_0)``;
  grasped: ``0.3 + 0.15 clip01(lift / 4 cm) + 0.45 ramp(d_xy(cube, bin), D_0)``; inside the bin
  but still held, or released over the bin and falling in (above the table, not yet below
  the rim): 0.9. ``env_reward = 0.2 (1 - tanh(10 d_tc)) + 0.2 grasped
  + 0.4 (1 - tanh(5 d_xy(cube, bin))) + 0.2 in_bin``.

``progress_gt`` is 1.0 exactly on success steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sims.so101.layout import BIN_HEIGHT, BIN_INNER_HALF, CUBE_HALF, TARGET_RADIUS, SceneLayout

STAGES: dict[str, tuple[str, ...]] = {
    "reach": ("reach",),
    "pick-cube": ("reach", "grasp", "lift"),
    "push-cube": ("reach", "push"),
    "place-cube-in-bin": ("reach", "grasp", "lift", "move", "place"),
}
LIFT_SUCCESS = 0.05  # [m]
REACH_SUCCESS = 0.02  # [m]


@dataclass
class Snapshot:
    """Privileged state at one step (world frame, [m])."""

    tip: np.ndarray  # (3,)
    cube: np.ndarray  # (3,) cube centre
    grasped: bool  # cube touches both fingertip pads
    start_tip: np.ndarray  # tip at reset
    start_cube: np.ndarray  # cube at reset


def _ramp(d: float, d0: float) -> float:
    return float(np.clip(1.0 - d / max(d0, 1e-6), 0.0, 1.0))


def _dense(d: float, k: float = 10.0) -> float:
    return float(1.0 - np.tanh(k * d))


def push_direction(layout: SceneLayout, cube_xy: np.ndarray) -> np.ndarray:
    """Unit vector in the plane from the cube towards the push target."""
    v = layout.target[:2] - cube_xy
    return v / max(float(np.linalg.norm(v)), 1e-6)


def in_bin(layout: SceneLayout, cube: np.ndarray) -> bool:
    """Cube centre inside the bin's inner walls and below its rim."""
    if layout.bin_xy is None:
        return False
    inside = np.all(np.abs(cube[:2] - layout.bin_xy) < BIN_INNER_HALF - 0.3 * CUBE_HALF)
    return bool(inside and cube[2] < layout.surface_z + BIN_HEIGHT)


def evaluate(layout: SceneLayout, s: Snapshot) -> dict[str, Any]:
    """``{"success", "progress_gt", "env_reward", "subtask"}`` for the task of ``layout``."""
    task = layout.task
    d_tc = float(np.linalg.norm(s.tip - s.cube))
    d0_tc = float(np.linalg.norm(s.start_tip - s.start_cube))
    lift = float(s.cube[2] - s.start_cube[2])
    if task == "reach":
        d = float(np.linalg.norm(s.tip - layout.target))
        success = d < REACH_SUCCESS
        progress = _ramp(d, float(np.linalg.norm(s.start_tip - layout.target)))
        return _out(success, progress, _dense(d), 0)
    if task == "pick-cube":
        lift01 = float(np.clip(lift / LIFT_SUCCESS, 0.0, 1.0))
        success = s.grasped and lift >= LIFT_SUCCESS
        progress = 0.5 + 0.5 * lift01 if s.grasped else 0.45 * _ramp(d_tc, d0_tc)
        stage = 2 if s.grasped else (1 if d_tc < REACH_SUCCESS else 0)
        reward = 0.25 * _dense(d_tc) + 0.25 * s.grasped + 0.5 * s.grasped * lift01
        return _out(success, progress, reward, stage)
    if task == "push-cube":
        d_ct = float(np.linalg.norm(s.cube[:2] - layout.target[:2]))
        d0_ct = float(np.linalg.norm(s.start_cube[:2] - layout.target[:2]))
        behind0 = s.start_cube[:2] - 0.035 * push_direction(layout, s.start_cube[:2])
        behind = s.cube[:2] - 0.035 * push_direction(layout, s.cube[:2])
        d_reach = float(np.linalg.norm(s.tip - [*behind, s.cube[2]]))
        d0_reach = float(np.linalg.norm(s.start_tip - [*behind0, s.start_cube[2]]))
        on_surface = s.cube[2] < layout.surface_z + CUBE_HALF + 0.01
        success = d_ct < TARGET_RADIUS and on_surface
        progress = 0.3 * _ramp(d_reach, d0_reach) + 0.7 * _ramp(d_ct, d0_ct)
        stage = 1 if (d_reach < REACH_SUCCESS or d_ct < 0.9 * d0_ct) else 0
        reward = 0.3 * _dense(d_tc) + 0.7 * _dense(d_ct)
        return _out(success, progress, reward, stage)
    if task == "place-cube-in-bin":
        inside = in_bin(layout, s.cube)
        d_xy = float(np.linalg.norm(s.cube[:2] - layout.bin_xy))
        d0_xy = float(np.linalg.norm(s.start_cube[:2] - layout.bin_xy))
        success = inside and not s.grasped
        over_bin = np.all(np.abs(s.cube[:2] - layout.bin_xy) < BIN_INNER_HALF)
        falling_in = over_bin and not s.grasped and lift > 0.01
        if (inside and s.grasped) or (falling_in and not inside):
            progress, stage = 0.9, 4
        elif s.grasped:
            progress = 0.3 + 0.15 * np.clip(lift / 0.04, 0, 1) + 0.45 * _ramp(d_xy, d0_xy)
            stage = 4 if over_bin else (3 if lift > 0.02 else 2)
        else:
            progress = 0.25 * _ramp(d_tc, d0_tc)
            stage = 1 if d_tc < REACH_SUCCESS else 0
        reward = 0.2 * _dense(d_tc) + 0.2 * s.grasped + 0.4 * _dense(d_xy, 5.0) + 0.2 * inside
        return _out(success, float(progress), reward, stage)
    raise ValueError(f"unknown so101 task {task!r}")


def _out(success: bool, progress: float, reward: float, stage: int) -> dict[str, Any]:
    return {
        "success": bool(success),
        "progress_gt": 1.0 if success else float(np.clip(progress, 0.0, 0.99)),
        "env_reward": float(reward),
        "subtask": int(stage),
    }
