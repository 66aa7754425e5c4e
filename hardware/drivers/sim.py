"""The sim twin: the SO-101 MuJoCo model behind the Robot API (same units and joint order).

The scene is the SO-101 arm of the ``so101/*`` sim tasks (same MJCF, joint order, limits,
actuator gains and world frame: base at the origin, table top at z = 0) on a table plane with
three cameras (``front``, ``side``, ``wrist``). Physics runs in one of two pacings:

* ``realtime``: every ``read``/``send`` advances the simulation to the wall clock (monotonic),
  so the twin behaves like a real arm under any loop rate.
* ``fast``: every ``send`` advances exactly ``control_dt`` seconds (as fast as possible).

Camera frames are rendered by a separate process from the joint positions the twin publishes
in shared memory (:mod:`hardware.drivers.sim_render`), so rendering never holds the control
loop's GIL.
"""

from __future__ import annotations

import copy
import functools
import threading
import time
import weakref
from pathlib import Path
from typing import Literal

import mujoco
import numpy as np

from hardware.drivers.sim_render import SharedCameraView, SimRenderProcess
from hardware.kinematics import SO101_JOINT_NAMES
from hardware.robot import Robot, RobotLimits, RobotState

MAX_FORCE = 3.35  # STS3215 actuator force range in the MJCF [N·m]


def _look_at_quat(pos: np.ndarray, target: np.ndarray, up: np.ndarray | None = None) -> np.ndarray:
    """Quaternion (w, x, y, z) of a MuJoCo camera at ``pos`` looking at ``target``."""
    fwd = (target - pos) / np.linalg.norm(target - pos)
    x = np.cross(fwd, np.array([0.0, 0.0, 1.0]) if up is None else up)
    x /= np.linalg.norm(x)
    y = np.cross(x, fwd)
    mat = np.column_stack([x, y, -fwd])
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, mat.reshape(-1))
    return quat


def build_twin_model(mjcf: str | Path | None = None) -> mujoco.MjModel:
    """The arm model plus a table plane, a light and the front/side/wrist cameras (a fresh copy;
    compiling the meshes is slow, so the compiled model is cached per path).

    ``mjcf=None`` is the SO-101 exactly as the ``so101/*`` sim tasks build it
    (:func:`sims.so101.assets.arm_xml`: the same MJCF, actuator gains, ``tip`` site and wrist
    camera), so a policy trained there meets the same arm on the twin. A ``task:`` key
    (:func:`task_scene_key`) is that task's whole scene instead.
    """
    if mjcf is not None and str(mjcf).startswith(TASK_PREFIX):
        return task_scene(str(mjcf))[0]
    return copy.deepcopy(_compiled_twin(str(mjcf) if mjcf else "-"))


def _sims_arm_spec() -> mujoco.MjSpec:
    from sims.so101.assets import arm_xml, so101_asset_dir
    from sims.so101.meshes import simplified_meshes

    meshes = simplified_meshes(str(so101_asset_dir() / "assets"))
    return mujoco.MjSpec.from_string(arm_xml(), assets=meshes)


@functools.lru_cache(maxsize=4)
def _compiled_twin(mjcf: str) -> mujoco.MjModel:
    spec = _sims_arm_spec() if mjcf == "-" else mujoco.MjSpec.from_file(mjcf)
    world = spec.worldbody
    world.add_light(pos=[0.0, 0.0, 1.5], dir=[0.0, 0.0, -1.0], diffuse=[0.8, 0.8, 0.8])
    world.add_geom(
        name="table",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=[1.0, 1.0, 0.01],
        rgba=[0.55, 0.45, 0.35, 1.0],
    )
    for name, pos in (("front", [0.75, 0.0, 0.45]), ("side", [0.25, -0.65, 0.40])):
        p = np.array(pos)
        world.add_camera(name=name, pos=pos, quat=_look_at_quat(p, np.array([0.2, 0.0, 0.08])))
    gripper = spec.body("gripper")
    if spec.camera("wrist") is not None:  # the sim tasks' wrist camera
        return spec.compile()
    # Gripper frame: the jaws point along -y; look past the jaws from behind the wrist.
    gripper.add_camera(
        name="wrist",
        pos=[0.0, 0.0, -0.03],
        quat=_look_at_quat(
            np.zeros(3), np.array([0.0, -1.0, -0.45]), up=np.array([0.0, 0.0, -1.0])
        ),
    )
    return spec.compile()


