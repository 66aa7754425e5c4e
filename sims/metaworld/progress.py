"""Privileged progress ``progress_gt`` in [0, 1] and the current ``subtask`` of a Meta-World task.

Signals (all from the simulator, in metres):

* ``reach`` = ``1 - clip(|tcp - obj| / |tcp_0 - obj_0|, 0, 1)``: how far the gripper centre has
  closed in on the task object (``obj`` = Meta-World's first object position, raw obs[4:7]:
  the puck, handle, button, lever tip, ...).
* ``place``: for tasks whose ``info["obj_to_target"]`` is a distance (non-zero at reset),
  ``1 - clip(d / d_0, 0, 1)``; for the five tasks that report no distance (assembly, box-close,
  disassemble, door-open, hammer) and lever-pull (whose distance is shoulder-to-lever),
  Meta-World's own ``info["in_place_reward"]`` in [0, 1].

``progress_gt`` = 1 on a success step, else ``min(0.99, w * reach + (1 - w) * place)`` with
``w = 0.3`` (``w = 0`` for reach tasks, where the goal is the target of the hand itself).
Measured over 3 expert episodes per task, its Spearman correlation with time is >= 0.9 for 42 of
50 tasks (lowest: push-back 0.5, soccer 0.7, stick-pull 0.8, lever-pull 0.8).

Subtasks (indices only advance within an episode):

* ``reach`` kind: 0 ``reach``.
* ``contact`` kind: 0 ``reach``; 1 ``manipulate`` once ``|tcp - obj| < 5 cm`` or place > 0.1.
* ``grasp`` kind: 0 ``reach``; 1 ``grasp`` once ``|tcp - obj| < 6 cm``; 2 ``carry`` once the
  object is more than 2 cm from where it started with the gripper still within 8 cm of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sims.metaworld.tasks import Kind

SUBTASK_NAMES: dict[str, tuple[str, ...]] = {
    "reach": ("reach",),
    "contact": ("reach", "manipulate"),
    "grasp": ("reach", "grasp", "carry"),
}
"""Stage names per task kind, in order."""

REACH_WEIGHT = 0.3
_NO_DISTANCE_TASKS = frozenset({"lever-pull"})  # obj_to_target is not object-to-goal there


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    d = a - b
    return float(np.sqrt(d @ d))  # np.linalg.norm is several times slower on 3-vectors


class ProgressTracker:
    """Computes ``progress_gt`` and ``subtask`` of one episode from raw observations and infos.

    Args:
        task: robo task name (``"pick-place"``).
        kind: the task's kind (see :mod:`sims.metaworld.tasks`).
    """

    def __init__(self, task: str, kind: Kind):
        self.task = task
        self.kind = kind
        self._reach_weight = 0.0 if kind == "reach" else REACH_WEIGHT
        self._tcp_obj_0 = 1.0
        self._dist_0 = 0.0
        self._obj_0 = np.zeros(3)
        self._use_distance = False
        self._stage = 0

    def reset(self, tcp: np.ndarray, raw_obs: np.ndarray, info: dict[str, Any]) -> None:
        """Record the episode's initial distances (``info`` from evaluating the reset state)."""
        self._obj_0 = np.array(raw_obs[4:7], dtype=np.float64)
        self._tcp_obj_0 = max(_dist(tcp, self._obj_0), 0.02)
        self._dist_0 = float(info.get("obj_to_target", 0.0))
        self._use_distance = self._dist_0 > 1e-6 and self.task not in _NO_DISTANCE_TASKS
        self._stage = 0

    def update(
        self, tcp: np.ndarray, raw_obs: np.ndarray, info: dict[str, Any]
    ) -> tuple[float, int]:
        """``(progress_gt in [0, 1], subtask index)`` for the current state."""
        obj = raw_obs[4:7]
        tcp_obj = _dist(tcp, obj)
        reach = 1.0 - min(tcp_obj / self._tcp_obj_0, 1.0)
        if self._use_distance:
            place = 1.0 - min(float(info["obj_to_target"]) / self._dist_0, 1.0)
        else:
            place = float(np.clip(info.get("in_place_reward", 0.0), 0.0, 1.0))
        self._stage = max(self._stage, self._stage_of(tcp_obj, place, obj))
        if info.get("success"):
            return 1.0, self._stage
        w = self._reach_weight
        return min(0.99, max(0.0, w * reach + (1.0 - w) * place)), self._stage

    def _stage_of(self, tcp_obj: float, place: float, obj: np.ndarray) -> int:
        if self.kind == "contact":
            return int(tcp_obj < 0.05 or place > 0.1)
        if self.kind == "grasp":
            moved = _dist(obj, self._obj_0) > 0.02
            if moved and tcp_obj < 0.08:
                return 2
            return int(tcp_obj < 0.06)
        return 0
