"""Smoke tests of `robo deploy` and `robo robot-check` at a tiny budget."""

from __future__ import annotations

import json

from robo.cli.main import main


def test_deploy_on_twin_records_and_writes_stats(tmp_path):
    rc = main(
        [
            "deploy",
            "robot=so101_sim",
            "robot.cameras=[]",
            "duration=1",
            f"record={tmp_path / 'rec'}",
            f"out={tmp_path / 'out'}",
            "keyboard=false",
        ]
    )
    assert rc == 0
    stats = json.loads((tmp_path / "out" / "loop_stats.json").read_text())
    assert stats["ticks"] + stats["missed_ticks"] == 30 and stats["unchecked_commands"] == 0
    for key in ("achieved_hz", "period_error_ms", "inference_ms", "safety_interventions"):
        assert key in stats
    assert (tmp_path / "rec" / "meta" / "robo_episodes.jsonl").read_text().strip()


def test_deploy_bad_policy_is_one_line_error(tmp_path, capsys):
    rc = main(["deploy", "robot.cameras=[]", "policy=/nope/ckpt", f"out={tmp_path}"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert "hint" in err and len(err.splitlines()) == 1


def test_robot_check_on_twin(tmp_path, capsys):
    out = tmp_path / "check.json"
    rc = main(["robot-check", "robot=so101_sim", "robot.cameras=[]", "settle_s=0.5", f"out={out}"])
    report = json.loads(out.read_text())
    assert [j["joint"] for j in report["joints"]][0] == "shoulder_pan"
    assert rc == (0 if report["passed"] else 1)
    assert "robot-check:" in capsys.readouterr().out


def test_robot_check_on_mock_and_clear_calibration_error(tmp_path, capsys):
    out = tmp_path / "check.json"
    rc = main(["robot-check", "robot=mock", "settle_s=0.4", f"out={out}"])
    report = json.loads(out.read_text())
    assert rc == (0 if report["passed"] else 1) and len(report["joints"]) == 6
    rc = main(["robot-check", "robot=koch", f"robot.calibration_dir={tmp_path}"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "calibration file missing" in err[0] and "hint" in err[0]
