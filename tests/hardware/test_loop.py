"""ControlLoop fault injection on the sim twin: stalls, NaN, out-of-range, e-stops, stale cameras."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from hardware.cameras import CameraStream
from hardware.config import make_shield, robot_config
from hardware.estop import EStop
from hardware.loop import ControlLoop, LoopConfig
from hardware.policies import ScriptedPolicy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mocks"))
from fault_policies import ConstantPolicy  # noqa: E402

RATE = 30.0


class StallingPolicy:
    """Returns one chunk of the current pose, then blocks until released."""

    horizon, action_dim, executed = 8, 6, 4

    def __init__(self):
        self.release = threading.Event()
        self.calls = 0

    def sample(self, obs, n=1, steer=None):
        self.calls += 1
        if self.calls > 1:
            self.release.wait(10.0)
        return torch.as_tensor(np.tile(obs["state"], (n, self.horizon, 1)))


def _twin(**kw):
    cfg = robot_config("so101_sim", cameras=[], **kw)
    return cfg, cfg.build()


def _run(policy, duration=1.0, estop=None, robot_kw=None, **loop_kw):
    cfg, robot = _twin(**(robot_kw or {}))
    with robot:
        shield = make_shield(cfg, robot, 1.0 / RATE)
        loop = ControlLoop(
            robot, policy, shield, LoopConfig(rate_hz=RATE, duration_s=duration, **loop_kw), estop
        )
        result = loop.run()
        final = robot.read()
    return result, final, shield


def test_scripted_policy_runs_and_records():
    result, _, _ = _run(ScriptedPolicy(control_dt=1 / RATE), duration=1.0)
    s = result.stats.summary()
    assert result.stop_reason == "duration" and result.error is None
    assert s["ticks"] + s["missed_ticks"] == 30 and s["commands_sent"] == s["ticks"]
    assert s["unchecked_commands"] == 0 and s["commands_outside_limits"] == 0
    assert s["inference_ms"]["count"] >= 3
    assert sum(f.from_policy for f in result.frames) > 20


def test_stalled_policy_trips_watchdog_and_holds():
    policy = StallingPolicy()
    try:
        result, final, _ = _run(policy, duration=1.5, watchdog_timeout_s=0.2)
    finally:
        policy.release.set()
    assert result.stats.watchdog_trips >= 1
    held = [f for f in result.frames if not f.from_policy]
    assert len(held) > 10
    # Holding: commanded targets stop changing once the policy stalls.
    tail = np.stack([f.action for f in held[-10:]])
    assert np.ptp(tail, axis=0).max() < 1e-6
    np.testing.assert_allclose(final.joint_pos[:5], tail[-1][:5], atol=0.05)


def test_watchdog_torque_off_mode():
    policy = StallingPolicy()
    try:
        result, final, _ = _run(
            policy, duration=2.0, watchdog_timeout_s=0.2, watchdog_action="torque_off"
        )
    finally:
        policy.release.set()
    assert result.stop_reason.startswith(("watchdog", "estop:watchdog"))
    assert not final.torque_enabled


def test_nan_actions_never_reach_the_robot():
    result, _, shield = _run(ConstantPolicy([np.nan] * 6), duration=0.7)
    assert shield.counts["nonfinite"] > 0
    assert all(np.all(np.isfinite(f.action)) for f in result.frames)
    assert result.stats.commands_outside_limits == 0


def test_out_of_range_targets_are_clamped():
    result, final, shield = _run(ConstantPolicy([5.0, 5.0, -5.0, 5.0, 9.0, 9.0]), duration=1.0)
    assert result.stats.commands_outside_limits == 0
    assert shield.counts["step"] + shield.counts["velocity"] > 0
    lim = robot_config("so101_sim").limits()
    assert np.all(final.joint_pos <= lim.upper + 0.05)


def test_estop_stop_file(tmp_path):
    stop = tmp_path / "STOP"
    threading.Timer(0.4, stop.touch).start()
    result, _, _ = _run(ScriptedPolicy(control_dt=1 / RATE), 5.0, EStop(stop_file=stop))
    assert result.stop_reason == "estop:file"
    assert len(result.frames) < 5.0 * RATE


def test_estop_keyboard_trigger_and_torque_off_safe_state():
    estop = EStop()
    threading.Timer(0.4, estop.trigger, args=("keyboard", "stop key pressed")).start()
    result, final, _ = _run(
        ScriptedPolicy(control_dt=1 / RATE), 5.0, estop, safe_state="torque_off"
    )
    assert result.stop_reason == "estop:keyboard"
    assert not final.torque_enabled


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_estop_signals(sig):
    estop = EStop()
    estop.install_signal_handlers()
    try:
        threading.Timer(0.4, os.kill, args=(os.getpid(), sig)).start()
        result, _, _ = _run(ScriptedPolicy(control_dt=1 / RATE), 5.0, estop)
    finally:
        estop.close()
    assert result.stop_reason == "estop:signal"
    assert signal.Signals(sig).name in result.stats.estop


def test_stale_camera_frames_are_counted_and_reused():
    frame = np.full((8, 8, 3), 7, np.uint8)
    cam = CameraStream("front", lambda: frame, fps=60.0)
    cfg, robot = _twin()
    robot.cameras["front"] = cam
    with robot:
        threading.Timer(0.4, lambda: setattr(cam, "paused", True)).start()
        loop = ControlLoop(
            robot,
            ScriptedPolicy(control_dt=1 / RATE),
            make_shield(cfg, robot, 1 / RATE),
            LoopConfig(rate_hz=RATE, duration_s=1.2, max_frame_age_s=0.15),
        )
        result = loop.run()
    assert result.stats.stale_frames.get("front", 0) > 5
    assert all("front" in f.images for f in result.frames[-10:])  # last good frame reused


def test_late_ticks_are_skipped_not_burst():
    class SlowOnce(ConstantPolicy):
        def __init__(self):
            super().__init__([0.0, -1.2, 1.2, 0.6, 0.0, 0.3])

    cfg, robot = _twin()
    reads = []
    real_read = robot._read

    def read_with_stall():
        # The stall is keyed to the loop's own reads, not to wall time: on a loaded machine the
        # set-up before the first tick can take longer than any fixed delay, and a stall before
        # the tick grid starts is (rightly) not a missed tick.
        reads.append(None)
        if len(reads) == 8:
            time.sleep(0.25)  # a 250 ms hiccup (USB, GC, scheduler)
        return real_read()

    with robot:
        robot._read = read_with_stall
        loop = ControlLoop(
            robot,
            SlowOnce(),
            make_shield(cfg, robot, 1 / RATE),
            LoopConfig(rate_hz=RATE, duration_s=1.0),
        )
        result = loop.run()
    s = result.stats.summary()
    assert s["missed_ticks"] >= 5
    assert s["ticks"] + s["missed_ticks"] == 30
    # After the hiccup the loop is back on its grid: no long run of late ticks.
    assert np.percentile(result.stats.period_error_ms, 50) < 1000 / RATE


def test_unpaced_loop_with_fast_twin_is_deterministic_in_steps():
    result, _, _ = _run(
        ScriptedPolicy(control_dt=1 / RATE), duration=2.0, robot_kw={"pacing": "fast"}, paced=False
    )
    assert len(result.frames) == 60 and result.stats.missed_ticks == 0
