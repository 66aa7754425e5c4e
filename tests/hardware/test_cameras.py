"""Camera streams: open failures and dead devices are clear errors at connect, not silent."""

from __future__ import annotations

import numpy as np
import pytest

from hardware.cameras import CameraStream, StaleFrameError, opencv_camera
from hardware.errors import HardwareError


def test_open_failure_is_reported_at_connect():
    def setup():
        raise ConnectionError("Failed to open /dev/video9")

    cam = CameraStream("front", lambda: np.zeros((4, 4, 3), np.uint8), setup=setup)
    cam.start()
    try:
        with pytest.raises(HardwareError, match="failed to open: Failed to open /dev/video9.*hint"):
            cam.wait_first(10.0)
    finally:
        cam.stop()


def test_dead_device_names_its_last_error_and_reads_stay_non_blocking():
    def grab():
        raise OSError("device unplugged")

    cam = CameraStream("wrist", grab, fps=100.0)
    cam.start()
    try:
        with pytest.raises(HardwareError, match="no frame in 0 s.*device unplugged"):
            cam.wait_first(0.3)
        with pytest.raises(StaleFrameError):
            cam.latest()  # returns at once, never waits on the device
    finally:
        cam.stop()


def test_lerobot_opencv_camera_bad_path_is_a_clear_error():
    cam = opencv_camera("front", "/nonexistent/video9", fps=30, width=64, height=48)
    cam.start()
    try:
        with pytest.raises(HardwareError, match="camera 'front' failed to open"):
            cam.wait_first(30.0)
    finally:
        cam.stop()
