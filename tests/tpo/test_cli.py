"""Smoke test of `robo tpo` at a tiny budget: an untrained tiny state-only VLA on Meta-World
reach with the obstacle shift (no rendering), one round, the safety objective."""

from __future__ import annotations

import json

import pytest

from robo.cli.main import main


def _tiny_vla(path, tokenizer="bins"):
    import torch

    from robo.policy.vla import VLAConfig, VLAPolicy

    cfg = VLAConfig(action_dim=4, state_dim=4, horizon=2, executed=2, bins=8, d_model=16,
                    heads=2, layers=1, text_backend="hash", tokenizer=tokenizer,
                    fast_vocab=64)  # fmt: skip
    policy = VLAPolicy(cfg)
    policy.fit_tokenizer(torch.rand(32, 2, 4) * 2 - 1)  # FAST: BPE merges; bins: nothing
    policy.meta = {"tasks": ["metaworld/reach"]}
    policy.save(path)
    return path


@pytest.mark.parametrize("tokenizer", ["bins", "fast"])
def test_tpo_cli_smoke(tmp_path, tokenizer):
    ckpt = _tiny_vla(tmp_path / "vla", tokenizer)
    out = tmp_path / "tpo"
    rc = main([
        "tpo", f"policy={ckpt}", "objective=safety", "shift=obstacle", "rounds=1",
        "train_seeds=1", "eval_seeds=1", "samples_per_init=2", "max_episode_steps=6",
        "epochs=1", "replay_weight=1", f"out={out}",
    ])  # fmt: skip
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["round"] for r in metrics["rounds"]] == [0, 1]
    assert metrics["meta"]["tasks"] == ["metaworld/reach"]
    assert metrics["meta"]["objective"]["name"] == "safety"
    assert {"success", "collisions", "length"} <= set(metrics["rounds"][1]["eval"]["mean"])
    assert (out / "tpo.png").stat().st_size > 0
    from robo.policy import load_policy

    aligned = load_policy(out / "policy")
    assert aligned.meta["tpo"]["objective"] == "safety"
    assert aligned.config.tokenizer == tokenizer


def test_tpo_cli_bad_inputs(tmp_path, capsys):
    assert main(["tpo", "tasks=[metaworld/reach]"]) == 2
    assert "policy=" in capsys.readouterr().err
    ckpt = _tiny_vla(tmp_path / "vla")
    assert main(["tpo", f"policy={ckpt}", "objective=speed", f"out={tmp_path / 'x'}"]) == 2
    assert "unknown objective" in capsys.readouterr().err
    assert main(["tpo", f"policy={ckpt}", "replay_weight=-1", f"out={tmp_path / 'z'}"]) == 2
    assert "replay_weight" in capsys.readouterr().err
    bad = ["fresh_states=true", "rounds=3", "train_seeds=8", "eval_seed0=20"]
    assert main(["tpo", f"policy={ckpt}", *bad, f"out={tmp_path / 'f'}"]) == 2
    assert "eval seed 20" in capsys.readouterr().err  # round 3 would train on seeds 16..23
    # reward=[a,b] is an ensemble; every member must exist (one-line error naming the missing one)
    from robo.reward.checkpoint import save_checkpoint
    from robo.reward.model import ProgressRewardModel, RewardModelConfig

    grm = save_checkpoint(
        ProgressRewardModel(RewardModelConfig(image_size=32, text_backend="hash")),
        tmp_path / "grm",
    )
    missing = tmp_path / "nope"
    rc = main(["tpo", f"policy={ckpt}", f"reward=[{grm},{missing}]", f"out={tmp_path / 'y'}"])
    assert rc == 2
    assert f"no reward checkpoint at {missing}" in capsys.readouterr().err
