"""``robot=mock``: the real SO-101 driver (lerobot's FeetechMotorsBus) on a simulated bus.

:class:`MockArm` starts a :class:`~hardware.drivers.feetech_sim.FakeFeetechBus` (a pty that
speaks the Feetech protocol), writes a calibration file for it, and is otherwise exactly
:class:`~hardware.drivers.lerobot_arm.LerobotArm` with ``kind="so101"``: every read and
command goes through lerobot's and the Feetech SDK's real serial code.
"""

from __future__ import annotations

import math
import tempfile
import threading
from pathlib import Path

import numpy as np

from hardware.calibration import calibration_path, default_calibration, write_calibration
from hardware.drivers.feetech_sim import FakeFeetechBus
from hardware.drivers.lerobot_arm import LerobotArm
from hardware.robot import RobotLimits
from hardware.units import LerobotUnits


class MockArm(LerobotArm):
    """SO-101 driver wired to simulated STS3215 motors (ids 1..6).

    Args:
        limits: shield limits [rad]; also decide the simulated calibration ranges.
        home: float[6] initial joint positions [rad].
        calibration_dir: where to write the calibration (default: a temp dir).
        write_calibration_file: False leaves the directory as is (to test a missing file).
        unplug_after_s: unplug the simulated adapter this long after the first command went
            through [s] (fault injection for tests and demos: mid-episode however long the
            start-up took on a busy machine; ``None``: never).
    """

    def __init__(
        self,
        limits: RobotLimits,
        home: tuple[float, ...] = (0.0, -1.2, 1.2, 0.6, 0.0, 0.3),
        calibration_dir: str | Path | None = None,
        robot_id: str = "mock_so101",
        write_calibration_file: bool = True,
        unplug_after_s: float | None = None,
    ):
        self._tmp = None
        self.unplug_after_s = unplug_after_s
        self._unplug_timer: threading.Timer | None = None
        if calibration_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="robo-mock-cal-")
            calibration_dir = self._tmp.name
        names = limits.joint_names
        cal = default_calibration(names, limits.lower, limits.upper)
        if write_calibration_file:
            write_calibration(calibration_path(calibration_dir, robot_id), cal)
        g_lo = (cal["gripper"]["range_min"] - 2048) * 2 * math.pi / 4096
        g_hi = (cal["gripper"]["range_max"] - 2048) * 2 * math.pi / 4096
        units = LerobotUnits(names, gripper_range_rad=(g_lo, g_hi))
        ticks = {
            i + 1: int(round(2048 + q * 4096 / (2 * math.pi)))
            for i, q in enumerate(np.asarray(home, dtype=np.float64))
        }
        self.fake_bus = FakeFeetechBus(list(range(1, len(names) + 1)), ticks)
        super().__init__(
            kind="so101",
            port=self.fake_bus.port,
            robot_id=robot_id,
            calibration_dir=calibration_dir,
            limits=limits,
            units=units,
        )
        self.name = "mock"
        # The simulated motors answer from a thread of this process: on a loaded machine a
        # reply can miss the SDK's timeout, so connect and every transaction get more tries
        # than a real adapter. 2 retries (0.9 s of stall at the widened 302-ms packet timeout)
        # lost a read mid-episode in a full test run beside two RL jobs (load ~6); 5 ride out
        # 1.8 s. A silent simulated bus then takes ~1.8 s to report, a real one ~0.1 s.
        self.connect_attempts = 6
        self.num_retry = 5

    def _send_target(self, target: np.ndarray, gripper_effort: float) -> None:
        super()._send_target(target, gripper_effort)
        # The timer starts once the first command went through: on a loaded machine that write
        # alone can take longer than unplug_after_s (retries), and a fault before the first
        # command is not the fault the option injects.
        if self.unplug_after_s is not None and self._unplug_timer is None:
            self._unplug_timer = threading.Timer(self.unplug_after_s, self.fake_bus.disconnect)
            self._unplug_timer.daemon = True
            self._unplug_timer.start()

    def _disconnect(self) -> None:
        if self._unplug_timer is not None:
            self._unplug_timer.cancel()
            self._unplug_timer = None
        try:
            super()._disconnect()
        finally:
            self.fake_bus.close()
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None
