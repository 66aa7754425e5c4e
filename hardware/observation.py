"""The policy's ``obs["state"]`` from a :class:`~hardware.robot.RobotState`, in one place.

Policies trained in simulation see the task's state vector; on the twin or a real arm the
control loop has to build the same vector from what the driver reads. Layouts:

* ``pos``: joint positions float32[N] [rad] (scripted / replay policies);
* ``pos_vel``: positions [rad] then velocities [rad/s], float32[2N] -- the ``so101/*`` tasks'
  state (:mod:`sims.so101.env`);
* either one followed by a fixed ``goal`` float32[3] [m, arm base frame] for policies trained
  with ``goal_in_state=true`` (the privileged goal the sim appended).

:func:`state_adapter_for` picks the layout from a policy's ``config.state_dim`` and
``meta["goal_in_state"]`` and fails with a one-line hint when they cannot match the robot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from hardware.robot import RobotState


@dataclass(frozen=True)
class StateAdapter:
    """``RobotState -> float32[D]`` for the policy.

    Attributes:
        layout: ``pos`` or ``pos_vel``.
        goal: float32[3] appended after the joint part [m], or ``None``.
    """

    layout: Literal["pos", "pos_vel"] = "pos"
    goal: tuple[float, ...] | None = None

    def dim(self, dof: int) -> int:
        """D for an arm with ``dof`` joints."""
        return dof * (2 if self.layout == "pos_vel" else 1) + len(self.goal or ())

    def __call__(self, state: RobotState) -> np.ndarray:
        parts = [state.joint_pos]
        if self.layout == "pos_vel":
            parts.append(state.joint_vel)
        if self.goal is not None:
            parts.append(np.asarray(self.goal, dtype=np.float64))
        return np.concatenate(parts).astype(np.float32)


def state_adapter_for(policy: Any, dof: int, goal: Sequence[float] | None = None) -> StateAdapter:
    """The adapter matching ``policy`` (``config.state_dim``, ``meta["goal_in_state"]``).

    Policies without a ``config.state_dim`` (scripted, replay) get joint positions.

    Raises:
        ValueError: the policy needs a goal and none was given, or its state size fits no
            layout for a ``dof``-joint arm.
    """
    meta = getattr(policy, "meta", None) or {}
    needs_goal = bool(meta.get("goal_in_state"))
    goal_t = None if goal is None else tuple(float(g) for g in goal)
    if needs_goal and goal_t is None:
        raise ValueError(
            "the policy was trained with the goal in its state (goal_in_state=true); "
            "hint: pass goal=[x,y,z] in metres in the arm's base frame"
        )
    if goal_t is not None and len(goal_t) != 3:
        raise ValueError(f"goal must be 3 numbers [m], got {list(goal_t)}")
    if not needs_goal:
        goal_t = None
    state_dim = getattr(getattr(policy, "config", None), "state_dim", None)
    if state_dim is None:
        return StateAdapter("pos", goal_t)
    for layout in ("pos", "pos_vel"):
        adapter = StateAdapter(layout, goal_t)  # type: ignore[arg-type]
        if adapter.dim(dof) == int(state_dim):
            return adapter
    extra = 3 if goal_t else 0
    raise ValueError(
        f"the policy expects a {state_dim}-dim state; a {dof}-joint arm gives {dof + extra} "
        f"(positions) or {2 * dof + extra} (positions + velocities){' + goal' if extra else ''} "
        "(hint: deploy a policy trained on this arm's joint state)"
    )
