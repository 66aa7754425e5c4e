"""Scripted experts for the robosuite tasks (robosuite ships none).

Each expert is a small state machine over waypoints computed from privileged poses (object
and handle positions from the simulator); it acts only through the 7-D OSC delta action:
``action[:3] = clip(K_POS * (target - eef))``, ``action[3:6] = clip(K_ROT * rotvec(R_t R^T))``,
``action[6]`` = -1 (open) / +1 (close). Gripper orientation targets are "pointing down" rotated
by a yaw about world z; the fingers close along the gripper's x axis.

``failure=True`` makes an on-purpose failure: the grasp point is offset by :data:`MISS_OFFSET`
(sideways for the pick tasks, towards the robot for the Door), so the fingers close on air.
The Door expert lives in :mod:`sims.robosuite.door_expert`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from robo.types import Observation
from sims.experts.base import Expert

K_POS = 12.0
"""Position gain [1/m]: an error of 1/K_POS m saturates the action (0.05 m per unit)."""
K_ROT = 1.5
"""Orientation gain [1/rad]."""
K_INT = 0.3
"""Integral gain of the position servo [1/step]; removes the OSC's steady-state error."""
INT_LIMIT = 0.04
"""Bound of the integral correction per axis [m]."""
INT_ZONE = 0.05
"""Distance to the target under which the integral term accumulates [m]."""
MISS_OFFSET = 0.07
"""Sideways offset of the grasp point in failure mode [m]."""
OPEN, CLOSE = -1.0, 1.0
# Gripper pointing down, fingers closing along world y (robosuite Panda's home orientation).
R_DOWN = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])


def rot_z(yaw: float) -> np.ndarray:
    """Rotation matrix about world z by ``yaw`` [rad], float64[3, 3]."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotvec(r: np.ndarray) -> np.ndarray:
    """Axis-angle vector [rad] of rotation matrix ``r`` (float64[3, 3] -> float64[3])."""
    cos = np.clip((np.trace(r) - 1.0) / 2.0, -1.0, 1.0)
    angle = np.arccos(cos)
    if angle < 1e-6:
        return np.zeros(3)
    axis = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    norm = np.linalg.norm(axis)
    if norm < 1e-9:  # angle close to pi: axis from the diagonal
        axis = np.sqrt(np.clip((np.diag(r) + 1.0) / 2.0, 0.0, None))
        norm = np.linalg.norm(axis)
    return axis / norm * angle


def quat_yaw(quat_wxyz: np.ndarray) -> float:
    """Yaw [rad] about world z of a ``(w, x, y, z)`` quaternion."""
    w, x, y, z = quat_wxyz
    return float(np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z)))


def grasp_yaw(object_yaw: float, symmetry: float = np.pi / 2) -> float:
    """Gripper yaw [rad] in [-symmetry/2, symmetry/2) that closes the fingers across the faces
    of an object with yaw ``object_yaw`` and rotational ``symmetry`` [rad]."""
    return float((object_yaw + symmetry / 2) % symmetry - symmetry / 2)


def servo(env: Any, target: np.ndarray, rot: np.ndarray, grip: float) -> np.ndarray:
    """OSC delta action (float32[7]) moving the gripper towards ``target`` [m] and ``rot``."""
    base = env.unwrapped
    action = np.zeros(7)
    action[:3] = np.clip(K_POS * (target - base.eef_pos), -1.0, 1.0)
    action[3:6] = np.clip(K_ROT * rotvec(rot @ base.eef_rot.T), -1.0, 1.0)
    action[6] = grip
    return action.astype(np.float32)


class WaypointExpert(Expert):
    """Base for the phase machines: ``_phase`` indexes :meth:`subtask_names`-like phases, each
    ends when its waypoint is reached (within ``tol`` [m]) or after ``timeout`` steps."""

    def __init__(self, failure: bool = False, seed: int | None = None):
        self.failure = failure
        self._rng = np.random.default_rng(seed)
        self._phase = 0
        self._phase_steps = 0
        self._integral = np.zeros(3)

    def reset(self, env: Any, obs: Observation, info: dict[str, Any]) -> None:
        self._phase = 0
        self._phase_steps = 0
        self._integral = np.zeros(3)
        self._rng = np.random.default_rng([info.get("seed", 0), 99])
        self._plan(env.unwrapped)

    def _plan(self, env: Any) -> None:
        """Compute the episode's fixed quantities (object yaw, miss offset, ...)."""

    def _next(self) -> None:
        self._phase += 1
        self._phase_steps = 0
        self._integral = np.zeros(3)

    def _servo(self, env: Any, target: np.ndarray, rot: np.ndarray, grip: float) -> np.ndarray:
        """:func:`servo` with an integral term on the position error (reset at each phase)."""
        err = target - env.unwrapped.eef_pos
        if np.linalg.norm(err) < INT_ZONE:  # integrate only near the target (no wind-up)
            self._integral = np.clip(self._integral + K_INT * err, -INT_LIMIT, INT_LIMIT)
        return servo(env, target + self._integral, rot, grip)

    def _reached(self, env: Any, target: np.ndarray, tol: float) -> bool:
        return bool(np.linalg.norm(target - env.unwrapped.eef_pos) < tol)

    def _miss(self) -> np.ndarray:
        """Sideways grasp offset [m]: zero normally, ``MISS_OFFSET`` in a random direction
        in failure mode."""
        if not self.failure:
            return np.zeros(3)
        angle = self._rng.uniform(0.0, 2 * np.pi)
        return MISS_OFFSET * np.array([np.cos(angle), np.sin(angle), 0.0])


