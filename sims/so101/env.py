"""SO-101 task env: our MuJoCo scene behind the :class:`sims.base.TaskEnv` contract.

* **Action** float32[6]: ABSOLUTE joint-position targets [rad] in the real arm's order
  (:data:`sims.so101.kinematics.JOINT_NAMES`), bounded by the joint limits; the gripper is
  dimension 5 (-0.17 rad closed ... 1.75 rad open). Targets go to position actuators
  (gains in :data:`sims.so101.assets.ACTUATOR_GAINS`) for ``control_dt / sim_dt`` substeps.
* **State** float32[12]: joint positions [rad] (6, same order) then joint velocities [rad/s] (6).
* **Images**: cameras ``front``, ``side`` (third-person) and ``wrist`` (on the gripper),
  uint8[S, S, 3], upright, one offscreen renderer reused; shadows/reflections off unless
  ``config.shadows``.
* **info**: ``success``, ``progress_gt``, ``env_reward``, ``subtask`` as in
  :mod:`sims.so101.tasks`.
"""

from __future__ import annotations

import copy
from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces

from sims.base import TaskEnv
from sims.so101.assets import compile_model
from sims.so101.config import SO101Config
from sims.so101.kinematics import HOME_Q, JOINT_NAMES, ArmKinematics
from sims.so101.layout import CUBE_HALF, SceneLayout, sample_layout
from sims.so101.scene import apply_layout, build_scene_xml
from sims.so101.tasks import Snapshot, evaluate

STATE_DIM = 2 * len(JOINT_NAMES)


