"""Privileged keypoints of a sim task's scene [m] (goal, table, obstacle, raised step): what
steering costs, goal-conditioned policies and the hardware twin read in simulation (on a real
arm a detector supplies them)."""

from __future__ import annotations

from typing import Any

import numpy as np


def sim_scene(env: Any) -> dict[str, np.ndarray]:
    """Privileged keypoints of a sim task [m]: ``goal``, ``obstacle`` + ``obstacle_half``, ``table``,
    ``step`` + ``step_half`` (reach's raised table section under ``surface``: centre, half sizes)."""
    u = env.unwrapped
    out: dict[str, Any] = {}
    if u.task_name.startswith("so101/"):
        lay = u.layout
        out["goal"] = (
            np.asarray(lay.target, dtype=np.float64) if lay.target is not None else u.cube_pos()
        )
        out["table"] = np.array([0.0, 0.0, lay.surface_z])
        if lay.obstacle is not None:
            out["obstacle"] = np.asarray(lay.obstacle.pos, dtype=np.float64) + [0, 0, lay.surface_z]
            out["obstacle_half"] = np.asarray(lay.obstacle.half, dtype=np.float64)
        if lay.step is not None:
            out["step"] = np.asarray(lay.step.pos, dtype=np.float64)
            out["step_half"] = np.asarray(lay.step.half, dtype=np.float64)
    elif u.task_name.startswith("metaworld/"):
        out["goal"] = u.raw_observation[-3:].astype(np.float64)
        if u.obstacle_position is not None:
            out["obstacle"] = u.obstacle_position
            out["obstacle_half"] = np.full(3, u.config.obstacle_half_size)
        if u.step_box is not None:
            out["step"], out["step_half"] = u.step_box
    else:
        raise ValueError(
            f"no keypoint glue for {u.task_name!r} yet (supported: so101/*, metaworld/*)"
        )
    return out
