"""Non-blocking cameras with staleness checks: lerobot OpenCV cameras and sim cameras.

Every camera runs its own capture thread and keeps only the latest frame; the control loop
calls :meth:`CameraStream.latest` which never blocks on the device. A frame older than
``max_age_s`` raises :class:`StaleFrameError` (the loop then reuses the previous frame and
counts a drop).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from hardware.errors import HardwareError

logger = logging.getLogger(__name__)


class StaleFrameError(HardwareError):
    """The newest frame is older than the allowed age (camera hung or dropped frames)."""


class CameraStream:
    """A capture thread calling ``grab() -> uint8[H, W, 3]`` at ``fps``; latest frame kept.

    Args:
        name: camera name (``front``, ``side``, ``wrist``).
        grab: blocking function returning one frame; may raise on a device fault.
        fps: capture rate [Hz].
        setup / teardown: run inside the capture thread (e.g. to own a GL context).
    """

    def __init__(
        self,
        name: str,
        grab: Callable[[], np.ndarray],
        fps: float = 15.0,
        setup: Callable[[], None] | None = None,
        teardown: Callable[[], None] | None = None,
    ):
        self.name = name
        self._grab = grab
        self._setup = setup
        self._teardown = teardown
        self.period = 1.0 / float(fps)
        self._frame: np.ndarray | None = None
        self._stamp = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames = 0
        self.errors = 0
        self.paused = False  # fault injection: stop producing frames (a hung camera)
        self.setup_error: BaseException | None = None
        self.last_error: BaseException | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"cam-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def latest(self, max_age_s: float = 0.5) -> tuple[np.ndarray, float]:
        """(frame uint8[H, W, 3], monotonic capture time [s]); never blocks on the device."""
        with self._lock:
            frame, stamp = self._frame, self._stamp
        if frame is None:
            raise StaleFrameError(f"camera {self.name!r} has no frame yet")
        age = time.monotonic() - stamp
        if age > max_age_s:
            raise StaleFrameError(f"camera {self.name!r} frame is {age * 1e3:.0f} ms old")
        return frame, stamp

    def wait_first(self, timeout_s: float = 5.0) -> None:
        """Block until the first frame arrives (used at connect, not in the loop)."""
        deadline = time.monotonic() + timeout_s
        while self._frame is None:
            if self.setup_error is not None:
                raise HardwareError(
                    f"camera {self.name!r} failed to open: {_first_line(self.setup_error)} "
                    "(hint: check the index/path, resolution and fps it supports)"
                )
            if time.monotonic() > deadline:
                last = f" (last error: {_first_line(self.last_error)})" if self.last_error else ""
                raise HardwareError(
                    f"camera {self.name!r} produced no frame in {timeout_s:.0f} s{last} "
                    "(hint: check the index/path and that no other process holds it)"
                )
            time.sleep(0.005)

    def _run(self) -> None:
        if self._setup is not None:
            try:
                self._setup()
            except Exception as err:  # reported by wait_first (connect), not lost in a thread
                self.setup_error = err
                logger.error("camera %s failed to open: %s", self.name, err)
                return
        try:
            next_t = time.monotonic()
            while not self._stop.is_set():
                if not self.paused:
                    try:
                        frame = self._grab()
                    except Exception as err:  # device faults surface as staleness
                        self.errors += 1
                        self.last_error = err
                        logger.debug("camera %s grab failed: %s", self.name, err)
                    else:
                        with self._lock:
                            self._frame, self._stamp = frame, time.monotonic()
                        self.frames += 1
                next_t += self.period
                self._stop.wait(max(0.0, next_t - time.monotonic()))
                next_t = max(next_t, time.monotonic() - self.period)
        finally:
            if self._teardown is not None:
                self._teardown()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class CameraView:
    """One named view of a multi-camera :class:`CameraStream` whose ``grab`` returns a dict.

    Lets one thread (and one GL context) render every sim camera; ``latest`` has the same
    staleness semantics as :meth:`CameraStream.latest`.
    """

    def __init__(self, name: str, rig: CameraStream):
        self.name = name
        self.rig = rig

    def start(self) -> None:
        self.rig.start()

    def stop(self) -> None:
        self.rig.stop()

    def wait_first(self, timeout_s: float = 5.0) -> None:
        self.rig.wait_first(timeout_s)

    @property
    def paused(self) -> bool:
        return self.rig.paused

    @paused.setter
    def paused(self, value: bool) -> None:
        self.rig.paused = value

    def latest(self, max_age_s: float = 0.5) -> tuple[np.ndarray, float]:
        frames, stamp = self.rig.latest(max_age_s)
        return frames[self.name], stamp


def opencv_camera(
    name: str,
    index_or_path: int | str,
    fps: int = 30,
    width: int = 640,
    height: int = 480,
) -> CameraStream:
    """A real camera through lerobot's ``OpenCVCamera`` (its own ``read``, our thread)."""
    from lerobot.cameras.opencv import OpenCVCamera, OpenCVCameraConfig

    cam = OpenCVCamera(
        OpenCVCameraConfig(index_or_path=index_or_path, fps=fps, width=width, height=height)
    )
    state: dict[str, Any] = {}

    def setup() -> None:
        cam.connect(warmup=True)
        state["connected"] = True

    def teardown() -> None:
        if state.get("connected"):
            cam.disconnect()

    return CameraStream(name, cam.read, fps=fps, setup=setup, teardown=teardown)
