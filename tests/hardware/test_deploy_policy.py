"""`robo deploy` with a trained-style diffusion checkpoint: goal-in-state observations, the
policy's own control rate, steering at inference, and clear errors when they cannot match."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hardware.observation import StateAdapter, state_adapter_for
from hardware.robot import RobotState
from robo.cli.main import main

GOAL = "goal=[0.22,0.03,0.1]"


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    """A tiny state-only diffusion policy saved like `robo train-policy goal_in_state=true`."""
    from robo.policy import DiffusionConfig, DiffusionPolicy, save_policy

    policy = DiffusionPolicy(
        DiffusionConfig(
            action_dim=6,
            state_dim=15,
            horizon=8,
            executed=4,
            cameras=(),
            unet_dims=(8, 16),
            view_dim=8,
            num_inference_steps=3,
        )
    )
    path = tmp_path_factory.mktemp("ckpt") / "policy"
    return save_policy(policy, path, {"task": "so101/reach", "goal_in_state": True})


def test_state_adapter_layouts():
    s = RobotState(np.arange(6.0), np.full(6, 0.5), 0.0)
    assert StateAdapter("pos")(s).shape == (6,)
    v = StateAdapter("pos_vel", (0.1, 0.2, 0.3))(s)
    assert v.dtype == np.float32 and v.shape == (15,)
    np.testing.assert_allclose(v[6:12], 0.5)
    np.testing.assert_allclose(v[12:], [0.1, 0.2, 0.3])


def test_state_adapter_errors(tiny_ckpt):
    from robo.policy import load_policy

    policy = load_policy(tiny_ckpt)
    assert state_adapter_for(policy, 6, [0.2, 0.0, 0.1]) == StateAdapter("pos_vel", (0.2, 0.0, 0.1))
    with pytest.raises(ValueError, match="goal_in_state.*hint"):
        state_adapter_for(policy, 6)
    with pytest.raises(ValueError, match="15-dim state.*hint"):
        state_adapter_for(policy, 4, [0.2, 0.0, 0.1])


def test_deploy_checkpoint_with_goal_at_its_task_rate(tmp_path, tiny_ckpt):
    out = tmp_path / "out"
    common = [
        "deploy",
        "robot=so101_sim",
        "robot.cameras=[]",
        f"policy={tiny_ckpt}",
        GOAL,
        "duration=1",
        "keyboard=false",
    ]
    assert main([*common, f"out={out / 'plain'}", f"record={tmp_path / 'rec'}"]) == 0
    plain = json.loads((out / "plain" / "loop_stats.json").read_text())
    # rate_hz=null: the policy's task (so101/reach) runs at 20 Hz.
    assert plain["rate_hz"] == 20.0 and plain["ticks"] + plain["missed_ticks"] == 20
    assert plain["inference_ms"]["count"] >= 1 and plain["unchecked_commands"] == 0
    assert plain["commands_outside_limits"] == 0
    assert 0.0 <= plain["final_tip_to_goal_m"] < 1.0
    spec = json.loads((tmp_path / "rec" / "meta" / "robo_dataset.json").read_text())
    assert spec["state_dim"] == 12 and spec["action_dim"] == 6  # joint pos + vel; commands


def test_deploy_steered_uses_more_network_evaluations(tmp_path, tiny_ckpt):
    out = tmp_path / "out"
    common = [
        "deploy",
        "robot=so101_sim",
        "robot.cameras=[]",
        f"policy={tiny_ckpt}",
        GOAL,
        "duration=1",
        "keyboard=false",
    ]
    assert main([*common, f"out={out / 'plain'}"]) == 0
    assert main([*common, f"out={out / 'smc'}", "steer=smc"]) == 0
    plain = json.loads((out / "plain" / "loop_stats.json").read_text())["inference_ms"]
    smc = json.loads((out / "smc" / "loop_stats.json").read_text())["inference_ms"]
    assert plain["nfe_p50"] == 3  # DDIM steps, one chunk
    assert smc["nfe_p50"] > plain["nfe_p50"]  # particles x steps (+ inner steps)


def test_deploy_errors_are_one_line(tmp_path, tiny_ckpt, capsys):
    base = ["deploy", "robot.cameras=[]", f"policy={tiny_ckpt}", f"out={tmp_path}"]
    assert main([*base, "keyboard=false"]) == 2  # no goal
    assert main([*base, GOAL, "steer=nope", "keyboard=false"]) == 2
    assert main(["deploy", "robot=koch", f"policy={tiny_ckpt}", GOAL, "steer=smc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all("robo deploy" in line for line in err)
    assert "goal=[x,y,z]" in err[0] and "unknown steer" in err[1] and "kinematics" in err[2]


@pytest.mark.slow
def test_demo_deploy_stage_runs_the_steer_stage_policy(tmp_path, tiny_ckpt):
    """`make demo`'s deploy stage: --dry-run on the twin, then the mock arm, recorded."""
    import shutil

    from robo.demo import DemoConfig, stage_deploy

    shutil.copytree(tiny_ckpt, tmp_path / "policy")
    out = stage_deploy(DemoConfig(out=tmp_path))
    for label in ("dry_run_twin", "mock"):
        assert out[label]["commands_outside_limits"] == 0
        assert out[label]["inference_ms"]["count"] >= 1
        assert out[label]["final_tip_to_goal_m"] is not None
    spec = json.loads(
        (tmp_path / "deploy" / "recording" / "meta" / "robo_dataset.json").read_text()
    )
    assert spec["state_dim"] == 12


def test_detector_keypoints_merge_pickle_and_errors():
    import pickle

    from robo.cli.cmd_deploy import DetectorKeypoints

    fixed = {"table": np.zeros(3), "goal": np.ones(3)}
    det = DetectorKeypoints("detectors:goal_ahead", fixed)
    out = det({"state": np.zeros(15)})
    np.testing.assert_allclose(out["goal"], [0.22, 0.03, 0.1])  # the detector overrides goal=
    np.testing.assert_allclose(out["table"], 0.0)
    again = pickle.loads(pickle.dumps(det))  # the inference process gets the name, not the fn
    assert again._fn is None and again.spec == det.spec
    np.testing.assert_allclose(again({"state": np.zeros(15)})["goal"], out["goal"])
    with pytest.raises(ValueError, match="<module>:<function>"):
        DetectorKeypoints("detectors.goal_ahead", fixed)
    with pytest.raises(ValueError, match="importable"):
        DetectorKeypoints("detectors:missing", fixed).function()
    with pytest.raises(ValueError, match="not a dict"):
        DetectorKeypoints("detectors:not_a_dict", fixed)({"state": np.zeros(15)})


def test_deploy_steers_with_a_detector(tmp_path, tiny_ckpt, capsys):
    import detectors

    detectors.CALLS.clear()
    common = [
        "deploy", "robot=so101_sim", "robot.cameras=[]", f"policy={tiny_ckpt}", GOAL,
        "duration=1", "keyboard=false", "inference=thread", "steer=smc",
    ]  # fmt: skip
    assert main([*common, f"out={tmp_path / 'ok'}", "keypoints_fn=detectors:goal_ahead"]) == 0
    assert detectors.CALLS and set(detectors.CALLS) == {15}  # once per sampled chunk
    assert main([*common, f"out={tmp_path / 'bad'}", "keypoints_fn=detectors:nope"]) == 2
    assert "keypoints_fn" in capsys.readouterr().err