TASK_PREFIX = "task:"
"""A twin scene key ``task:<so101 task>:<seed>:<shift>`` (vs an MJCF path or ``-``)."""


def task_scene_key(task: str, seed: int = 0, shift: str = "none") -> str:
    """The scene key of sim task ``task`` (``so101/<name>``) laid out for ``seed`` / ``shift``.

    Raises:
        ValueError: not an SO-101 task (the twin is an SO-101; other robots' tasks act through
            end-effector or operational-space actions, not joint targets).
    """
    from sims.registry import list_tasks

    known = list_tasks("so101")
    if task not in known:
        raise ValueError(f"twin task must be an SO-101 task ({', '.join(known)}), got {task!r}")
    return f"{TASK_PREFIX}{task}:{int(seed)}:{shift}"


def task_scene(key: str) -> tuple[mujoco.MjModel, np.ndarray, dict[str, np.ndarray]]:
    """(model, initial qpos float64[nq], keypoints) of a ``task:`` scene key: the sim task's
    own scene (objects, bin, obstacle or raised step under its shift) after ``reset(seed)``,
    with its privileged keypoints [m] (``goal``, ``table``, ``obstacle``/``step`` + halves).
    Fresh copies each call; the env is built once per key per process."""
    model, qpos, keypoints = _task_scene(key)
    return copy.deepcopy(model), qpos.copy(), {k: v.copy() for k, v in keypoints.items()}


@functools.lru_cache(maxsize=4)
def _task_scene(key: str) -> tuple[mujoco.MjModel, np.ndarray, dict[str, np.ndarray]]:
    import sims
    from sims.keypoints import sim_scene

    task, seed, shift = key[len(TASK_PREFIX) :].rsplit(":", 2)
    env = sims.make(task, **({} if shift in ("", "none") else {"shift": shift}))
    try:
        env.reset(seed=int(seed))
        u = env.unwrapped
        keypoints = {k: np.asarray(v, dtype=np.float64) for k, v in sim_scene(env).items()}
        return copy.deepcopy(u.model), u.data.qpos.copy(), keypoints
    finally:
        env.close()


def twin_limits(
    model: mujoco.MjModel,
    max_velocity: float = 3.0,
    max_step: float = 0.25,
    gripper_effort_max: float = 0.5,
) -> RobotLimits:
    """Limits from the model's joint ranges plus the given rate/step caps [rad/s], [rad]."""
    rng = np.array([model.joint(n).range for n in SO101_JOINT_NAMES], dtype=np.float64)
    n = len(SO101_JOINT_NAMES)
    return RobotLimits(
        joint_names=SO101_JOINT_NAMES,
        lower=rng[:, 0],
        upper=rng[:, 1],
        max_velocity=np.full(n, max_velocity),
        max_step=np.full(n, max_step),
        gripper_effort_max=gripper_effort_max,
    )


