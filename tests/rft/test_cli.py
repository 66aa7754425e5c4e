"""`robo rft` smoke tests at a tiny budget (state-only VLA, Meta-World reach, 10-step episodes)."""

import json

import numpy as np
import pytest
import torch

from robo.cli.main import main


def _tiny_vla(path, tokenizer="bins"):
    from robo.policy.vla import VLAConfig, VLAPolicy

    torch.manual_seed(0)
    cfg = VLAConfig(
        action_dim=4, state_dim=39, horizon=2, executed=1, bins=8, d_model=16, heads=2,
        layers=1, ff_mult=2, text_backend="hash", tokenizer=tokenizer, fast_vocab=64,
    )  # fmt: skip
    policy = VLAPolicy(cfg)
    chunks = torch.rand(32, 2, 4) * 2 - 1
    policy.fit_normalizer(chunks.reshape(-1, 4), torch.randn(64, 39))
    policy.fit_tokenizer(chunks)
    policy.meta = {"tasks": ["metaworld/reach"], "state": "privileged"}
    policy.save(path)
    return path


@pytest.fixture(scope="module")
def vla_ckpt(tmp_path_factory):
    return _tiny_vla(tmp_path_factory.mktemp("vla") / "policy")


@pytest.mark.parametrize("tokenizer", ["bins", "fast"])
def test_rft_offline_smoke(vla_ckpt, tmp_path, tokenizer):
    from robo.policy import load_policy

    ckpt = vla_ckpt if tokenizer == "bins" else _tiny_vla(tmp_path / "fast", "fast")
    out = tmp_path / "rft"
    rc = main([
        "rft", f"policy={ckpt}", "steps=2", "demos=1", "eval_episodes=1",
        "max_episode_steps=8", "rft.obs_per_step=4", "rft.group_size=2", "rewards.qacr=0.5",
        f"out={out}",
    ])  # fmt: skip
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["success"]) == {"before", "after_0"}
    assert len(metrics["curves"]) == 2 and "kl" in metrics["curves"][0]
    assert (out / "rft.png").stat().st_size > 1000
    tuned = load_policy(out / "policy")
    assert tuned.meta["rft"]["tasks"] == ["metaworld/reach"]
    assert tuned.config.tokenizer == tokenizer


def test_rft_online_smoke_and_grm_without_checkpoint_fails(vla_ckpt, tmp_path, capsys):
    out = tmp_path / "rft_online"
    rc = main([
        "rft", f"policy={vla_ckpt}", "mode=online", "steps=1", "eval_episodes=1",
        "max_episode_steps=6", "rewards.ctar=0", "rewards.success=1", "rewards.fcr=0.1",
        "online.group=2", "rft.drop_flat_groups=false", "lockstep_envs=2", f"out={out}",
    ])  # fmt: skip
    assert rc == 0
    curve = json.loads((out / "metrics.json").read_text())["curves"][0]
    assert curve["rows"] > 0 and 0.0 <= curve["flat_groups"] <= 1.0
    capsys.readouterr()
    assert main(["rft", f"policy={vla_ckpt}", "mode=online", "rewards.grm=1", f"out={out}"]) != 0
    assert "needs a GRM checkpoint" in capsys.readouterr().err


def test_rft_visited_smoke_and_reward_mode_mismatch_fails(vla_ckpt, tmp_path, capsys):
    out = tmp_path / "rft_visited"
    rc = main([
        "rft", f"policy={vla_ckpt}", "mode=visited", "steps=1", "eval_episodes=1",
        "max_episode_steps=6", "rewards.ctar=0", "rewards.expert_ctar=1", "rewards.fcr=0.1",
        "visited.label_prob=1", "rft.obs_per_step=4", "rft.group_size=2", "lockstep_envs=2",
        "rft.drop_flat_groups=false", f"out={out}",
    ])  # fmt: skip
    assert rc == 0
    curve = json.loads((out / "metrics.json").read_text())["curves"][0]
    assert curve["labelled"] == curve["visited"] == 12 and curve["rows"] == 8  # 4 obs x G=2
    assert 0.0 <= curve["expert_ctar"] <= 1.0
    capsys.readouterr()
    assert main(["rft", f"policy={vla_ckpt}", "rewards.expert_ctar=1", f"out={out}"]) != 0
    assert "mode=visited" in capsys.readouterr().err


@pytest.mark.slow
def test_rft_online_with_a_grm_ensemble(vla_ckpt, tmp_path):
    """Online GRPO with the GRM progress gain of a two-member ensemble (renders its views)."""
    from robo.reward.checkpoint import save_checkpoint
    from robo.reward.model import ProgressRewardModel, RewardModelConfig

    torch.manual_seed(0)
    grm_cfg = RewardModelConfig(
        image_size=32, channels=(8, 16, 16), embed_dim=16, fusion_layers=1, heads=2, n_bins=9,
        text_backend="hash",
    )  # fmt: skip
    grm = save_checkpoint(ProgressRewardModel(grm_cfg), tmp_path / "grm")
    torch.manual_seed(1)
    grm1 = save_checkpoint(ProgressRewardModel(grm_cfg), tmp_path / "grm1")
    out = tmp_path / "rft_grm"
    rc = main([  # two checkpoints: an ensemble (the mean of their progress)
        "rft", f"policy={vla_ckpt}", "mode=online", f"grm=[{grm},{grm1}]", "rewards.grm=1",
        "rewards.ctar=0", "steps=1", "eval_episodes=1", "max_episode_steps=4",
        "online.group=2", "online.seeds_per_step=1", f"out={out}",
    ])  # fmt: skip
    assert rc == 0
    curve = json.loads((out / "metrics.json").read_text())["curves"][0]
    assert np.isfinite(curve["grm"]) and curve["rows"] == 8  # 2 rollouts x 4 one-step chunks


def test_rft_dagger_smoke_and_bad_options_fail(vla_ckpt, tmp_path, capsys):
    from robo.policy import load_policy

    out = tmp_path / "rft_dagger"
    rc = main([
        "rft", f"policy={vla_ckpt}", "mode=dagger", "eval_episodes=1", "demos=1",
        "max_episode_steps=6", "lockstep_envs=2", "dagger.rounds=2", "dagger.rollouts=2",
        "dagger.steps=2", "dagger.label_prob=1", f"out={out}",
    ])  # fmt: skip
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mode"] == "dagger" and set(metrics["success"]) == {"before", "after_0"}
    labels = [c["labelled_samples"] for c in metrics["curves"]]
    assert len(labels) == 2 and 0 < labels[0] < labels[1]  # 2 rollouts x 6 steps, then 12 more
    assert metrics["config"]["dagger"]["finetune"]["steps"] == 2
    assert (out / "rft.png").stat().st_size > 1000
    assert load_policy(out / "policy").meta["rft"]["mode"] == "dagger"
    for bad, msg in [
        (["mode=dagger", "dagger.nope=1"], "Could not override 'dagger.nope'"),
        (["mode=dagger", "+dagger.nope=1"], "dagger.nope is not an option"),
        (["mode=dagger", "+dagger.lockstep=4"], "dagger.lockstep is not an option"),
        (["mode=dagger", "continual=true"], "mode=dagger runs one stage"),
        (["mode=dagers"], "is not a mode"),
    ]:
        capsys.readouterr()
        assert main(["rft", f"policy={vla_ckpt}", *bad, f"out={out}"]) != 0
        assert msg in capsys.readouterr().err