class PickExpert(WaypointExpert):
    """Pick an object from above and carry it: hover, descend, close, lift, then the task's
    transport phases (:meth:`_transport`). Phases 0-3 are shared by Lift, Stack, PickPlace."""

    hover = 0.10
    grasp_depth = 0.0
    symmetry = np.pi / 2
    close_steps = 8

    def _object(self, env: Any) -> tuple[np.ndarray, np.ndarray]:
        """Position [m] and quaternion (w, x, y, z) of the object to pick."""
        raise NotImplementedError

    def _plan(self, env: Any) -> None:
        _, quat = self._object(env)
        self._rot = rot_z(grasp_yaw(quat_yaw(quat), self.symmetry)) @ R_DOWN
        self._offset = self._miss()

    def act(self, env: Any, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        base = env.unwrapped
        pos, _ = self._object(base)
        self._phase_steps += 1
        grasp_point = pos + self._offset + [0.0, 0.0, self.grasp_depth]
        if self._phase == 0:  # hover above the object
            target = grasp_point + [0.0, 0.0, self.hover]
            if self._reached(base, target, 0.015) or self._phase_steps > 60:
                self._next()
            return self._servo(base, target, self._rot, OPEN)
        if self._phase == 1:  # descend
            if self._reached(base, grasp_point, 0.008) or self._phase_steps > 40:
                self._next()
            return self._servo(base, grasp_point, self._rot, OPEN)
        if self._phase == 2:  # close
            if self._phase_steps >= self.close_steps:
                self._next()
                self._lift_from = base.eef_pos.copy()
            return self._servo(base, grasp_point, self._rot, CLOSE)
        return self._transport(base)

    def _transport(self, env: Any) -> np.ndarray:
        raise NotImplementedError


class LiftExpert(PickExpert):
    """Lift: pick the cube and raise it 15 cm."""

    def _object(self, env: Any) -> tuple[np.ndarray, np.ndarray]:
        raw = env.raw
        return np.array(raw.sim.data.body_xpos[raw.cube_body_id]), np.array(
            raw.sim.data.body_xquat[raw.cube_body_id]
        )

    def _transport(self, env: Any) -> np.ndarray:
        return self._servo(env, self._lift_from + [0.0, 0.0, 0.15], self._rot, CLOSE)

    def subtask_names(self) -> tuple[str, ...]:
        return ("hover", "descend", "close", "lift")


class StackExpert(PickExpert):
    """Stack: pick cube A, carry it above cube B, lower it until it rests there, open, retreat."""

    def _object(self, env: Any) -> tuple[np.ndarray, np.ndarray]:
        raw = env.raw
        return np.array(raw.sim.data.body_xpos[raw.cubeA_body_id]), np.array(
            raw.sim.data.body_xquat[raw.cubeA_body_id]
        )

    def _plan(self, env: Any) -> None:
        super()._plan(env)
        raw = env.raw
        self._b = np.array(raw.sim.data.body_xpos[raw.cubeB_body_id])
        # cube A (half 0.02) centred on cube B (half 0.025), 5 mm above contact.
        self._place = self._b + [0.0, 0.0, 0.025 + 0.02 + 0.005]

    def _transport(self, env: Any) -> np.ndarray:
        raw = env.raw
        a = np.array(raw.sim.data.body_xpos[raw.cubeA_body_id])
        held = env.eef_pos - a  # keep the grasp offset while carrying
        if self._phase == 3:  # lift
            target = self._lift_from + [0.0, 0.0, 0.12]
            if self._reached(env, target, 0.02) or self._phase_steps > 40:
                self._next()
            return self._servo(env, target, self._rot, CLOSE)
        if self._phase == 4:  # move above cube B
            target = self._place + held + [0.0, 0.0, 0.06]
            if np.linalg.norm(a[:2] - self._b[:2]) < 0.008 or self._phase_steps > 80:
                self._next()
            return self._servo(env, target, self._rot, CLOSE)
        if self._phase == 5:  # lower onto cube B
            target = self._place + held
            if abs(a[2] - self._place[2]) < 0.004 or self._phase_steps > 40:
                self._next()
            return self._servo(env, target, self._rot, CLOSE)
        if self._phase == 6:  # release
            if self._phase_steps >= 8:
                self._next()
            return self._servo(env, env.eef_pos, self._rot, OPEN)
        return self._servo(env, self._place + [0.0, 0.0, 0.12], self._rot, OPEN)

    def subtask_names(self) -> tuple[str, ...]:
        return ("hover", "descend", "close", "lift", "carry", "lower", "release", "retreat")


class PickPlaceExpert(PickExpert):
    """PickPlace (one object): pick it, carry it at a safe height to its bin slot, lower it,
    open, retreat (robosuite counts success only once the gripper has left the object)."""

    carry = 0.17
    """Carrying height of the gripper above the bins [m]."""
    inset = np.array([0.035, 0.05])
    """Shift of the release point from the slot centre towards the bin centre [m]: the slot
    centres sit at the edge of the Panda's reach, the inner half of the slot does not."""
    drop = 0.08
    """Gripper height above the bin floor when releasing [m]."""
    symmetry = np.pi / 2

    def _object(self, env: Any) -> tuple[np.ndarray, np.ndarray]:
        raw = env.raw
        body = raw.obj_body_id[raw.objects[raw.object_id].name]
        return np.array(raw.sim.data.body_xpos[body]), np.array(raw.sim.data.body_xquat[body])

    def _plan(self, env: Any) -> None:
        super()._plan(env)
        raw = env.raw
        self._goal = np.array(raw.target_bin_placements[raw.object_id], dtype=float)
        toward_centre = -np.sign(self._goal[:2] - np.asarray(raw.bin2_pos[:2], dtype=float))
        self._goal[:2] += toward_centre * self.inset
        self._carry_z = float(raw.bin2_pos[2]) + self.carry

    def _transport(self, env: Any) -> np.ndarray:
        goal_above = np.array([self._goal[0], self._goal[1], self._carry_z])
        if self._phase == 3:  # lift straight up
            target = np.array([*self._lift_from[:2], self._carry_z])
            if self._reached(env, target, 0.03) or self._phase_steps > 60:
                self._next()
            return self._servo(env, target, self._rot, CLOSE)
        if self._phase == 4:  # carry above the slot
            if self._reached(env, goal_above, 0.015) or self._phase_steps > 100:
                self._next()
            return self._servo(env, goal_above, self._rot, CLOSE)
        if self._phase == 5:  # lower
            target = np.array([self._goal[0], self._goal[1], self._goal[2] + self.drop])
            if self._reached(env, target, 0.015) or self._phase_steps > 50:
                self._next()
            return self._servo(env, target, self._rot, CLOSE)
        if self._phase == 6:  # release
            if self._phase_steps >= 8:
                self._next()
            return self._servo(env, env.eef_pos, self._rot, OPEN)
        return self._servo(env, goal_above, self._rot, OPEN)

    def subtask_names(self) -> tuple[str, ...]:
        return ("hover", "descend", "close", "lift", "carry", "lower", "release", "retreat")


PICK_EXPERTS: dict[str, type[PickExpert]] = {
    "lift": LiftExpert,
    "stack": StackExpert,
    "pick-place-can": PickPlaceExpert,
}