class SimTwin(Robot):
    """SO-101 MuJoCo twin.

    Args:
        limits: shield limits (default from the model's joint ranges).
        pacing: ``realtime`` or ``fast`` (see module docstring).
        control_dt: seconds per ``send`` in ``fast`` pacing.
        cameras: names of cameras to render ([] for none).
        image_size: square image side [px].
        camera_fps: render rate per camera [Hz].
        home: float[6] initial joint positions [rad] (arm-only scene).
        mjcf: arm model path (default: the SO-101).
        task: an ``so101/*`` sim task: the twin runs in that task's scene (cube, bin, obstacle,
            step, distractors, its cameras) as ``reset(seed)`` lays it out under ``shift``,
            starting from the task's home pose; :attr:`keypoints` has its privileged
            keypoints (goal etc.) for goal-conditioned policies and steering costs.
        seed / shift: the task scene's layout seed and shift.
    """

    name = "so101_sim"

    def __init__(
        self,
        limits: RobotLimits | None = None,
        pacing: Literal["realtime", "fast"] = "realtime",
        control_dt: float = 1.0 / 30.0,
        cameras: tuple[str, ...] = ("front", "side", "wrist"),
        image_size: int = 96,
        camera_fps: float = 10.0,
        home: tuple[float, ...] = (0.0, -1.2, 1.2, 0.6, 0.0, 0.3),
        mjcf: str | Path | None = None,
        task: str | None = None,
        seed: int = 0,
        shift: str = "none",
    ):
        if pacing not in ("realtime", "fast"):
            raise ValueError(f"pacing must be 'realtime' or 'fast', got {pacing!r}")
        self.keypoints: dict[str, np.ndarray] = {}
        self._qpos0: np.ndarray | None = None
        if task is not None:
            mjcf = task_scene_key(task, seed, shift)
            self.model, self._qpos0, self.keypoints = task_scene(mjcf)
        else:
            self.model = build_twin_model(mjcf)
        self.data = mujoco.MjData(self.model)
        self._qadr = np.array([self.model.joint(n).qposadr[0] for n in SO101_JOINT_NAMES])
        self._dadr = np.array([self.model.joint(n).dofadr[0] for n in SO101_JOINT_NAMES])
        self._act = np.array([self.model.actuator(n).id for n in SO101_JOINT_NAMES])
        self._gain = self.model.actuator_gainprm[self._act, 0].copy()
        self._bias = self.model.actuator_biasprm[self._act, :3].copy()
        self.home = np.asarray(home, dtype=np.float64)
        self.pacing = pacing
        self.control_dt = float(control_dt)
        self.image_size = int(image_size)
        self._physics_lock = threading.Lock()
        self._t0 = 0.0
        self._torque = True
        self._render: SimRenderProcess | None = None
        views: dict[str, SharedCameraView] = {}
        if cameras:
            for name in cameras:
                self.model.camera(name)  # KeyError now rather than in the render process
            self._render = SimRenderProcess(
                self.model.nq, tuple(cameras), self.image_size, camera_fps, mjcf
            )
            weakref.finalize(self, self._render.close)
            views = {name: SharedCameraView(name, self._render) for name in cameras}
        super().__init__(limits or twin_limits(self.model), views)

    # -- driver hooks -------------------------------------------------------------------------
    def _connect(self) -> None:
        with self._physics_lock:
            mujoco.mj_resetData(self.model, self.data)
            if self._qpos0 is not None:  # a task scene: its objects and home pose
                self.data.qpos[:] = self._qpos0
            else:
                self.data.qpos[self._qadr] = self.home
            self.data.ctrl[self._act] = self.data.qpos[self._qadr]
            mujoco.mj_forward(self.model, self.data)
            self._set_torque(True)
            self._publish()
        self._t0 = time.monotonic()

    def _disconnect(self) -> None:
        pass

    def _advance_to_wall_clock(self) -> None:
        if self.pacing != "realtime":
            return
        target = time.monotonic() - self._t0
        # Cap the catch-up so a long pause does not freeze the caller for seconds.
        n = min(int((target - self.data.time) / self.model.opt.timestep), 200)
        for _ in range(max(n, 0)):
            mujoco.mj_step(self.model, self.data)
        if target - self.data.time > 0.5:
            self.data.time = target

    def _read(self) -> RobotState:
        with self._physics_lock:
            self._advance_to_wall_clock()
            q = self.data.qpos[self._qadr].copy()
            v = self.data.qvel[self._dadr].copy()
            self._publish()
        return RobotState(q, v, time.monotonic(), self._torque)

    def _send_target(self, target: np.ndarray, gripper_effort: float) -> None:
        with self._physics_lock:
            self._advance_to_wall_clock()
            self.data.ctrl[self._act] = target
            self.model.actuator_forcerange[self._act[-1]] = [
                -gripper_effort * MAX_FORCE,
                gripper_effort * MAX_FORCE,
            ]
            if self.pacing == "fast":
                for _ in range(max(1, round(self.control_dt / self.model.opt.timestep))):
                    mujoco.mj_step(self.model, self.data)
            self._publish()

    def _publish(self) -> None:
        if self._render is not None:
            self._render.publish(self.data.qpos)

    def _torque_off(self) -> None:
        with self._physics_lock:
            self._set_torque(False)

    def _set_torque(self, on: bool) -> None:
        self._torque = on
        self.model.actuator_gainprm[self._act, 0] = self._gain if on else 0.0
        self.model.actuator_biasprm[self._act, :3] = self._bias if on else 0.0
