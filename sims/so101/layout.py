"""Seeded scene layouts: where the cube, goal, bin and shift geometry go for one episode.

``sample_layout(task, seed, shift)`` draws everything from ``np.random.default_rng(seed)``, so
the seed alone decides the scene. Ranges (world frame, arm base at the origin facing +x) [m]:

* reach: target x in [0.16, 0.28], y in [-0.14, 0.14], z in [0.04, 0.16] above the surface.
* pick-cube: cube (3 cm) x in [0.17, 0.26], y in [-0.10, 0.10], yaw in [-0.6, 0.6] rad.
* push-cube: cube x in [0.18, 0.25], |y| <= 0.07; target disc (r = 3 cm) 8-11 cm away, pushing
  sideways towards the other side (direction within +-0.35 rad of +-y).
* place-cube-in-bin: cube y on one side (|y| in [0.06, 0.11]), bin (8 cm inside, 4 cm walls)
  on the other side (|y| in [0.09, 0.12]), both x in [0.17, 0.25].

Shifts (see :mod:`sims.shifts`): ``obstacle`` puts a 3 cm pillar (a low 3 cm block for push)
at the midpoint of the nominal path start -> goal; for reach it is a 3 cm block held in the air
at the midpoint of the straight home-tip -> target path, with the target redrawn from the
nominal range until it is >= 12 cm from the home tip (so the block clears the arm at home and
at the target, and a detour over or around it exists: see tests/sims/so101/test_shifts.py); ``surface`` raises a platform under the
work area by 2-5 cm and shifts it by up to 3 cm (its near edge stays >= 11 cm from the base);
for reach it is instead a raised table section (a 24 x 12 cm step, top 1.5-2.5 cm above the
target) between home and a low target (z <= 5.5 cm, |y| >= 8 cm, redrawn from the nominal range),
its edge 3.5 cm before the target (see tests/sims/so101/test_shifts.py); ``distractor`` adds 3 cubes of other colours;
``camera`` jitters the third-person cameras by up to 4 cm (position) and 3 cm (look-at point);
``lighting`` changes the light colour/direction and the table colour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TASKS = ("reach", "pick-cube", "push-cube", "place-cube-in-bin")
CUBE_HALF = 0.015  # [m]
BIN_INNER_HALF = 0.04  # [m]
BIN_WALL = 0.005  # [m] wall thickness
BIN_HEIGHT = 0.04  # [m]
TARGET_RADIUS = 0.03  # [m] push target disc
HOME_TIP = np.array([0.16, 0.0, 0.16])  # nominal start of the tip [m] (for obstacle placement)
REACH_HOME_TIP = np.array([0.2145, -0.001, 0.1188])  # tip at HOME_Q [m] (forward kinematics)
REACH_OBSTACLE_MIN_DIST = 0.12  # [m] home tip -> target under the reach obstacle shift
STEP_HALF = np.array([0.12, 0.06, 0.05])  # [m] raised table section of the reach surface shift
STEP_GAP = 0.035  # [m] target -> the step's edge in y (room for the gripper to come down)

CAMERAS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    # name: (position, look-at point) [m]
    "front": ((0.66, 0.0, 0.4), (0.13, 0.0, 0.1)),
    "side": ((0.2, -0.55, 0.32), (0.17, 0.0, 0.05)),
}


@dataclass
class Obstacle:
    pos: np.ndarray  # centre [m], (3,)
    half: np.ndarray  # half sizes [m], (3,)


@dataclass
class SceneLayout:
    """Everything that the seed decides. Positions are world-frame [m]; yaw in rad."""

    task: str
    surface_z: float = 0.0
    platform: tuple[float, float, float, float] | None = None  # cx, cy, half_x, half_y [m]
    cube_xy: np.ndarray = field(default_factory=lambda: np.array([0.22, 0.0]))
    cube_yaw: float = 0.0
    target: np.ndarray = field(default_factory=lambda: np.array([0.22, 0.1, 0.1]))
    bin_xy: np.ndarray | None = None
    obstacle: Obstacle | None = None
    step: Obstacle | None = None  # raised table section resting on the table (reach surface)
    distractors: list[tuple[np.ndarray, tuple[float, float, float, float]]] = field(
        default_factory=list
    )
    cameras: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    light_rgb: tuple[float, float, float] = (0.8, 0.8, 0.8)
    light_dir: tuple[float, float, float] = (0.0, 0.3, -1.0)
    table_rgb: tuple[float, float, float] = (0.55, 0.45, 0.35)
    home_noise: np.ndarray = field(default_factory=lambda: np.zeros(5))

    @property
    def cube_pos(self) -> np.ndarray:
        return np.array([*self.cube_xy, self.surface_z + CUBE_HALF])

    def goal_xy(self) -> np.ndarray:
        """Where the task's nominal path ends in the plane [m] (for obstacle placement)."""
        if self.task == "reach":
            return self.target[:2]
        if self.task == "place-cube-in-bin":
            return self.bin_xy
        if self.task == "push-cube":
            return self.target[:2]
        return self.cube_xy


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def sample_layout(task: str, seed: int, shift: str | None = None) -> SceneLayout:
    """The scene for ``task`` and ``seed`` (optionally under a distribution ``shift``)."""
    if task not in TASKS:
        raise ValueError(f"unknown so101 task {task!r}; expected one of {', '.join(TASKS)}")
    rng = np.random.default_rng(seed)
    lay = SceneLayout(task=task)
    lay.home_noise = rng.uniform(-0.03, 0.03, size=5)
    if task == "reach":
        lay.target = np.array([_u(rng, 0.16, 0.28), _u(rng, -0.14, 0.14), _u(rng, 0.04, 0.16)])
        lay.cube_xy = np.array([0.30, -0.17])  # parked out of the way
    elif task == "pick-cube":
        lay.cube_xy = np.array([_u(rng, 0.17, 0.26), _u(rng, -0.10, 0.10)])
        lay.cube_yaw = _u(rng, -0.6, 0.6)
    elif task == "push-cube":
        lay.cube_xy = np.array([_u(rng, 0.18, 0.25), _u(rng, -0.07, 0.07)])
        side = -1.0 if lay.cube_xy[1] > 0 else 1.0
        phi = side * np.pi / 2 + _u(rng, -0.35, 0.35)
        dist = _u(rng, 0.08, 0.11)
        xy = lay.cube_xy + dist * np.array([np.cos(phi), np.sin(phi)])
        lay.target = np.array([*xy, 0.0])
    else:
        side = 1.0 if rng.uniform() < 0.5 else -1.0
        lay.cube_xy = np.array([_u(rng, 0.17, 0.25), side * _u(rng, 0.06, 0.11)])
        lay.cube_yaw = _u(rng, -0.4, 0.4)
        lay.bin_xy = np.array([_u(rng, 0.17, 0.25), -side * _u(rng, 0.09, 0.12)])
    for name, (pos, look) in CAMERAS.items():
        lay.cameras[name] = (np.array(pos), np.array(look))
    if shift is not None:
        _apply_shift(lay, shift, np.random.default_rng([seed, 7]))
    if task in ("reach", "push-cube"):
        lay.target[2] += lay.surface_z
    return lay


