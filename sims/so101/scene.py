"""Build the MJCF of an SO-101 scene and move its parts to a seeded layout.

``build_scene_xml`` fixes the structure (which bodies exist: bin, obstacle, platform,
distractors); ``apply_layout`` moves them, the goal marker, cameras and lights for one seed
without recompiling, so one model and one renderer serve every episode.

Named elements the env reads: body/geom ``cube`` (free joint ``cube``), site ``target``
(reach/push goal), body ``bin`` (geoms ``bin_floor``, ``bin_wall_*``), body+geom ``obstacle``,
body+geom ``platform`` (surface shift), body+geom ``step`` (reach surface shift), geoms ``distractor_<i>``, cameras ``front``, ``side``,
``wrist``, sites ``tip`` (IK point) and lights ``key``/``fill``.

Physics: 2 ms timestep, elliptic friction cones, ``impratio`` 10 (less slip in grasps).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import mujoco
import numpy as np

from sims.so101.assets import (
    OBJECT_BITS,
    STATIC_BITS,
    _sub,
    arm_tree,
    lookat_xyaxes,
)
from sims.so101.layout import (
    BIN_HEIGHT,
    BIN_INNER_HALF,
    BIN_WALL,
    CUBE_HALF,
    TARGET_RADIUS,
    SceneLayout,
)

SIM_DT = 0.002  # [s]
CUBE_MASS = 0.03  # [kg]
CUBE_FRICTION = (1.2, 0.02, 0.001)
PLATFORM_HALF_Z = 0.03  # [m]; the platform's top is at ``layout.surface_z``


def _fmt(values: object) -> str:
    return " ".join(f"{float(v):.5g}" for v in np.ravel(values))


def _static(parent: ET.Element, **attrs: object) -> ET.Element:
    return _sub(parent, "geom", contype=STATIC_BITS, conaffinity=STATIC_BITS, **attrs)


def build_scene_xml(layout: SceneLayout, image_size: int = 96, shadows: bool = False) -> str:
    """MJCF text of the scene described by ``layout``; offscreen buffer sized for rendering."""
    root = arm_tree().getroot()
    root.set("model", f"so101_{layout.task}")
    _sub(
        root,
        "option",
        timestep=SIM_DT,
        cone="elliptic",
        impratio=10,
        integrator="implicitfast",
    )
    visual = _sub(root, "visual")
    _sub(visual, "global", offwidth=max(image_size, 640), offheight=max(image_size, 480))
    _sub(visual, "quality", shadowsize=2048 if shadows else 0)
    _sub(visual, "headlight", ambient="0.35 0.35 0.35", diffuse="0.3 0.3 0.3", specular="0 0 0")
    asset = root.find("asset")
    _sub(
        asset,
        "texture",
        name="sky",
        type="skybox",
        builtin="gradient",
        rgb1="0.6 0.7 0.8",
        rgb2="0.2 0.25 0.3",
        width=32,
        height=256,
    )
    _sub(asset, "material", name="table", rgba=_fmt((*layout.table_rgb, 1)), reflectance=0)

    world = root.find("worldbody")
    _sub(
        world,
        "light",
        name="key",
        pos="0.2 -0.3 1.2",
        dir=_fmt(layout.light_dir),
        diffuse=_fmt(layout.light_rgb),
        specular="0.1 0.1 0.1",
        castshadow=str(shadows).lower(),
    )
    _sub(world, "light", name="fill", pos="0.6 0.4 0.8", dir="-0.4 -0.3 -1", diffuse="0.3 0.3 0.3")
    for name, (pos, look) in layout.cameras.items():
        _sub(
            world,
            "camera",
            name=name,
            pos=_fmt(pos),
            xyaxes=_fmt(lookat_xyaxes(pos, look)),
            fovy=55,
        )
    _static(
        world, name="table", type="box", pos="0.15 0 -0.02", size="0.45 0.45 0.02", material="table"
    )
    if layout.platform is not None:
        cx, cy, hx, hy = layout.platform
        # Movable static geometry lives in its own body: moving a body is safe after
        # compilation, moving a world geom is not (the world body's collision BVH is static).
        body = _sub(world, "body", name="platform", pos=_fmt((cx, cy, layout.surface_z)))
        _static(
            body,
            name="platform",
            type="box",
            pos=_fmt((0, 0, -PLATFORM_HALF_Z)),
            size=_fmt((hx, hy, PLATFORM_HALF_Z)),
            rgba="0.35 0.35 0.4 1",
        )
    _add_cube(world, "cube", layout.cube_pos, layout.cube_yaw, "0.85 0.15 0.1 1")
    for i, (xy, rgba) in enumerate(layout.distractors):
        pos = np.array([*xy, layout.surface_z + CUBE_HALF])
        _add_cube(world, f"distractor_{i}", pos, 0.0, _fmt(rgba))
    if layout.task == "reach":
        _sub(
            world,
            "site",
            name="target",
            type="sphere",
            size=0.012,
            pos=_fmt(layout.target),
            rgba="0.1 0.8 0.2 0.7",
        )
    elif layout.task == "push-cube":
        _sub(
            world,
            "site",
            name="target",
            type="cylinder",
            size=_fmt((TARGET_RADIUS, 0.0005)),
            pos=_fmt(layout.target + [0, 0, 0.0005]),
            rgba="0.1 0.8 0.2 0.6",
        )
    if layout.bin_xy is not None:
        _add_bin(world, layout)
    if layout.obstacle is not None:
        body = _sub(
            world, "body", name="obstacle", pos=_fmt(layout.obstacle.pos + [0, 0, layout.surface_z])
        )
        _static(
            body, name="obstacle", type="box", size=_fmt(layout.obstacle.half), rgba="0.3 0.3 0.3 1"
        )
    if layout.step is not None:
        body = _sub(world, "body", name="step", pos=_fmt(layout.step.pos))
        _static(body, name="step", type="box", size=_fmt(layout.step.half), rgba="0.35 0.35 0.4 1")
    return ET.tostring(root, encoding="unicode")


def _add_cube(world: ET.Element, name: str, pos: np.ndarray, yaw: float, rgba: str) -> None:
    quat = (np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2))
    body = _sub(world, "body", name=name, pos=_fmt(pos), quat=_fmt(quat))
    _sub(body, "freejoint", name=name)
    _sub(
        body,
        "geom",
        name=name,
        type="box",
        size=_fmt([CUBE_HALF] * 3),
        mass=CUBE_MASS,
        rgba=rgba,
        friction=_fmt(CUBE_FRICTION),
        condim=4,
        contype=OBJECT_BITS,
        conaffinity=OBJECT_BITS,
    )


def _add_bin(world: ET.Element, layout: SceneLayout) -> None:
    body = _sub(world, "body", name="bin", pos=_fmt((*layout.bin_xy, layout.surface_z)))
    rgba = "0.2 0.35 0.75 1"
    outer = BIN_INNER_HALF + BIN_WALL
    _static(
        body,
        name="bin_floor",
        type="box",
        pos=_fmt((0, 0, 0.002)),
        size=_fmt((outer, outer, 0.002)),
        rgba=rgba,
    )
    hz = BIN_HEIGHT / 2
    for i, (x, y, hx, hy) in enumerate(
        [
            (outer - BIN_WALL / 2, 0, BIN_WALL / 2, outer),
            (-outer + BIN_WALL / 2, 0, BIN_WALL / 2, outer),
            (0, outer - BIN_WALL / 2, outer, BIN_WALL / 2),
            (0, -outer + BIN_WALL / 2, outer, BIN_WALL / 2),
        ]
    ):
        _static(
            body,
            name=f"bin_wall_{i}",
            type="box",
            pos=_fmt((x, y, hz)),
            size=_fmt((hx, hy, hz)),
            rgba=rgba,
        )


def _xyaxes_quat(xyaxes: tuple[float, ...]) -> np.ndarray:
    x, y = np.asarray(xyaxes[:3]), np.asarray(xyaxes[3:])
    mat = np.column_stack([x, y, np.cross(x, y)])
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, mat.ravel())
    return quat


def apply_layout(model: mujoco.MjModel, layout: SceneLayout) -> None:
    """Move goal marker, bin, obstacle, step, platform, cameras and lights of ``model`` to ``layout``.

    The model must have been built by :func:`build_scene_xml` for the same task and shift.
    Free bodies (cube, distractors) are placed through ``qpos`` by the env.
    """
    if layout.task in ("reach", "push-cube"):
        lift = 0.0005 if layout.task == "push-cube" else 0.0
        model.site_pos[model.site("target").id] = layout.target + [0, 0, lift]
    if layout.bin_xy is not None:
        model.body_pos[model.body("bin").id] = [*layout.bin_xy, layout.surface_z]
    if layout.obstacle is not None:
        model.body_pos[model.body("obstacle").id] = layout.obstacle.pos + [0, 0, layout.surface_z]
    if layout.step is not None:
        model.body_pos[model.body("step").id] = layout.step.pos
    if layout.platform is not None:
        cx, cy, _, _ = layout.platform
        model.body_pos[model.body("platform").id] = [cx, cy, layout.surface_z]
    for name, (pos, look) in layout.cameras.items():
        cam = model.camera(name).id
        model.cam_pos[cam] = pos
        model.cam_quat[cam] = _xyaxes_quat(lookat_xyaxes(pos, look))
    key = model.light("key").id
    model.light_diffuse[key] = layout.light_rgb
    direction = np.asarray(layout.light_dir, dtype=float)
    model.light_dir[key] = direction / np.linalg.norm(direction)
    model.mat_rgba[model.material("table").id, :3] = layout.table_rgb
