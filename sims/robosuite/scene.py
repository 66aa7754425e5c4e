"""Building the raw robosuite env for a task, with the scene edits the shifts need.

* ``surface``: the table top is raised by :data:`SURFACE_RAISE` and moved towards the robot
  by :data:`SURFACE_SHIFT_X` (Lift, Stack); for PickPlace both bins are raised and moved the
  same way. Objects are sampled on the moved surface, so they rest on it.
* ``obstacle``: a static box (collides, visible) placed at every reset half-way along the
  task's nominal end-effector path (:func:`obstacle_pose`).
* ``camera``: the two third-person cameras' poses are jittered per seed
  (:func:`jitter_cameras`), position std :data:`CAMERA_POS_STD` [m], rotation std
  :data:`CAMERA_ROT_STD` [rad] per axis.
"""

from __future__ import annotations

import functools
from typing import Any

import mujoco
import numpy as np

from sims.robosuite.config import RobosuiteConfig
from sims.robosuite.tasks import RobosuiteTask

SURFACE_RAISE = 0.06
SURFACE_SHIFT_X = -0.04
OBSTACLE_BODY = "robo_obstacle"
OBSTACLE_RGBA = "0.15 0.3 0.75 1"  # blue: unlike the robot, table, bins
CAMERA_POS_STD = 0.03
CAMERA_ROT_STD = 0.05
HOVER_HEIGHT = 0.10
"""Height of the nominal pre-grasp point above the object [m] (used to place the obstacle)."""
CARRY_HEIGHT = 0.15
"""Height of the nominal carrying path above the bins [m] (PickPlace obstacle)."""

# Half sizes [m] of the obstacle box per task: a plate across the approach (Lift, Stack) and
# a wall across the carrying path between the bins (PickPlace).
OBSTACLE_HALF_SIZE: dict[str, tuple[float, float, float]] = {
    "lift": (0.03, 0.06, 0.008),
    "stack": (0.03, 0.06, 0.008),
    "pick-place-can": (0.08, 0.01, 0.05),
}


class _SceneEdits:
    """Mixin over a robosuite env class: moved table top and an extra static box.

    The edits happen while the model is built (``_load_model`` / ``edit_model_xml``), so they
    cost nothing per step.
    """

    def __init__(
        self,
        *args: Any,
        robo_table_shift: tuple[float, float, float] | None = None,
        robo_obstacle_half_size: tuple[float, float, float] | None = None,
        **kwargs: Any,
    ) -> None:
        self._robo_table_shift = robo_table_shift
        self._robo_obstacle_half_size = robo_obstacle_half_size
        super().__init__(*args, **kwargs)

    def _load_model(self) -> None:
        if self._robo_table_shift is not None and hasattr(self, "table_offset"):
            self.table_offset = np.asarray(self.table_offset, float) + self._robo_table_shift
        super()._load_model()

    def edit_model_xml(self, xml_str: str) -> str:
        xml_str = super().edit_model_xml(xml_str)
        if self._robo_obstacle_half_size is None:
            return xml_str
        size = " ".join(f"{s:.4f}" for s in self._robo_obstacle_half_size)
        body = (
            f'<body name="{OBSTACLE_BODY}" pos="0 0 -1">'
            f'<geom name="{OBSTACLE_BODY}_geom" type="box" size="{size}" rgba="{OBSTACLE_RGBA}" '
            'group="1" contype="1" conaffinity="1" friction="1 0.005 0.0001"/></body>'
        )
        head, sep, tail = xml_str.partition("<worldbody>")
        if not sep:
            raise RuntimeError("robosuite model XML has no <worldbody>; cannot add the obstacle")
        return head + sep + body + tail


@functools.cache
def _scene_class(env_name: str) -> type:
    import robosuite

    base = robosuite.environments.base.REGISTERED_ENVS[env_name]
    return type(f"Robo{env_name}", (_SceneEdits, base), {})


