"""The robosuite tasks: which robosuite env each wraps, and privileged progress / stage labels.

Each ``evaluate_*`` reads the raw robosuite env (privileged state) and returns
``(progress, subtask)``: ``progress`` in [0, 1] is a weighted sum of the task's staged terms
(reach ``1 - tanh(10 d)`` with d the gripper-to-target distance [m], grasp flag, lift / turn /
open fractions, alignment to the goal), capped below 1 until robosuite's ``_check_success``
holds, where it is exactly 1. ``subtask`` indexes ``RobosuiteTask.stage_names``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LIFT_HEIGHT = 0.04
"""Height above the table top the object must exceed for robosuite's lift check [m]."""
DOOR_OPEN_ANGLE = 0.3
"""Hinge angle at which robosuite's Door counts as open [rad]."""
DOOR_UNLATCH_ANGLE = 1.0
"""Handle angle treated as fully turned for progress [rad] (the latch clears well before)."""


def _reach(d: float) -> float:
    return float(1.0 - np.tanh(10.0 * d))


def _eef_pos(env: Any) -> np.ndarray:
    robot = env.robots[0]
    return np.array(env.sim.data.site_xpos[robot.eef_site_id["right"]])


def _grasping(env: Any, obj: Any) -> bool:
    return bool(env._check_grasp(gripper=env.robots[0].gripper, object_geoms=obj))


def _object_rest_height(env: Any, obj: Any) -> float:
    """Height [m] of the object's body origin when it rests on the table top."""
    return float(env.model.mujoco_arena.table_offset[2] - obj.bottom_offset[2])


def evaluate_lift(env: Any) -> tuple[float, int]:
    """Lift: reach (0.5) + grasp (0.2) + lift fraction while grasped (0.3)."""
    if env._check_success():
        return 1.0, 2
    cube = env.sim.data.body_xpos[env.cube_body_id]
    reach = _reach(float(np.linalg.norm(cube - _eef_pos(env))))
    grasp = _grasping(env, env.cube)
    rest = _object_rest_height(env, env.cube)
    top = env.model.mujoco_arena.table_offset[2] + LIFT_HEIGHT
    lift = float(np.clip((cube[2] - rest) / max(top - rest, 1e-6), 0.0, 1.0))
    progress = 0.5 * reach + 0.2 * grasp + 0.3 * lift * grasp
    subtask = 0 if not grasp else (1 if lift < 0.25 else 2)
    return min(progress, 0.99), subtask


def evaluate_stack(env: Any) -> tuple[float, int]:
    """Stack: reach (0.3) + grasp (0.1) + lift (0.2) + align over cube B once lifted (0.3)."""
    if env._check_success():
        return 1.0, 3
    a = env.sim.data.body_xpos[env.cubeA_body_id]
    b = env.sim.data.body_xpos[env.cubeB_body_id]
    reach = _reach(float(np.linalg.norm(a - _eef_pos(env))))
    grasp = _grasping(env, env.cubeA)
    rest = _object_rest_height(env, env.cubeA)
    top = env.table_offset[2] + LIFT_HEIGHT
    lift = float(np.clip((a[2] - rest) / max(top - rest, 1e-6), 0.0, 1.0))
    lifted = a[2] > top
    horiz = float(np.linalg.norm(a[:2] - b[:2]))
    align = _reach(horiz) if lifted else 0.0
    progress = 0.3 * reach + 0.1 * grasp + 0.2 * lift * (grasp or lifted) + 0.3 * align
    if not lifted:
        subtask = 1 if grasp else 0
    else:
        subtask = 3 if horiz < 0.03 else 2
    return min(progress, 0.99), subtask