class SO101Env(TaskEnv):
    """One ``so101/<task>`` env; the seed passed to ``reset`` decides the scene."""

    action_mode = "absolute"
    gripper_dims = (5,)

    def __init__(self, task: str, config: SO101Config, instruction: str):
        super().__init__(f"so101/{task}", config, instruction, STATE_DIM)
        self.task = task
        steps = config.control_dt / config.sim_dt
        if config.sim_dt <= 0 or abs(steps - round(steps)) > 1e-6 or round(steps) < 1:
            raise ValueError(
                f"control_dt={config.control_dt} s must be a positive multiple of "
                f"sim_dt={config.sim_dt} s"
            )
        self.n_substeps = int(round(steps))
        self.control_dt = config.control_dt
        self.metadata = {**self.metadata, "render_fps": int(round(1 / config.control_dt))}
        self.layout: SceneLayout = sample_layout(task, 0, config.shift)
        xml = build_scene_xml(self.layout, config.image_size, config.shadows)
        self.model = copy.deepcopy(compile_model(xml))
        self.model.opt.timestep = config.sim_dt
        self.data = mujoco.MjData(self.model)
        self.kinematics = ArmKinematics(self.model)
        m = self.model
        self._qadr = np.array([m.joint(n).qposadr[0] for n in JOINT_NAMES])
        self._vadr = np.array([m.joint(n).dofadr[0] for n in JOINT_NAMES])
        self._act = np.array([m.actuator(n).id for n in JOINT_NAMES])
        limits = np.array([m.jnt_range[m.joint(n).id] for n in JOINT_NAMES], dtype=np.float32)
        self.action_space = spaces.Box(limits[:, 0], limits[:, 1], dtype=np.float32)
        self._tip = m.site("tip").id
        self._cube_body = m.body("cube").id
        self._cube_geom = m.geom("cube").id
        self._pads = (m.geom("fixed_jaw_pad").id, m.geom("moving_jaw_pad").id)
        self._free = {
            m.body(i).name: m.jnt_qposadr[m.body_jntadr[i]]
            for i in range(m.nbody)
            if m.body_jntnum[i] == 1 and m.jnt_type[m.body_jntadr[i]] == mujoco.mjtJoint.mjJNT_FREE
        }
        self._renderer: mujoco.Renderer | None = None
        self._start_tip = np.zeros(3)
        self._start_cube = np.zeros(3)

    # -- privileged accessors (experts, evaluation) ---------------------------------------
    def joint_positions(self) -> np.ndarray:
        """float64[6] measured joint positions [rad]."""
        return self.data.qpos[self._qadr].copy()

    def tip_pos(self) -> np.ndarray:
        """float64[3] tip position (between the fingertip pads) [m]."""
        return self.data.site_xpos[self._tip].copy()

    def cube_pos(self) -> np.ndarray:
        """float64[3] cube centre [m]."""
        return self.data.xpos[self._cube_body].copy()

    def pad_center(self) -> np.ndarray:
        """float64[3] midpoint of the two fingertip pads [m] (the pushing point, jaws closed)."""
        return 0.5 * (self.data.geom_xpos[self._pads[0]] + self.data.geom_xpos[self._pads[1]])

    def cube_yaw(self) -> float:
        """Cube heading about world z [rad]."""
        mat = self.data.xmat[self._cube_body].reshape(3, 3)
        return float(np.arctan2(mat[1, 0], mat[0, 0]))

    def grasped(self) -> bool:
        """The cube touches both fingertip pads."""
        touching = set()
        for c in self.data.contact[: self.data.ncon]:
            pair = (int(c.geom1), int(c.geom2))
            if self._cube_geom in pair:
                touching.add(pair[0] if pair[1] == self._cube_geom else pair[1])
        return all(p in touching for p in self._pads)

    def contacts_with(self, geom_name: str) -> int:
        """Number of active contacts involving the geom ``geom_name``."""
        gid = self.model.geom(geom_name).id
        return sum(gid in (c.geom1, c.geom2) for c in self.data.contact[: self.data.ncon])

    # -- TaskEnv hooks ------------------------------------------------------------------
    def _reset_sim(self, seed: int) -> None:
        self.layout = sample_layout(self.task, seed, self.config.shift)
        apply_layout(self.model, self.layout)
        mujoco.mj_resetData(self.model, self.data)
        home = HOME_Q.copy()
        home[:5] += self.config.home_noise * self.layout.home_noise
        self.data.qpos[self._qadr] = home
        self.data.ctrl[self._act] = home
        self._place_free("cube", self.layout.cube_pos, self.layout.cube_yaw)
        for i, (xy, _) in enumerate(self.layout.distractors):
            self._place_free(f"distractor_{i}", [*xy, self.layout.surface_z + CUBE_HALF], 0.0)
        mujoco.mj_forward(self.model, self.data)
        self._start_tip = self.tip_pos()
        self._start_cube = self.cube_pos()

    def _place_free(self, body: str, pos: Any, yaw: float) -> None:
        adr = self._free[body]
        self.data.qpos[adr : adr + 3] = pos
        self.data.qpos[adr + 3 : adr + 7] = [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]

    def _apply_action(self, action: np.ndarray) -> None:
        self.data.ctrl[self._act] = action
        mujoco.mj_step(self.model, self.data, nstep=self.n_substeps)

    def _proprio(self) -> np.ndarray:
        return np.concatenate([self.data.qpos[self._qadr], self.data.qvel[self._vadr]])

    def policy_state(self) -> np.ndarray:
        """float32[21] low-dimensional state for state-based learners (RL): joint positions
        [rad] (6), joint velocities [rad/s] (6), gripper tip, cube centre and task target
        [m, world frame] (3 each). Privileged (the target is not observable on the real arm)."""
        return np.concatenate(
            [self._proprio(), self.tip_pos(), self.cube_pos(), self.layout.target]
        ).astype(np.float32)

    def _evaluate(self) -> dict[str, Any]:
        snap = Snapshot(
            tip=self.tip_pos(),
            cube=self.cube_pos(),
            grasped=self.grasped(),
            start_tip=self._start_tip,
            start_cube=self._start_cube,
        )
        return evaluate(self.layout, snap)

    def _render_camera(self, name: str) -> np.ndarray:
        if self._renderer is None:
            size = self.config.image_size
            self._renderer = mujoco.Renderer(self.model, size, size)
            flags = self._renderer.scene.flags
            flags[mujoco.mjtRndFlag.mjRND_SHADOW] = bool(self.config.shadows)
            flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = bool(self.config.shadows)
            flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = True
        self._renderer.update_scene(self.data, camera=name)
        return self._renderer.render().copy()

    def hold_action(self) -> np.ndarray:
        """The current joint-position targets (keeps the arm where it was commanded)."""
        return self.data.ctrl[self._act].astype(np.float32).copy()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        super().close()