def build_raw_env(task: RobosuiteTask, config: RobosuiteConfig, **overrides: Any) -> Any:
    """The robosuite env of ``task`` with ``config``'s shift applied to the model.

    The env renders nothing itself (we render with our own context), shapes its reward, never
    ends an episode on its own, and resets softly (same model; the rng decides the scene).
    """
    from robosuite.controllers import load_composite_controller_config

    controller = load_composite_controller_config(controller="BASIC", robot=config.robot)
    # Keep only the arm: robosuite warns once per absent part (torso, head, base, ...).
    controller["body_parts"] = {"right": controller["body_parts"]["right"]}
    kwargs: dict[str, Any] = dict(
        robots=config.robot,
        controller_configs=controller,
        has_renderer=False,
        has_offscreen_renderer=False,
        use_camera_obs=False,
        use_object_obs=False,
        reward_shaping=True,
        reward_scale=1.0,
        control_freq=config.control_freq,
        horizon=10**9,
        ignore_done=True,
        hard_reset=False,
        initialization_noise={"magnitude": config.initialization_noise, "type": "gaussian"},
        seed=0,
    )
    kwargs.update(task.env_kwargs)
    if config.shift == "surface":
        shift = np.array([SURFACE_SHIFT_X, 0.0, SURFACE_RAISE])
        if task.env_name.startswith("PickPlace"):
            kwargs["bin1_pos"] = tuple(np.array((0.1, -0.25, 0.8)) + shift)
            kwargs["bin2_pos"] = tuple(np.array((0.1, 0.28, 0.8)) + shift)
        else:
            kwargs["robo_table_shift"] = tuple(shift)
    if config.shift == "obstacle":
        kwargs["robo_obstacle_half_size"] = OBSTACLE_HALF_SIZE[task.name]
    kwargs.update(overrides)
    return _scene_class(task.env_name)(**kwargs)


def obstacle_pose(task: RobosuiteTask, env: Any) -> np.ndarray:
    """World position [m] of the obstacle for the scene just reset: the midpoint of the nominal
    path (gripper start -> pre-grasp point above the object for Lift/Stack; lifted object ->
    above its target bin slot for PickPlace)."""
    eef = np.array(env.sim.data.site_xpos[env.robots[0].eef_site_id["right"]])
    if task.name == "lift":
        obj = np.array(env.sim.data.body_xpos[env.cube_body_id])
        return 0.5 * (eef + obj + [0.0, 0.0, HOVER_HEIGHT])
    if task.name == "stack":
        obj = np.array(env.sim.data.body_xpos[env.cubeA_body_id])
        return 0.5 * (eef + obj + [0.0, 0.0, HOVER_HEIGHT])
    if task.name == "pick-place-can":
        obj = env.objects[env.object_id]
        pos = np.array(env.sim.data.body_xpos[env.obj_body_id[obj.name]])
        goal = np.array(env.target_bin_placements[env.object_id])
        z = env.bin2_pos[2] + CARRY_HEIGHT
        mid = 0.5 * (pos + goal)
        return np.array([mid[0], mid[1], z])
    raise ValueError(f"task {task.name!r} has no obstacle shift")


def place_obstacle(task: RobosuiteTask, env: Any) -> None:
    """Move the obstacle body to :func:`obstacle_pose` (call after every reset)."""
    body = env.sim.model.body_name2id(OBSTACLE_BODY)
    env.sim.model._model.body_pos[body] = obstacle_pose(task, env)
    mujoco.mj_forward(env.sim.model._model, env.sim.data._data)


def jitter_cameras(
    model: mujoco.MjModel, nominal: dict[int, tuple[np.ndarray, np.ndarray]], seed: int
) -> None:
    """Set each camera in ``nominal`` (id -> (pos, quat)) to its nominal pose jittered by a
    seeded Gaussian: position std ``CAMERA_POS_STD`` [m], rotation std ``CAMERA_ROT_STD`` [rad]."""
    rng = np.random.default_rng([seed, 7])
    for cam, (pos, quat) in nominal.items():
        model.cam_pos[cam] = pos + rng.normal(0.0, CAMERA_POS_STD, 3)
        rotvec = rng.normal(0.0, CAMERA_ROT_STD, 3)
        dq = np.zeros(4)
        mujoco.mju_axisAngle2Quat(
            dq, rotvec / max(np.linalg.norm(rotvec), 1e-12), np.linalg.norm(rotvec)
        )
        out = np.zeros(4)
        mujoco.mju_mulQuat(out, dq, quat)
        model.cam_quat[cam] = out
