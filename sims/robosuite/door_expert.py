"""Scripted expert for robosuite's Door (latched): grasp the lever, turn it, swing the door."""

from __future__ import annotations

from typing import Any

import numpy as np

from robo.types import Observation
from sims.robosuite.experts import CLOSE, MISS_OFFSET, OPEN, WaypointExpert, rotvec


def _axis_rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix [3, 3] of ``angle`` [rad] about unit ``axis`` (Rodrigues)."""
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)


class DoorExpert(WaypointExpert):
    """Door: grasp the lever from the front (gripper facing the door, fingers across the
    lever's height),
    turn it up by :attr:`turn` rad about the latch axis (the latch clears the frame), then swing
    the grasp about the door hinge until the door is open.

    Failure mode: the grasp point is moved :data:`MISS_OFFSET` towards the robot, so the
    fingers close on air and the turn and pull sweep in front of the lever.
    """

    turn = 1.45
    """Handle angle the expert turns to [rad] (the latch needs about 1.2)."""
    reorient_steps = 25
    """Steps over which the gripper turns from pointing down to facing the door."""
    closing_sign = -1.0
    """Direction (world +z or -z) of the gripper x axis, along which the fingers close."""

    def _plan(self, env: Any) -> None:
        raw = env.raw
        data = raw.sim.data
        latch = data.body_xmat[raw.object_body_ids["latch"]].reshape(3, 3)
        along = latch[:, 0].copy()  # lever direction, from the latch axis to its end
        along[2] = 0.0
        along /= np.linalg.norm(along)
        normal = -latch[:, 1].copy()  # door normal, towards the robot
        normal[2] = 0.0
        normal /= np.linalg.norm(normal)
        approach = -normal
        closing = np.array([0.0, 0.0, self.closing_sign])
        self._rot0 = np.stack([closing, np.cross(approach, closing), approach], axis=1)
        self._normal = normal
        self._rot_start = env.eef_rot.copy()
        self._along = along
        self._grasp = np.array(raw._handle_xpos)
        if self.failure:
            self._grasp = self._grasp + MISS_OFFSET * normal
        model = raw.sim.model
        self._latch_joint = model.joint_name2id(raw.door.joints[1])
        self._hinge_joint = model.joint_name2id(raw.door.joints[0])

    def act(self, env: Any, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        base = env.unwrapped
        raw = base.raw
        data = raw.sim.data
        handle = float(data.qpos[raw.handle_qpos_addr])
        hinge = float(data.qpos[raw.hinge_qpos_addr])
        self._phase_steps += 1
        if self._phase == 0:  # in front of the lever, turning the gripper to face the door
            target = self._grasp + 0.10 * self._normal
            w = rotvec(self._rot_start.T @ self._rot0)
            frac = min(self._phase_steps / self.reorient_steps, 1.0)
            angle = float(np.linalg.norm(w))
            rot = self._rot_start @ _axis_rotation(w / max(angle, 1e-9), frac * angle)
            if (frac >= 1.0 and self._reached(base, target, 0.02)) or self._phase_steps > 60:
                self._next()
            return self._servo(base, target, rot, OPEN)
        if self._phase == 1:  # slide the open fingers over the lever
            if self._reached(base, self._grasp, 0.012) or self._phase_steps > 40:
                self._next()
            return self._servo(base, self._grasp, self._rot0, OPEN)
        if self._phase == 2:  # close
            if self._phase_steps >= 8:
                self._next()
                self._p0 = base.eef_pos.copy()
                self._latch_c = np.array(data.xanchor[self._latch_joint])
                self._latch_axis = np.array(data.xaxis[self._latch_joint])
            return self._servo(base, self._grasp, self._rot0, CLOSE)
        if self._phase == 3:  # turn the lever up
            phi = -min(abs(handle) + 0.4, self.turn)
            if abs(handle) > self.turn - 0.15 or self._phase_steps > 50:
                self._next()
                r = _axis_rotation(self._latch_axis, -self.turn)
                self._p1 = self._latch_c + r @ (self._p0 - self._latch_c)
                self._rot1 = r @ self._rot0
                self._hinge_c = np.array(data.xanchor[self._hinge_joint])
                self._hinge_axis = np.array(data.xaxis[self._hinge_joint])
            r = _axis_rotation(self._latch_axis, phi)
            target = self._latch_c + r @ (self._p0 - self._latch_c)
            return self._servo(base, target, r @ self._rot0, CLOSE)
        # pull: swing the grasp about the hinge, a little ahead of the door
        r = _axis_rotation(self._hinge_axis, max(hinge, 0.0) + 0.15)
        target = self._hinge_c + r @ (self._p1 - self._hinge_c)
        return self._servo(base, target, r @ self._rot1, CLOSE)

    def subtask_names(self) -> tuple[str, ...]:
        return ("pre-grasp", "approach", "close", "turn", "pull")
