"""Distribution shifts of Meta-World scenes, applied per reset from the episode seed.

* ``camera``: each third-person camera ("corner", "corner2") moved by up to
  ``camera_jitter_pos`` [m] and rotated by up to ``camera_jitter_deg`` [deg] about a random axis.
* ``lighting``: light colours/intensities and all material/geom colours tinted (textures are
  multiplied by the tinted material colour, so the table and walls change colour too).
* ``obstacle``: a static cube (added to the model by :mod:`sims.metaworld.scene`) centred on
  the segment from the hand's start to a point just above the task's target, kept clear of
  the object.

* ``surface`` (reach): a raised table section (a step, :data:`STEP_HALF`) resting on the table
  between the hand's start and the goal, its far edge :data:`STEP_GAP` before the goal (in y)
  and its top 2-3 cm above the goal, so the straight path runs into it and a path over it and
  down reaches the goal (see tests/sims/metaworld/test_shifts.py). It is the model's added box
  (:data:`sims.metaworld.scene.OBSTACLE_NAME`) with other half sizes.

Each shift draws from its own stream ``np.random.default_rng([seed, k])`` so it never changes
the object layout of a seed.
"""

from __future__ import annotations

import mujoco
import numpy as np
from metaworld.sawyer_xyz_env import SawyerXYZEnv

from sims.metaworld.scene import place_obstacle

STEP_HALF = (0.2, 0.02, 0.2)
"""Half sizes [m] of the ``surface`` shift's raised table section (40 cm wide, 4 cm deep)."""
STEP_GAP = 0.07
"""[m] from the step's far edge to the goal in y (room for the hand to come down to it)."""

JITTERED_CAMERAS: tuple[str, ...] = ("corner", "corner2")
"""Meta-World cameras the ``camera`` shift moves (the wrist camera rides on the gripper)."""


def _random_rotation_quat(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = np.deg2rad(rng.uniform(-max_deg, max_deg))
    quat = np.empty(4)
    mujoco.mju_axisAngle2Quat(quat, axis, angle)
    return quat


class SceneShift:
    """Applies one named shift to a raw Meta-World env after each reset.

    Args:
        env: the raw env (its model is edited in place; base values are kept to undo).
        shift: ``None``, ``"camera"``, ``"lighting"`` or ``"obstacle"``.
        camera_jitter_pos: max camera offset [m].
        camera_jitter_deg: max camera rotation [deg].
        obstacle_half_size: half edge of the obstacle cube [m].
    """

    def __init__(
        self,
        env: SawyerXYZEnv,
        shift: str | None,
        camera_jitter_pos: float = 0.05,
        camera_jitter_deg: float = 5.0,
        obstacle_half_size: float = 0.03,
    ):
        self.env = env
        self.shift = shift
        self.camera_jitter_pos = camera_jitter_pos
        self.camera_jitter_deg = camera_jitter_deg
        self.obstacle_half_size = obstacle_half_size
        m = env.model
        self._cam_ids = [m.camera(name).id for name in JITTERED_CAMERAS]
        self._base = {
            "cam_pos": m.cam_pos.copy(),
            "cam_quat": m.cam_quat.copy(),
            "light_diffuse": m.light_diffuse.copy(),
            "light_ambient": m.light_ambient.copy(),
            "mat_rgba": m.mat_rgba.copy(),
            "geom_rgba": m.geom_rgba.copy(),
        }
        self.obstacle_pos: np.ndarray | None = None
        self.step_pos: np.ndarray | None = None

    def apply(self, seed: int, target: np.ndarray, object_top: float | None) -> None:
        """Apply the shift for ``seed``.

        Args:
            seed: the episode seed.
            target: float[3] point the hand heads for first (object or goal) [m].
            object_top: height of the object's top [m] (``None`` when there is no object to
                keep clear of, e.g. reach).
        """
        if self.shift == "camera":
            self._jitter_cameras(np.random.default_rng([seed, 1]))
        elif self.shift == "lighting":
            self._relight(np.random.default_rng([seed, 2]))
        elif self.shift == "obstacle":
            self._place_obstacle(target, object_top)
        elif self.shift == "surface":
            self._place_step(target, np.random.default_rng([seed, 3]))
        mujoco.mj_forward(self.env.model, self.env.data)  # camera/body poses live in data

    def _jitter_cameras(self, rng: np.random.Generator) -> None:
        m = self.env.model
        for cam in self._cam_ids:
            offset = rng.uniform(-1.0, 1.0, size=3)
            offset *= self.camera_jitter_pos / max(np.linalg.norm(offset), 1e-9) * rng.uniform()
            m.cam_pos[cam] = self._base["cam_pos"][cam] + offset
            quat = np.empty(4)
            mujoco.mju_mulQuat(
                quat,
                self._base["cam_quat"][cam],
                _random_rotation_quat(rng, self.camera_jitter_deg),
            )
            m.cam_quat[cam] = quat

    def _relight(self, rng: np.random.Generator) -> None:
        m = self.env.model
        n_light = m.nlight
        light_tint = rng.uniform(0.45, 1.0, size=(n_light, 3))
        m.light_diffuse[:] = np.clip(self._base["light_diffuse"] * light_tint * 1.3, 0.0, 1.0)
        m.light_ambient[:] = rng.uniform(0.0, 0.35, size=(n_light, 3))
        mat_tint = rng.uniform(0.45, 1.0, size=(m.nmat, 3))
        m.mat_rgba[:, :3] = self._base["mat_rgba"][:, :3] * mat_tint
        plain = m.geom_matid < 0
        geom_tint = rng.uniform(0.45, 1.0, size=(int(plain.sum()), 3))
        m.geom_rgba[plain, :3] = self._base["geom_rgba"][plain, :3] * geom_tint

    def _place_step(self, goal: np.ndarray, rng: np.random.Generator) -> None:
        top = float(goal[2]) + rng.uniform(0.02, 0.03)
        hand_y = float(self.env.tcp_center[1])
        y = float(goal[1]) - np.sign(float(goal[1]) - hand_y) * (STEP_GAP + STEP_HALF[1])
        self.step_pos = np.array([float(goal[0]), y, top - STEP_HALF[2]])
        place_obstacle(self.env, self.step_pos)

    def _place_obstacle(self, target: np.ndarray, object_top: float | None) -> None:
        half = self.obstacle_half_size
        hand = np.asarray(self.env.tcp_center, dtype=np.float64).copy()
        lift = 0.0 if object_top is None else 0.05
        aim = np.asarray(target, dtype=np.float64) + np.array([0.0, 0.0, lift])
        pos = hand + 0.5 * (aim - hand)
        if object_top is not None:
            # Keep the column above the object free (the hand must come down onto it): when
            # the hand starts almost above the object, sit next to it on the hand's side.
            away = hand[:2] - aim[:2]
            dist = float(np.linalg.norm(away))
            clear = half + 0.07
            if dist < 2.0 * clear:
                unit = away / dist if dist > 1e-6 else np.array([0.0, -1.0])
                pos[:2] = aim[:2] + clear * unit
            pos[2] = max(pos[2], object_top + half + 0.02)
        near_start = np.max(np.abs(pos[:2] - hand[:2])) < half + 0.05
        if near_start:  # the hand's start pose stays collision-free (fingers reach ~4 cm down)
            pos[2] = min(pos[2], hand[2] - half - 0.045)
        self.obstacle_pos = pos
        place_obstacle(self.env, pos)
