"""Offscreen multi-view rendering of Meta-World scenes with one reused ``mujoco.Renderer``.

Camera mapping (robo name -> Meta-World camera):

* ``front`` -> ``corner``: third-person, from the front-left of the table.
* ``side``  -> ``corner2``: third-person, from the right of the table.
* ``wrist`` -> ``gripperPOV``: looks down from the gripper.

``corner`` and ``corner2`` are defined with their up axis pointing down, so MuJoCo renders them
upside down; they are rotated by 180 degrees here (a rotation, not a mirror, so left/right
stay true).
"""

from __future__ import annotations

import atexit
import weakref

import mujoco
import numpy as np

CAMERAS: dict[str, tuple[str, bool]] = {
    "front": ("corner", True),
    "side": ("corner2", True),
    "wrist": ("gripperPOV", False),
}
"""robo camera name -> (Meta-World camera, rotate by 180 degrees)."""


def upright(image: np.ndarray, name: str) -> np.ndarray:
    """``image`` (uint8[S, S, ...] as MuJoCo renders camera ``name``) turned upright."""
    if CAMERAS[name][1]:
        image = image[::-1, ::-1]
    return np.ascontiguousarray(image)


class MultiViewRenderer:
    """Renders the robo cameras of one Meta-World model.

    Args:
        model: the env's MjModel (its offscreen buffer is grown to ``size`` if needed).
        size: image side [px].
        shadows: render shadows and reflections (several times slower with software EGL).
    """

    def __init__(self, model: mujoco.MjModel, size: int, shadows: bool = False):
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, size)
        model.vis.global_.offheight = max(model.vis.global_.offheight, size)
        self._renderer = mujoco.Renderer(model, height=size, width=size)
        flags = self._renderer.scene.flags
        flags[mujoco.mjtRndFlag.mjRND_SHADOW] = shadows
        flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = shadows
        _track(self)
        self._camera_ids = {
            name: mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, cam)
            for name, (cam, _) in CAMERAS.items()
        }

    def render(self, data: mujoco.MjData, name: str) -> np.ndarray:
        """uint8[size, size, 3] upright image of robo camera ``name`` (front, side, wrist)."""
        self._renderer.update_scene(data, camera=self._camera_ids[name])
        return upright(self._renderer.render(), name)

    def close(self) -> None:
        """Free the GL context (idempotent)."""
        self._renderer.close()
        _LIVE.discard(self)


_LIVE: weakref.WeakSet[MultiViewRenderer] = weakref.WeakSet()
_HOOKED = False


def _track(renderer: MultiViewRenderer) -> None:
    # Free GL contexts of envs nobody closed before mujoco.egl terminates the display at exit
    # (else mujoco.Renderer.__del__ prints EGL errors). Registered after the first context
    # exists, so it runs before mujoco.egl's own exit hook (atexit runs last-in first-out).
    global _HOOKED
    _LIVE.add(renderer)
    if not _HOOKED:
        atexit.register(_close_live_renderers)
        _HOOKED = True


def _close_live_renderers() -> None:
    for renderer in list(_LIVE):
        renderer.close()