def evaluate_pick_place(env: Any) -> tuple[float, int]:
    """PickPlace (one object): reach (0.25) + grasp (0.1) + lift (0.15) + hover (0.3) + in bin
    (0.1). Hover is ``1 - tanh(3 d_xy)`` to the object's target bin slot, once lifted; once
    the object is in the bin, reach / grasp / lift count as done (the gripper lets go)."""
    if env._check_success():
        return 1.0, 3
    obj = env.objects[env.object_id]
    pos = env.sim.data.body_xpos[env.obj_body_id[obj.name]]
    reach = _reach(float(np.linalg.norm(pos - _eef_pos(env))))
    grasp = _grasping(env, obj)
    rest = float(env.bin1_pos[2] - obj.bottom_offset[2])
    lift = float(np.clip((pos[2] - rest) / 0.15, 0.0, 1.0))
    in_bin = not env.not_in_bin(pos, env.object_id)
    target = env.target_bin_placements[env.object_id]
    d_xy = float(np.linalg.norm(pos[:2] - target[:2]))
    lifted = pos[2] > rest + 0.03
    # Hover decays over the 0.5-0.7 m carry (tanh(3 d)), so progress rises along the way.
    hover = float(1.0 - np.tanh(3.0 * d_xy)) if (lifted or in_bin) else 0.0
    carried = grasp or in_bin
    progress = (
        0.25 * (1.0 if in_bin else reach)
        + 0.1 * carried
        + 0.15 * (1.0 if in_bin else lift * grasp)
        + 0.3 * hover
        + 0.1 * in_bin
    )
    above = abs(pos[0] - target[0]) < env.bin_size[0] / 4 and abs(pos[1] - target[1]) < (
        env.bin_size[1] / 4
    )
    if in_bin or (lifted and above):
        subtask = 3
    elif lifted:
        subtask = 2
    else:
        subtask = 1 if grasp else 0
    return min(progress, 0.99), subtask


def evaluate_door(env: Any) -> tuple[float, int]:
    """Door: reach the handle (0.3) + turn the handle (0.3) + hinge angle / 0.3 rad (0.4)."""
    hinge = float(env.sim.data.qpos[env.hinge_qpos_addr])
    if env._check_success():
        return 1.0, 2
    handle = float(env.sim.data.qpos[env.handle_qpos_addr]) if env.use_latch else 0.0
    d = float(np.linalg.norm(env._gripper_to_handle))
    opened = float(np.clip(hinge / DOOR_OPEN_ANGLE, 0.0, 1.0))
    turn = 1.0 if hinge > 0.02 else float(np.clip(abs(handle) / DOOR_UNLATCH_ANGLE, 0.0, 1.0))
    progress = 0.3 * _reach(d) + 0.3 * turn + 0.4 * opened
    if hinge > 0.02:
        subtask = 2
    else:
        subtask = 1 if (d < 0.05 or abs(handle) > 0.1) else 0
    return min(progress, 0.99), subtask


@dataclass(frozen=True)
class RobosuiteTask:
    """One robosuite task as the registry sees it.

    Attributes:
        name: task name inside the family (``"lift"`` -> ``robosuite/lift``).
        env_name: robosuite environment class name.
        instruction: natural-language instruction.
        max_episode_steps: default episode length [control steps at 20 Hz].
        side_camera: robosuite camera used as ``side`` (``frontview`` where there is no sideview).
        stage_names: names of the ``subtask`` indices.
        evaluate: ``(raw robosuite env) -> (progress, subtask)``.
        shifts: supported distribution shifts.
        env_kwargs: extra keyword arguments of the robosuite env.
    """

    name: str
    env_name: str
    instruction: str
    max_episode_steps: int
    side_camera: str
    stage_names: tuple[str, ...]
    evaluate: Callable[[Any], tuple[float, int]]
    shifts: tuple[str, ...]
    env_kwargs: dict[str, Any] = field(default_factory=dict)


TASKS: dict[str, RobosuiteTask] = {
    t.name: t
    for t in (
        RobosuiteTask(
            name="lift",
            env_name="Lift",
            instruction="lift the red cube",
            max_episode_steps=150,
            side_camera="sideview",
            stage_names=("reach", "grasp", "lift"),
            evaluate=evaluate_lift,
            shifts=("obstacle", "surface", "camera"),
        ),
        RobosuiteTask(
            name="stack",
            env_name="Stack",
            instruction="stack the red cube on the green cube",
            max_episode_steps=250,
            side_camera="sideview",
            stage_names=("reach", "grasp", "carry", "place"),
            evaluate=evaluate_stack,
            shifts=("obstacle", "surface", "camera"),
        ),
        RobosuiteTask(
            name="pick-place-can",
            env_name="PickPlaceCan",
            instruction="put the can in its bin",
            max_episode_steps=300,
            side_camera="frontview",
            stage_names=("reach", "grasp", "carry", "place"),
            evaluate=evaluate_pick_place,
            shifts=("obstacle", "surface", "camera"),
        ),
        RobosuiteTask(
            name="door",
            env_name="Door",
            instruction="open the door",
            max_episode_steps=250,
            side_camera="sideview",
            stage_names=("reach", "turn handle", "pull"),
            evaluate=evaluate_door,
            shifts=("camera",),
        ),
    )
}
