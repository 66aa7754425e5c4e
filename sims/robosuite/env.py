"""Gymnasium env over a robosuite manipulation task (Panda, OSC_POSE, delta actions).

Action, float32[7] in [-1, 1]: ``[dx, dy, dz, ax, ay, az, grip]``. ``d*`` is an end-effector
position delta in the robot base frame (world-aligned) scaled by 0.05 m per unit; ``a*`` an
axis-angle orientation delta scaled by 0.5 rad per unit; ``grip`` -1 opens, +1 closes.

State, float32[9]: end-effector (grip site) position [m, world frame] (3), its orientation as
a unit quaternion ``(x, y, z, w)`` (4), and the two finger joint positions [m] (2).

Cameras: ``front`` = robosuite ``agentview``, ``side`` = ``sideview`` (``frontview`` for
PickPlace, whose arena has no side view), ``wrist`` = ``robot0_eye_in_hand``. Images are
rendered upright by one MuJoCo render context per env, shadows and reflections off unless
``config.shadows``.

Seeding: robosuite draws the object layout and the joint noise from one ``numpy`` generator;
each reset re-seeds it in place from the episode seed, so the seed alone decides the scene
while the model (and the render context) is built once per env.
"""

from __future__ import annotations

import atexit
import weakref
from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces

from sims.base import TaskEnv
from sims.robosuite.config import RobosuiteConfig
from sims.robosuite.scene import build_raw_env, jitter_cameras, place_obstacle
from sims.robosuite.tasks import RobosuiteTask

STATE_DIM = 9
ACTION_DIM = 7


class RobosuiteEnv(TaskEnv):
    """A robosuite task behind the robo observation/info contract (see module docstring)."""

    action_mode = "delta"
    gripper_dims = (6,)

    def __init__(self, task: RobosuiteTask, config: RobosuiteConfig):
        super().__init__(f"robosuite/{task.name}", config, task.instruction, STATE_DIM)
        self.task = task
        self.control_dt = 1.0 / config.control_freq
        self.metadata = {**self.metadata, "render_fps": config.control_freq}
        self.action_space = spaces.Box(-1.0, 1.0, (ACTION_DIM,), dtype=np.float32)
        self.raw = build_raw_env(task, config)
        self._model: mujoco.MjModel = self.raw.sim.model._model
        self._data: mujoco.MjData = self.raw.sim.data._data
        self._cameras = {
            "front": "agentview",
            "side": task.side_camera,
            "wrist": "robot0_eye_in_hand",
        }
        unknown = [c for c in config.cameras if c not in self._cameras]
        if unknown:
            raise ValueError(
                f"{self.task_name}: unknown cameras {unknown}; choose from {list(self._cameras)}"
            )
        self._camera_ids = {
            name: mujoco.mj_name2id(self._model, mujoco.mjtObj.mjOBJ_CAMERA, cam)
            for name, cam in self._cameras.items()
        }
        self._nominal_cameras = {
            self._camera_ids[n]: (
                self._model.cam_pos[self._camera_ids[n]].copy(),
                self._model.cam_quat[self._camera_ids[n]].copy(),
            )
            for n in ("front", "side")
        }
        # One render context per env, made on first use; freed on close() or, at the latest,
        # before interpreter shutdown tears EGL down (a late __del__ would raise there).
        self._render_slot: list[mujoco.Renderer] = []
        self._scene_option = mujoco.MjvOption()
        # robosuite keeps collision meshes in geom group 0 and visual meshes in group 1.
        self._scene_option.geomgroup[0] = 0
        self._env_reward = float("nan")
        self._eef_site = self.raw.robots[0].eef_site_id["right"]
        self._finger_qpos = list(self.raw.robots[0]._ref_gripper_joint_pos_indexes["right"])

    # -- hooks ---------------------------------------------------------------------------
    def _reset_sim(self, seed: int) -> None:
        self.raw.rng.bit_generator.state = np.random.default_rng(seed).bit_generator.state
        self.raw.reset()
        if self.config.shift == "obstacle":
            place_obstacle(self.task, self.raw)
        if self.config.shift == "camera":
            jitter_cameras(self._model, self._nominal_cameras, seed)
            mujoco.mj_forward(self._model, self._data)  # camera world poses for the first frame
        self._env_reward = float(self.raw.reward(None))

    def _apply_action(self, action: np.ndarray) -> None:
        _, reward, _, _ = self.raw.step(action.astype(np.float64))
        self._env_reward = float(reward)

    def _render_camera(self, name: str) -> np.ndarray:
        if name not in self._camera_ids:
            raise ValueError(f"{self.task_name}: no camera {name!r}; have {list(self._cameras)}")
        if not self._render_slot:
            size = self.config.image_size
            vis = self._model.vis.global_
            vis.offwidth, vis.offheight = max(vis.offwidth, size), max(vis.offheight, size)
            renderer = mujoco.Renderer(self._model, size, size)
            flags = renderer.scene.flags
            flags[mujoco.mjtRndFlag.mjRND_SHADOW] = self.config.shadows
            flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = self.config.shadows
            self._render_slot.append(renderer)
            _track_for_exit(self)
        renderer = self._render_slot[0]
        renderer.update_scene(
            self._data, camera=self._camera_ids[name], scene_option=self._scene_option
        )
        return renderer.render()

    def _proprio(self) -> np.ndarray:
        data = self._data
        quat_wxyz = np.zeros(4)
        mujoco.mju_mat2Quat(quat_wxyz, data.site_xmat[self._eef_site])
        return np.concatenate(
            [data.site_xpos[self._eef_site], np.roll(quat_wxyz, -1), data.qpos[self._finger_qpos]]
        ).astype(np.float32)

    def _evaluate(self) -> dict[str, Any]:
        progress, subtask = self.task.evaluate(self.raw)
        return {
            "success": bool(self.raw._check_success()),
            "progress_gt": progress,
            "env_reward": self._env_reward,
            "subtask": subtask,
        }

    # -- helpers for experts and evaluation ------------------------------------------------
    @property
    def eef_pos(self) -> np.ndarray:
        """End-effector (grip site) position [m], world frame, float64[3]."""
        return np.array(self._data.site_xpos[self._eef_site])

    @property
    def eef_rot(self) -> np.ndarray:
        """End-effector orientation as a rotation matrix (world frame), float64[3, 3]."""
        return np.array(self._data.site_xmat[self._eef_site]).reshape(3, 3)

    def close(self) -> None:
        _free_renderers(self._render_slot)
        self.raw.close()
        super().close()


def _free_renderers(slot: list[mujoco.Renderer]) -> None:
    while slot:
        slot.pop().close()


_LIVE: weakref.WeakSet[RobosuiteEnv] = weakref.WeakSet()
_EXIT_HOOK: list[bool] = []


def _track_for_exit(env: RobosuiteEnv) -> None:
    # Registered after mujoco.egl's own atexit hook (made when the first Renderer is built),
    # so it runs before EGL is terminated.
    if not _EXIT_HOOK:
        atexit.register(_free_all)
        _EXIT_HOOK.append(True)
    _LIVE.add(env)


def _free_all() -> None:
    for env in list(_LIVE):
        _free_renderers(env._render_slot)