def _apply_shift(lay: SceneLayout, shift: str, rng: np.random.Generator) -> None:
    if shift == "obstacle" and lay.task == "reach":
        # The old mid-path pillar met the arm at home and at every reachable target pose: no
        # policy could succeed. Here the block is only in the straight path's way.
        while np.linalg.norm(lay.target - REACH_HOME_TIP) < REACH_OBSTACLE_MIN_DIST:
            lay.target = np.array([_u(rng, 0.16, 0.28), _u(rng, -0.14, 0.14), _u(rng, 0.04, 0.16)])
        mid = 0.5 * (REACH_HOME_TIP + lay.target)
        lay.obstacle = Obstacle(mid, np.array([0.015, 0.015, 0.015]))
    elif shift == "obstacle":
        start = HOME_TIP[:2] if lay.task != "place-cube-in-bin" else lay.cube_xy
        if lay.task == "push-cube":
            start = lay.cube_xy
        mid = 0.5 * (start + lay.goal_xy()) + rng.uniform(-0.01, 0.01, size=2)
        if lay.task == "push-cube":
            lay.obstacle = Obstacle(np.array([*mid, 0.015]), np.array([0.015, 0.015, 0.015]))
        else:
            lay.obstacle = Obstacle(np.array([*mid, 0.11]), np.array([0.015, 0.015, 0.11]))
    elif shift == "surface" and lay.task == "reach":
        # Raising the whole work area does not bother reach (the target rises with it and the
        # policy reads it: 0.7 -> 0.6 in session 2). Here a raised table section (a step) sits
        # between home and a low target, its top 1.5-2.5 cm above the target, its edge 3.5 cm
        # before it: the straight path runs into the step, a path over it and down succeeds.
        while not (abs(lay.target[1]) >= 0.08 and lay.target[2] <= 0.055):
            lay.target = np.array([_u(rng, 0.16, 0.28), _u(rng, -0.14, 0.14), _u(rng, 0.04, 0.16)])
        top = lay.target[2] + _u(rng, 0.015, 0.025)
        side = np.sign(lay.target[1])
        centre_y = lay.target[1] - side * (STEP_GAP + STEP_HALF[1])
        lay.step = Obstacle(np.array([0.24, centre_y, top - STEP_HALF[2]]), STEP_HALF.copy())
    elif shift == "surface":
        lay.surface_z = _u(rng, 0.02, 0.05)
        # Kept clear of the arm's shoulder (x >= 0.11 m) so only the work area is raised.
        lay.platform = (0.28 + _u(rng, -0.02, 0.03), _u(rng, -0.03, 0.03), 0.15, 0.24)
    elif shift == "distractor":
        colours = [(0.1, 0.7, 0.2, 1), (0.15, 0.3, 0.9, 1), (0.9, 0.8, 0.1, 1)]
        taken = [lay.cube_xy, lay.goal_xy()]
        for rgba in colours:
            for _ in range(100):
                xy = np.array([_u(rng, 0.14, 0.30), _u(rng, -0.18, 0.18)])
                if all(np.linalg.norm(xy - t) > 0.07 for t in taken):
                    taken.append(xy)
                    lay.distractors.append((xy, rgba))
                    break
    elif shift == "camera":
        for name, (pos, look) in lay.cameras.items():
            lay.cameras[name] = (
                pos + rng.uniform(-0.04, 0.04, size=3),
                look + rng.uniform(-0.03, 0.03, size=3),
            )
    elif shift == "lighting":
        lay.light_rgb = tuple(float(v) for v in rng.uniform(0.3, 1.0, size=3))
        lay.light_dir = (_u(rng, -0.6, 0.6), _u(rng, -0.6, 0.6), -1.0)
        lay.table_rgb = tuple(float(v) for v in rng.uniform(0.15, 0.85, size=3))
    else:
        raise ValueError(f"unknown shift {shift!r}; expected obstacle, surface, distractor, ...")
