"""Smoke test of `robo train-policy policy=vla tasks=[...]` and `robo eval-policy` on the VLA
checkpoint at a tiny budget (Meta-World reach + push, state-only with the goal, no rendering)."""

import json

import pytest

from robo.cli.main import main
from robo.policy import load_policy
from robo.policy.vla import VLAPolicy


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("vla")
    rc = main([
        "train-policy", "policy=vla", "tasks=[metaworld/reach,metaworld/push]", "episodes=1",
        "policy.state=goal", "policy.model.text_backend=hash", "policy.model.d_model=32",
        "policy.model.heads=2", "policy.model.layers=1", "policy.model.horizon=4",
        "policy.model.executed=2", "policy.model.bins=32", "policy.train.steps=3",
        "policy.train.batch_size=8", f"out={out}",
    ])  # fmt: skip
    assert rc == 0
    return out


def test_train_writes_a_multitask_vla_checkpoint(ckpt):
    meta = json.loads((ckpt / "config.json").read_text())["meta"]
    assert meta["tasks"] == ["metaworld/reach", "metaworld/push"] and meta["state"] == "goal"
    assert meta["train"]["tasks"] == ["metaworld/push", "metaworld/reach"]
    policy = load_policy(ckpt)
    assert isinstance(policy, VLAPolicy) and policy.config.state_dim == 4 + 3


def test_eval_policy_runs_the_vla(ckpt, tmp_path):
    rc = main([
        "eval-policy", f"ckpt={ckpt}", "task=metaworld/push", "episodes=1", "videos=0",
        "max_episode_steps=6", f"out={tmp_path}",
    ])  # fmt: skip
    assert rc == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["n"] == 1 and m["chunks"] == 3 and m["nfe_per_chunk"] == 4 * 4


def test_train_and_eval_a_fast_token_vla(tmp_path):
    out = tmp_path / "fast"
    rc = main([
        "train-policy", "policy=vla", "task=metaworld/reach", "episodes=1",
        "policy.state=goal", "policy.model.text_backend=hash", "policy.model.d_model=32",
        "policy.model.heads=2", "policy.model.layers=1", "policy.model.horizon=4",
        "policy.model.executed=2", "policy.model.tokenizer=fast", "policy.model.fast_vocab=128",
        "policy.train.steps=3", "policy.train.batch_size=8", f"out={out}",
    ])  # fmt: skip
    assert rc == 0
    meta = json.loads((out / "config.json").read_text())["meta"]
    assert meta["train"]["tokenizer_merges"] > 0
    rc = main([
        "eval-policy", f"ckpt={out}", "task=metaworld/reach", "episodes=1", "videos=0",
        "max_episode_steps=6", f"out={tmp_path / 'eval'}",
    ])  # fmt: skip
    assert rc == 0
    m = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert m["n"] == 1 and 1 <= m["nfe_per_chunk"] <= 4 * 4 + 1  # H * A + EOS at most


def test_bad_vla_inputs_exit_2(capsys):
    assert main(["train-policy", "policy=vla"]) == 2
    assert "tasks=" in capsys.readouterr().err
    assert main(["train-policy", "policy=vla", "task=metaworld/reach",
                 "policy.model.tokenizer=dct"]) == 2  # fmt: skip
    assert "tokenizer='dct'" in capsys.readouterr().err
    assert main(["train-policy", "policy=vla", "task=metaworld/reach", "policy.state=x"]) == 2


def test_eval_policy_gives_a_privileged_vla_its_state(tmp_path):
    """A `policy.state=privileged` VLA is evaluated on the privileged state it was trained on
    (Meta-World's 39-d observation), also under a shift."""
    ckpt = tmp_path / "ckpt"
    assert main([
        "train-policy", "policy=vla", "task=metaworld/reach", "episodes=1",
        "policy.state=privileged", "policy.model.text_backend=hash", "policy.model.d_model=32",
        "policy.model.heads=2", "policy.model.layers=1", "policy.model.horizon=4",
        "policy.model.executed=2", "policy.model.bins=32", "policy.train.steps=2",
        "policy.train.batch_size=8", f"out={ckpt}",
    ]) == 0  # fmt: skip
    assert load_policy(ckpt).config.state_dim == 39
    out = tmp_path / "eval"
    rc = main([
        "eval-policy", f"ckpt={ckpt}", "task=metaworld/reach", "shift=obstacle", "episodes=1",
        "videos=0", "max_episode_steps=4", f"out={out}",
    ])  # fmt: skip
    assert rc == 0
    assert json.loads((out / "metrics.json").read_text())["chunks"] == 2
