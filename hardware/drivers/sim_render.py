"""Sim camera rendering in a separate process, so it never holds the control loop's GIL.

MuJoCo's software (EGL/llvmpipe) rendering keeps the Python GIL for tens of milliseconds per
frame; in a thread it would stall a 50 Hz loop. :class:`SimRenderProcess` starts
``python -m hardware.drivers.sim_render`` (a plain subprocess: no multiprocessing re-import of
the caller's ``__main__``), which at ``fps`` reads the twin's joint positions from shared
memory, runs kinematics on its own copy of the model, renders every camera and writes the
images plus a ``time.monotonic()`` stamp back. Both directions use a seqlock (a counter that
is odd while a write is in progress) instead of a cross-process lock.
:class:`SharedCameraView` is the camera object the Robot exposes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np

from hardware.cameras import StaleFrameError
from hardware.errors import HardwareError

# meta slots (float64): image stamp, frames rendered, paused flag, image seq, qpos seq, stop flag
STAMP, FRAMES, PAUSED, IMG_SEQ, Q_SEQ, STOP = range(6)


def _seq_write(meta: np.ndarray, slot: int, dst: np.ndarray, src: np.ndarray) -> None:
    meta[slot] += 1.0  # odd: write in progress
    dst[:] = src
    meta[slot] += 1.0


def _seq_read(meta: np.ndarray, slot: int, src: np.ndarray, tries: int = 50) -> np.ndarray | None:
    for _ in range(tries):
        s1 = meta[slot]
        if int(s1) % 2 == 0:
            out = src.copy()
            if meta[slot] == s1:
                return out
        time.sleep(0.0001)
    return None


def _render_main(argv: list[str]) -> None:
    """Child entry: ``mjcf|- names size fps qpos_shm img_shm meta_shm parent_pid``."""
    import os

    os.environ.setdefault("MUJOCO_GL", "egl")
    import mujoco

    from hardware.drivers.sim import build_twin_model

    mjcf, names_s, size_s, fps_s, qpos_name, img_name, meta_name, ppid_s = argv
    names = names_s.split(",")
    size, fps, ppid = int(size_s), float(fps_s), int(ppid_s)
    model = build_twin_model(None if mjcf == "-" else mjcf)
    data = mujoco.MjData(model)
    qs = shared_memory.SharedMemory(name=qpos_name)
    im = shared_memory.SharedMemory(name=img_name)
    me = shared_memory.SharedMemory(name=meta_name)
    from multiprocessing import resource_tracker

    for shm in (qs, im, me):  # the parent owns (and unlinks) the blocks, not this process
        resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]
    qpos = np.ndarray((model.nq,), np.float64, qs.buf)
    imgs = np.ndarray((len(names), size, size, 3), np.uint8, im.buf)
    meta = np.ndarray((6,), np.float64, me.buf)
    renderer = mujoco.Renderer(model, size, size)
    ids = [model.camera(n).id for n in names]
    out = np.empty_like(imgs)
    period = 1.0 / fps
    try:
        while meta[STOP] == 0.0 and os.getppid() == ppid:
            t0 = time.monotonic()
            if meta[PAUSED] == 0.0:
                q = _seq_read(meta, Q_SEQ, qpos)
                if q is not None:
                    data.qpos[:] = q
                mujoco.mj_kinematics(model, data)
                mujoco.mj_camlight(model, data)
                for k, cam in enumerate(ids):
                    renderer.update_scene(data, camera=cam)
                    out[k] = renderer.render()
                _seq_write(meta, IMG_SEQ, imgs, out)
                meta[STAMP] = t0
                meta[FRAMES] += 1
            time.sleep(max(0.0, period - (time.monotonic() - t0)))
    finally:
        renderer.close()
        del qpos, imgs, meta
        for shm in (qs, im, me):
            shm.close()


class SimRenderProcess:
    """Owns the shared buffers and the render process for one twin.

    Args:
        nq: size of the twin's qpos.
        names: camera names.
        size: square image side [px].
        fps: render rate [Hz].
        mjcf: arm model path or a ``task:`` scene key (``None``: the SO-101 alone).
    """

    def __init__(
        self, nq: int, names: tuple[str, ...], size: int, fps: float, mjcf: str | Path | None
    ):
        self.names = tuple(names)
        self.size = size
        self.fps = fps
        self.mjcf = str(mjcf) if mjcf else "-"
        self._qs = shared_memory.SharedMemory(create=True, size=max(8 * nq, 8))
        self._im = shared_memory.SharedMemory(create=True, size=len(names) * size * size * 3)
        self._me = shared_memory.SharedMemory(create=True, size=6 * 8)
        self.qpos = np.ndarray((nq,), np.float64, self._qs.buf)
        self.images = np.ndarray((len(names), size, size, 3), np.uint8, self._im.buf)
        self.meta = np.ndarray((6,), np.float64, self._me.buf)
        self.meta[:] = 0.0
        self._proc: subprocess.Popen | None = None
        self._refs = 0
        self._closed = False

    def publish(self, qpos: np.ndarray) -> None:
        """Copy the twin's current qpos for the renderer (cheap; call after physics steps)."""
        _seq_write(self.meta, Q_SEQ, self.qpos, qpos)

    def start(self) -> None:
        self._refs += 1
        if self._proc is not None:
            return
        self.meta[STOP] = 0.0
        args = [
            self.mjcf,
            ",".join(self.names),
            str(self.size),
            str(self.fps),
            self._qs.name,
            self._im.name,
            self._me.name,
            str(os.getpid()),
        ]
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "hardware.drivers.sim_render", *args],
            stdin=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        self._refs = max(0, self._refs - 1)
        if self._refs > 0 or self._proc is None:
            return
        self.meta[STOP] = 1.0
        try:
            self._proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=2.0)
        self._proc = None

    def close(self) -> None:
        if self._closed:
            return
        self._refs = 1
        self.stop()
        self._closed = True
        del self.qpos, self.images, self.meta
        for shm in (self._qs, self._im, self._me):
            shm.close()
            shm.unlink()

    @property
    def frames(self) -> int:
        return int(self.meta[FRAMES])

    def wait_first(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.meta[FRAMES] < 1:
            if self._proc is None or self._proc.poll() is not None:
                raise HardwareError("sim render process died (hint: check MUJOCO_GL=egl works)")
            if time.monotonic() > deadline:
                raise HardwareError(
                    f"sim cameras produced no frame in {timeout_s:.0f} s "
                    "(hint: software rendering is slow on a busy CPU; robot.cameras=[] runs "
                    "the twin without cameras)"
                )
            time.sleep(0.01)

    def latest(self, index: int, max_age_s: float) -> tuple[np.ndarray, float]:
        stamp = float(self.meta[STAMP])
        frame = _seq_read(self.meta, IMG_SEQ, self.images[index])
        if frame is None or self.meta[FRAMES] < 1:
            raise StaleFrameError(f"camera {self.names[index]!r} has no frame yet")
        age = time.monotonic() - stamp
        if age > max_age_s:
            raise StaleFrameError(f"camera {self.names[index]!r} frame is {age * 1e3:.0f} ms old")
        return frame, stamp


class SharedCameraView:
    """One camera of a :class:`SimRenderProcess` (start/stop/latest/wait_first/paused)."""

    def __init__(self, name: str, renderer: SimRenderProcess):
        self.name = name
        self.rig = renderer
        self._index = renderer.names.index(name)

    def start(self) -> None:
        self.rig.start()

    def stop(self) -> None:
        self.rig.stop()

    def wait_first(self, timeout_s: float = 30.0) -> None:
        self.rig.wait_first(timeout_s)

    @property
    def paused(self) -> bool:
        return bool(self.rig.meta[PAUSED])

    @paused.setter
    def paused(self, value: bool) -> None:
        """Fault injection: the renderer stops producing frames (a hung camera)."""
        self.rig.meta[PAUSED] = 1.0 if value else 0.0

    def latest(self, max_age_s: float = 0.5) -> tuple[np.ndarray, float]:
        return self.rig.latest(self._index, max_age_s)


if __name__ == "__main__":
    _render_main(sys.argv[1:])
