"""Scripted IK experts for the SO-101 tasks.

Each expert follows Cartesian waypoints of the tip (pre-grasp above, descend, close, lift, move,
lower, release). A commanded point moves towards the current waypoint at a capped speed
[m/s], IK (warm-started from the previous solution, steepest reachable approach) turns it
into joint targets, and joint targets change by at most ``MAX_JOINT_STEP`` per step, so the arm
never jumps into the cube. Experts read privileged state (cube pose, goal) from the env and
act only through the absolute joint-target action.

``failure=True`` makes on-purpose failures (mode drawn from the episode seed):
reach stops 6 cm short of the target; pick misses the grasp by 4 cm or drops the cube after a
2 cm lift; push stops after a third of the way or pushes 4 cm off-line; place misses the grasp
or drops the cube mid-carry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from robo.types import Observation
from sims.experts.base import Expert
from sims.so101.kinematics import GRIPPER_CLOSED, GRIPPER_OPEN
from sims.so101.layout import BIN_HEIGHT
from sims.so101.tasks import STAGES, push_direction

MAX_JOINT_STEP = 0.12  # [rad] per control step
PUSH_CONTACT = 0.021  # [m] cube centre ahead of the pad midpoint when the closed pads touch it


@dataclass
class Waypoint:
    """Move the tip to ``goal(env)`` [m] at ``speed`` [m/s] with the gripper at ``grip`` [rad].

    ``hold`` extra steps are spent once the goal is reached (e.g. to let the gripper close);
    ``track`` re-evaluates the goal every step (closed loop), else once when the waypoint starts.
    """

    goal: Callable[[Any], np.ndarray]
    grip: float
    speed: float = 0.15
    hold: int = 0
    track: bool = False
    tol: float = 0.006


def _unwrap(env: Any) -> Any:
    return getattr(env, "unwrapped", env)


def grasp_yaw(cube_xy: np.ndarray, cube_yaw: float) -> float:
    """Jaw heading [rad] across two opposite cube faces, closest to the radial direction."""
    radial = float(np.arctan2(cube_xy[1], cube_xy[0]))
    options = [cube_yaw + k * np.pi / 2 for k in range(4)]
    return min(options, key=lambda a: abs((a - radial + np.pi / 2) % np.pi - np.pi / 2))


class SO101Expert(Expert):
    """Waypoint-following IK expert for one ``so101/*`` task."""

    def __init__(self, task: str, failure: bool = False, speed_scale: float = 1.0):
        if task not in STAGES:
            raise ValueError(f"unknown so101 task {task!r}; expected one of {', '.join(STAGES)}")
        self.task = task
        self.failure = failure
        self.speed_scale = speed_scale
        self.mode = "nominal"

    def subtask_names(self) -> tuple[str, ...]:
        return STAGES[self.task]

    # -- plan -----------------------------------------------------------------------------
    def reset(self, env: Any, obs: Observation, info: dict[str, Any]) -> None:
        e = _unwrap(env)
        rng = np.random.default_rng([int(info.get("seed", 0)), 99])
        self.mode = "nominal"
        if self.failure:
            modes = {
                "reach": ["short"],
                "pick-cube": ["miss", "drop"],
                "push-cube": ["short", "offline"],
                "place-cube-in-bin": ["miss", "drop"],
            }[self.task]
            self.mode = modes[int(rng.integers(len(modes)))]
        self.q = e.joint_positions()
        self.cmd = e.tip_pos()
        self.pitch = float(np.pi / 2)
        self.grip = float(self.q[5])
        cube, yaw = e.cube_pos(), e.cube_yaw()
        self.jaw_yaw: float | None = grasp_yaw(cube[:2], yaw) if self.task != "reach" else None
        self.plan = getattr(self, "_plan_" + self.task.replace("-", "_"))(e, rng)
        self.index, self.waited, self.goal = 0, 0, None

    def _plan_reach(self, e: Any, rng: np.random.Generator) -> list[Waypoint]:
        target = e.layout.target.copy()
        if self.mode == "short":
            away = e.tip_pos() - target
            target = target + 0.06 * away / max(np.linalg.norm(away), 1e-6)
        return [Waypoint(lambda _: target, GRIPPER_OPEN, speed=0.2, hold=5)]

    def _grasp_points(self, e: Any, rng: np.random.Generator) -> list[Waypoint]:
        offset = np.zeros(3)
        if self.mode == "miss":
            side = self.jaw_yaw + np.pi / 2
            offset = 0.04 * np.array([np.cos(side), np.sin(side), 0.0])
        above = np.array([0.0, 0.0, 0.06])
        return [
            Waypoint(lambda env: env.cube_pos() + above + offset, GRIPPER_OPEN, speed=0.2),
            Waypoint(lambda env: env.cube_pos() + offset, GRIPPER_OPEN, speed=0.08, tol=0.004),
            Waypoint(lambda env: self.cmd.copy(), GRIPPER_CLOSED, hold=8),
        ]

    def _plan_pick_cube(self, e: Any, rng: np.random.Generator) -> list[Waypoint]:
        lift = 0.035 if self.mode == "drop" else 0.085
        plan = self._grasp_points(e, rng)
        plan.append(
            Waypoint(lambda env: self.cmd + [0, 0, lift], GRIPPER_CLOSED, speed=0.08, hold=10)
        )
        if self.mode == "drop":
            plan.append(Waypoint(lambda env: self.cmd.copy(), GRIPPER_OPEN, hold=15))
        return plan

    def _plan_push_cube(self, e: Any, rng: np.random.Generator) -> list[Waypoint]:
        d0 = push_direction(e.layout, e.cube_pos()[:2])
        self.jaw_yaw = float(np.arctan2(d0[1], d0[0]) + np.pi / 2)
        lateral = np.zeros(2)
        if self.mode == "offline":
            lateral = 0.045 * np.array([-d0[1], d0[0]])
        stop = 0.65 if self.mode == "short" else 0.0
        z = e.cube_pos()[2]

        def pusher_to_tip(env: Any, pusher_xy: np.ndarray, up: float = 0.0) -> np.ndarray:
            offset = env.tip_pos()[:2] - env.pad_center()[:2]
            return np.array([*(pusher_xy + offset + lateral), z + up])

        def behind(env: Any, back: float, up: float) -> np.ndarray:
            cube = env.cube_pos()[:2]
            return pusher_to_tip(env, cube - back * push_direction(env.layout, cube), up)

        def push(env: Any) -> np.ndarray:
            cube = env.cube_pos()[:2]
            d = push_direction(env.layout, cube)
            remaining = float(np.linalg.norm(env.layout.target[:2] - cube))
            start = float(np.linalg.norm(env.layout.target[:2] - env.layout.cube_xy))
            if remaining < 0.005 or remaining < stop * start:
                return self.cmd.copy()
            rel = env.pad_center()[:2] - lateral - cube
            off_line = abs(float(rel @ np.array([-d[1], d[0]])))
            if off_line > 0.007:  # realign behind the cube before pushing on
                return pusher_to_tip(env, cube - (PUSH_CONTACT + 0.012) * d)
            return pusher_to_tip(env, cube - (PUSH_CONTACT - min(0.01, remaining)) * d)

        return [
            Waypoint(lambda env: behind(env, 0.05, 0.05), GRIPPER_CLOSED, speed=0.2),
            Waypoint(lambda env: behind(env, 0.05, 0.0), GRIPPER_CLOSED, speed=0.08),
            Waypoint(push, GRIPPER_CLOSED, speed=0.05, track=True, hold=400, tol=0.0),
        ]

    def _plan_place_cube_in_bin(self, e: Any, rng: np.random.Generator) -> list[Waypoint]:
        rim = e.layout.surface_z + BIN_HEIGHT
        carry_z = rim + 0.055
        bin_xy = e.layout.bin_xy
        plan = self._grasp_points(e, rng)
        plan.append(
            Waypoint(lambda env: np.array([*self.cmd[:2], carry_z]), GRIPPER_CLOSED, speed=0.1)
        )
        if self.mode == "drop":
            mid = 0.5 * (e.cube_pos()[:2] + bin_xy)
            plan.append(Waypoint(lambda env: np.array([*mid, carry_z]), GRIPPER_CLOSED, speed=0.12))
            plan.append(Waypoint(lambda env: self.cmd.copy(), GRIPPER_OPEN, hold=20))
            return plan
        plan += [
            Waypoint(lambda env: np.array([*bin_xy, carry_z]), GRIPPER_CLOSED, speed=0.12),
            Waypoint(lambda env: np.array([*bin_xy, rim + 0.03]), GRIPPER_CLOSED, speed=0.06),
            Waypoint(lambda env: self.cmd.copy(), GRIPPER_OPEN, hold=8),
            Waypoint(lambda env: np.array([*bin_xy, carry_z]), GRIPPER_OPEN, speed=0.1, hold=20),
        ]
        return plan

    # -- act ------------------------------------------------------------------------------
    def act(self, env: Any, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        e = _unwrap(env)
        dt = e.control_dt
        if self.index < len(self.plan):
            wp = self.plan[self.index]
            if self.goal is None or wp.track:
                self.goal = np.asarray(wp.goal(e), dtype=np.float64)
            delta = self.goal - self.cmd
            dist = float(np.linalg.norm(delta))
            max_move = wp.speed * self.speed_scale * dt
            self.cmd = (
                self.goal.copy() if dist <= max_move else self.cmd + delta * (max_move / dist)
            )
            self.grip += float(np.clip(wp.grip - self.grip, -0.25, 0.25))
            arrived = dist <= max_move and abs(wp.grip - self.grip) < 1e-6
            if arrived and (np.linalg.norm(e.tip_pos() - self.goal) < wp.tol or wp.tol == 0.0):
                self.waited += 1
            elif arrived:
                self.waited += 0.25  # tracking error: wait a little, then move on anyway
            if self.waited > wp.hold:
                self.index, self.waited, self.goal = self.index + 1, 0, None
        kin = e.kinematics
        res = kin.ik_steepest(
            self.cmd, self.q, jaw_yaw=self.jaw_yaw, start_pitch=min(np.pi / 2, self.pitch + 0.1)
        )
        self.pitch = res.pitch
        step = np.clip(res.q[:5] - self.q[:5], -MAX_JOINT_STEP, MAX_JOINT_STEP)
        self.q = self.q.copy()
        self.q[:5] += step
        self.q[5] = self.grip
        low, high = e.action_space.low, e.action_space.high
        return np.clip(self.q, low, high).astype(np.float32)

    @property
    def done(self) -> bool:
        """All waypoints executed."""
        return self.index >= len(self.plan)
