"""Smoke tests of `robo train-policy` and `robo eval-policy` at a tiny budget (SO-101 reach,
state-only policy with the privileged goal, so nothing is rendered)."""

import json

import pytest

from robo.cli.main import main


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("policy")
    rc = main([
        "train-policy", "task=so101/reach", "episodes=2", "goal_in_state=true",
        "policy.model.cameras=[]", "policy.model.unet_dims=[16,32]", "policy.model.horizon=8",
        "policy.model.executed=4", "policy.train.steps=3", "policy.train.batch_size=4", f"out={out}",
    ])  # fmt: skip
    assert rc == 0
    return out


def test_train_writes_a_loadable_checkpoint(ckpt):
    meta = json.loads((ckpt / "config.json").read_text())["meta"]
    assert meta["task"] == "so101/reach" and meta["goal_in_state"] is True
    assert (ckpt / "model.safetensors").exists()


@pytest.mark.parametrize("steer", ["none", "smc"])
def test_eval_writes_metrics_and_video(ckpt, tmp_path, steer):
    rc = main([
        "eval-policy", f"ckpt={ckpt}", "shift=obstacle", f"steer={steer}", "episodes=1",
        "videos=1", "max_episode_steps=8", f"out={tmp_path}",
    ])  # fmt: skip
    assert rc == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["n"] == 1 and 0 <= m["ci_low"] <= m["ci_high"] <= 1
    assert m["nfe_per_chunk"] == (8 * 10 if steer == "smc" else 10)
    assert m["ms_per_chunk"]["p50"] > 0
    assert list((tmp_path / "videos").glob("*.mp4"))


def test_bad_inputs_exit_2(tmp_path, capsys):
    assert main(["eval-policy", f"ckpt={tmp_path / 'missing'}", "task=so101/reach"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert main(["train-policy", "task=so101/reach", "policy=bogus"]) == 2
    assert "policy/bogus" in capsys.readouterr().err
