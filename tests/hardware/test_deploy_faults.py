"""One code path for twin and mock; serial disconnect mid-episode; calibration errors."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from hardware.config import make_shield, robot_config
from hardware.errors import CalibrationError
from hardware.loop import ControlLoop, LoopConfig
from hardware.policies import ScriptedPolicy

RATE = 30.0


def run_policy(name: str, duration: float, fault=None, seen=None, **overrides):
    """The deploy code path: config -> driver -> shield -> loop (what `robo deploy` runs);
    ``seen`` (a dict) gets the shield."""
    cfg = robot_config(name, **overrides)
    robot = cfg.build()
    with robot:
        if fault is not None:
            threading.Timer(fault[0], fault[1], args=(robot,)).start()
        shield = make_shield(cfg, robot, 1.0 / RATE)
        if seen is not None:
            seen["shield"] = shield
        policy = ScriptedPolicy(control_dt=1.0 / RATE)
        result = ControlLoop(
            robot, policy, shield, LoopConfig(rate_hz=RATE, duration_s=duration)
        ).run()
    assert not robot.is_connected  # disconnect always runs
    return result


def test_same_policy_drives_twin_and_mock():
    twin = run_policy("so101_sim", 1.5, cameras=[])
    mock = run_policy("mock", 1.5)
    for result in (twin, mock):
        assert result.error is None and result.stop_reason == "duration"
        assert result.stats.commands_outside_limits == 0
        assert result.stats.unchecked_commands == 0
    # Both followed the same scripted sway: the commanded targets agree step by step.
    n = min(len(twin.frames), len(mock.frames))
    a = np.stack([f.action for f in twin.frames[:n]])
    b = np.stack([f.action for f in mock.frames[:n]])
    assert np.abs(a - b).max() < 0.15
    # And the mock's motors actually moved (read back through lerobot's bus).
    moved = np.ptp(np.stack([f.state for f in mock.frames]), axis=0)
    assert moved[0] > 0.05


def test_serial_disconnect_mid_episode_is_a_clear_fault_and_the_arm_holds():
    seen = {}

    def unplug(robot):
        seen["robot"] = robot
        robot.fake_bus.disconnect()

    result = run_policy("mock", 5.0, fault=(1.0, unplug), seen=seen)
    assert result.stop_reason == "fault:ConnectionLostError"
    assert "lost the bus" in result.error and "hint" in result.error
    assert 0 < len(result.frames) < 5.0 * RATE  # stopped mid-episode (few frames on a busy CPU)
    assert all(np.all(np.isfinite(f.action)) for f in result.frames)
    # Safe state after the link died: the servos keep a shield-checked goal the loop sent
    # (body joints: calibration centred on tick 2048, 4096 ticks per turn): normally the last
    # one whose send returned; when the link dies mid-write, the one in flight, or (a sync
    # write has no reply, so a write into the dead link is lost silently) an earlier one.
    # Never anything the shield did not produce.
    robot = seen["robot"]
    goals = np.array([robot.fake_bus.motor(i + 1).get("Goal_Position") for i in range(5)])
    sent = [f.action for f in result.frames] + [seen["shield"]._last]
    ticks = [2048 + q[:5] * 4096 / (2 * np.pi) for q in sent]
    assert min(np.abs(goals - t).max() for t in ticks) <= 1.5, (goals, ticks[-3:])
    assert robot.lerobot_robot is None  # disconnect ran


def test_serial_disconnect_recording_on_disk_through_deploy(tmp_path):
    """`robo deploy record=` with the adapter unplugged mid-run: a one-line fault, and every
    frame the loop finished is in the LeRobotDataset on disk (written by the deploy path)."""
    import pandas as pd

    from robo.cli.main import main

    rec, out = tmp_path / "rec", tmp_path / "out"
    rc = main(
        [
            "deploy",
            "robot=mock",
            "robot.unplug_after_s=1.0",
            "duration=5",
            "rate_hz=30",
            f"record={rec}",
            f"out={out}",
            "keyboard=false",
        ]
    )
    assert rc == 1
    stats = json.loads((out / "loop_stats.json").read_text())
    assert stats["stop_reason"] == "fault:ConnectionLostError"
    assert "lost the bus" in stats["error"] and "hint" in stats["error"]
    sent = stats["commands_sent"]
    assert 0 < sent < 5 * RATE
    df = pd.concat(pd.read_parquet(p) for p in (rec / "data").rglob("*.parquet"))
    assert len(df) == sent  # no finished frame lost
    actions = np.stack(df["action"].to_numpy())
    lim = robot_config("mock").limits()
    assert np.all(np.isfinite(actions))
    assert np.all(actions >= lim.lower - 1e-6) and np.all(actions <= lim.upper + 1e-6)
    entry = json.loads((rec / "meta" / "robo_episodes.jsonl").read_text().splitlines()[0])
    assert entry["stop_reason"] == "fault:ConnectionLostError" and entry["length"] == sent


def test_missing_calibration_is_a_clear_error(tmp_path, so101_limits):
    from hardware.drivers.mock import MockArm

    arm = MockArm(so101_limits, calibration_dir=tmp_path, write_calibration_file=False)
    with pytest.raises(CalibrationError, match="calibration file missing.*hint"):
        arm.connect()
    arm.fake_bus.close()


@pytest.mark.parametrize(
    "content, match",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"shoulder_pan": {}}), "lacks motors"),
        ("[1, 2]", "must map motor names"),
    ],
)
def test_corrupt_calibration_is_a_clear_error(tmp_path, so101_limits, content, match):
    from hardware.calibration import load_calibration

    path = tmp_path / "arm.json"
    path.write_text(content)
    with pytest.raises(CalibrationError, match=match):
        load_calibration(path, so101_limits.joint_names)


def test_bad_calibration_range_is_rejected(tmp_path, so101_limits):
    from hardware.calibration import default_calibration, load_calibration, write_calibration

    cal = default_calibration(so101_limits.joint_names, so101_limits.lower, so101_limits.upper)
    cal["elbow_flex"]["range_min"] = cal["elbow_flex"]["range_max"]
    path = write_calibration(tmp_path / "arm.json", cal)
    with pytest.raises(CalibrationError, match="elbow_flex"):
        load_calibration(path, so101_limits.joint_names)


def test_unknown_robot_name_suggests():
    from hardware.errors import UnknownRobotError

    with pytest.raises(UnknownRobotError, match="did you mean so101_sim"):
        robot_config("so101sim")
    with pytest.raises(ValueError, match="no option"):
        robot_config("mock", pacing="fast")


def test_koch_goes_through_lerobot_dynamixel_with_clear_errors(tmp_path):
    from hardware.calibration import default_calibration, write_calibration
    from hardware.errors import ConnectionLostError, HardwareError

    cfg = robot_config("koch", port=str(tmp_path / "ttyUSB9"), calibration_dir=str(tmp_path))
    robot = cfg.build()
    assert robot.kind == "koch" and not cfg.workspace_check
    with pytest.raises(CalibrationError, match="missing"):
        robot.connect()
    lim = cfg.limits()
    write_calibration(
        tmp_path / "my_koch.json", default_calibration(lim.joint_names, lim.lower, lim.upper)
    )
    try:
        import dynamixel_sdk  # noqa: F401

        expected, match = ConnectionLostError, "cannot connect.*hint"
    except ModuleNotFoundError:
        expected, match = HardwareError, "dynamixel-sdk"
    with pytest.raises(expected, match=match):
        robot.connect()
    assert not robot.is_connected


@pytest.mark.slow
def test_cli_dry_run_then_mock(tmp_path):
    from robo.cli.main import main

    rc = main(
        [
            "deploy",
            "robot=mock",
            "duration=1",
            "dry_run=true",
            "dry_run_duration=1",
            f"out={tmp_path}",
            "keyboard=false",
        ]
    )
    assert rc == 0
    assert (tmp_path / "loop_stats_dry_run.json").exists()
    stats = json.loads((tmp_path / "loop_stats.json").read_text())
    assert stats["ticks"] + stats["missed_ticks"] == 30
