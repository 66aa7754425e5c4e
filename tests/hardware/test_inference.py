"""Inference workers: the process worker matches the thread worker and surfaces faults."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hardware.config import make_shield, robot_config
from hardware.ensemble import TemporalEnsembler
from hardware.errors import HardwareError
from hardware.inference import ProcessInference, ThreadInference, make_inference
from hardware.loop import ControlLoop, LoopConfig
from hardware.policies import ScriptedPolicy
from hardware.stats import LoopStats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mocks"))
from fault_policies import (  # noqa: E402
    ConstantPolicy,
    RaisingPolicy,
    SleepingPolicy,
    SlowFirstCallPolicy,
)

RATE = 30.0
OBS = {"state": np.zeros(6, np.float32), "images": {}, "instruction": "", "timestamp": 12.5}


def _wait_chunk(worker, ens: TemporalEnsembler, step: int, timeout: float = 60.0) -> np.ndarray:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        worker.poll()
        if worker.error is not None:
            raise worker.error
        if ens.horizon_left(step) > 0:
            return np.stack([ens.action(step + i) for i in range(ens.horizon_left(step))])
        time.sleep(0.01)
    raise AssertionError("no chunk arrived")


def test_process_worker_returns_the_same_chunk_as_the_thread_worker():
    chunks = {}
    for mode in ("thread", "process"):
        ens, stats = TemporalEnsembler(k=0.0), LoopStats(RATE)
        worker = make_inference(mode, ScriptedPolicy(control_dt=1 / RATE), ens, None, stats)
        worker.start()
        try:
            assert worker.idle
            worker.submit(dict(OBS), 3)
            chunks[mode] = _wait_chunk(worker, ens, 3)
            assert worker.idle and len(stats.inference_ms) == 1
        finally:
            worker.stop()
    assert chunks["process"].shape == (16, 6)
    np.testing.assert_allclose(chunks["process"], chunks["thread"], atol=1e-12)


def test_process_worker_surfaces_a_policy_exception():
    ens, stats = TemporalEnsembler(), LoopStats(RATE)
    worker = ProcessInference(RaisingPolicy(fail_on=1), ens, None, stats)
    worker.start()
    try:
        worker.submit(dict(OBS), 0)
        with pytest.raises(RuntimeError, match="injected policy fault"):
            _wait_chunk(worker, ens, 0)
    finally:
        worker.stop()
    assert not worker._proc.is_alive()


def test_unpicklable_policy_is_a_clear_error():
    class Local(ConstantPolicy):  # defined in a function: cannot be pickled by reference
        pass

    worker = ProcessInference(Local([0.0] * 6), TemporalEnsembler(), None, LoopStats(RATE))
    with pytest.raises(HardwareError, match="inference=thread"):
        worker.start()


def test_thread_worker_needs_no_pickling():
    class Local(ConstantPolicy):
        pass

    ens = TemporalEnsembler()
    worker = ThreadInference(Local([0.1] * 6), ens, None, LoopStats(RATE))
    worker.start()
    try:
        worker.submit(dict(OBS), 0)
        np.testing.assert_allclose(_wait_chunk(worker, ens, 0)[0], [0.1] * 6, atol=1e-6)
    finally:
        worker.stop()


def _run(policy, duration, inference="process", **loop_kw):
    cfg = robot_config("so101_sim", cameras=[])
    with cfg.build() as robot:
        shield = make_shield(cfg, robot, 1.0 / RATE)
        lc = LoopConfig(rate_hz=RATE, duration_s=duration, inference=inference, **loop_kw)
        result = ControlLoop(robot, policy, shield, lc).run()
        final = robot.read()
    return result, final, shield


def test_loop_with_process_inference_drives_the_twin_through_the_shield():
    result, _, shield = _run(ConstantPolicy([np.nan] * 6), 1.0)
    s = result.stats.summary()
    assert result.stop_reason == "duration" and result.error is None
    assert s["inference_ms"]["count"] >= 1
    assert shield.counts["nonfinite"] > 0  # NaN chunks from the child reached the shield...
    assert all(np.all(np.isfinite(f.action)) for f in result.frames)  # ...and never the arm
    assert s["unchecked_commands"] == 0 and s["commands_outside_limits"] == 0


def test_loop_stalled_process_policy_trips_the_watchdog_and_holds():
    result, final, _ = _run(SleepingPolicy(stall_s=10.0), 1.5, watchdog_timeout_s=0.2)
    assert result.stats.watchdog_trips >= 1
    held = [f for f in result.frames if not f.from_policy]
    tail = np.stack([f.action for f in held[-10:]])
    assert np.ptp(tail, axis=0).max() < 1e-6


def test_loop_process_policy_fault_stops_the_loop_in_the_safe_state():
    result, final, _ = _run(RaisingPolicy(fail_on=2), 3.0)
    assert result.stop_reason.startswith("fault") and "injected policy fault" in result.error
    assert final.torque_enabled  # safe_state=hold


@pytest.mark.skipif(not hasattr(os, "sched_getscheduler"), reason="Linux scheduling API")
def test_rt_priority_is_applied_or_warned_and_always_restored(caplog):
    before = os.sched_getscheduler(0)
    result, _, _ = _run(ScriptedPolicy(control_dt=1 / RATE), 0.5, "thread", rt_priority=10)
    assert result.stop_reason == "duration" and result.stats.commands > 0
    assert os.sched_getscheduler(0) == before
    with pytest.raises(ValueError, match="rt_priority"):
        _run(ScriptedPolicy(control_dt=1 / RATE), 0.2, "thread", rt_priority=0)


@pytest.mark.parametrize("inference", ["thread", "process"])
def test_warmup_keeps_a_slow_first_chunk_out_of_the_loop(inference):
    # the first sample takes 1.5 s (as a sampler tracing its network would); the watchdog
    # allows 0.5 s without a fresh policy action
    slow = SlowFirstCallPolicy(first_s=1.5)
    result, _, _ = _run(slow, 1.0, inference, watchdog_timeout_s=0.5)
    assert result.stop_reason == "duration" and result.error is None
    assert result.stats.watchdog_trips == 0
    assert result.frames[-1].from_policy
    cold, _, _ = _run(SlowFirstCallPolicy(first_s=1.5), 1.0, inference, watchdog_timeout_s=0.5,
                      warmup_timeout_s=None)  # fmt: skip
    assert cold.stats.watchdog_trips >= 1  # without the warm-up the same policy trips it


@pytest.mark.parametrize("inference", ["thread", "process"])
def test_failed_or_slow_warmup_stops_before_any_command(inference):
    result, final, _ = _run(RaisingPolicy(fail_on=1), 1.0, inference)
    assert result.stop_reason.startswith("fault") and "warm-up" in result.error
    assert "injected policy fault" in result.error
    assert result.stats.commands == 0 and final.torque_enabled  # nothing sent; safe_state=hold
    result, _, _ = _run(SlowFirstCallPolicy(first_s=3.0), 1.0, inference, warmup_timeout_s=0.2)
    assert result.stop_reason.startswith("fault") and "warmup_timeout_s" in result.error
    assert result.stats.commands == 0
