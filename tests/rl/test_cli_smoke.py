"""Tiny-budget smoke runs of `robo rl` and `robo rl-compare` on a real Meta-World task."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from robo.cli.main import main

torch.set_num_threads(1)
TINY = [
    "task=metaworld/reach",
    "seeds=1",
    "steps=40",
    "eval_every=20",
    "eval_episodes=1",
    "final_episodes=1",
    "max_episode_steps=15",
    "sac.learning_starts=10",
    "sac.batch_size=32",
    "bc_steps=5",
    "critic_warmup=5",
]


def test_rl_and_rl_compare_smoke(tmp_path):
    assert main(["rl", *TINY, "scheme=sparse", "demos=0", f"out={tmp_path}/sparse"]) == 0
    assert main(["rl", *TINY, "scheme=pbrs", "progress=gt", "demos=1", f"out={tmp_path}/pbrs"]) == 0
    m = json.loads((tmp_path / "pbrs" / "metrics.json").read_text())
    assert m["task"] == "metaworld/reach" and m["reward"] == "pbrs"
    run = m["runs"][0]
    assert [r["step"] for r in run["curve"]] == [0, 20, 40]
    assert 0.0 <= run["final_success"] <= 1.0
    assert run["warm_start"]["demos"] == 1 and run["warm_start"]["demo_transitions"] == 15
    for key in ("steps_to_50", "steps_to_80", "hover_ratio", "hover_ratio_gt", "return_gap"):
        assert key in run
    assert (tmp_path / "pbrs" / "success.png").stat().st_size > 0
    out = tmp_path / "cmp"
    assert main(["rl-compare", f"runs=[{tmp_path}/sparse,{tmp_path}/pbrs]", f"out={out}"]) == 0
    table = (out / "table.md").read_text()
    assert "| metaworld/reach | sparse |" in table and "| metaworld/reach | gt |" in table
    assert (out / "compare.png").stat().st_size > 0
    cmp = json.loads((out / "compare.json").read_text())
    assert set(cmp["methods"]) == {"sparse", "gt"}


def test_rl_refuses_bad_input_and_existing_results(tmp_path, capsys):
    assert main(["rl", *TINY, "scheme=bogus", f"out={tmp_path}/x"]) == 2
    assert "unknown reward scheme" in capsys.readouterr().err
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "metrics.json").write_text("{}")
    assert main(["rl", *TINY, "scheme=sparse", f"out={tmp_path}/y"]) == 2
    assert "overwrite=true" in capsys.readouterr().err
    assert main(["rl-compare", f"runs=[{tmp_path}/nothing]", f"out={tmp_path}/c"]) == 2


def test_delta_actions_on_a_delta_task_fail_before_any_work(tmp_path, capsys, monkeypatch):
    import robo.cli.cmd_rl as cmd_rl

    def too_late(*a, **k):
        raise AssertionError("the reward was built before the action check")

    monkeypatch.setattr(cmd_rl, "build_potential", too_late)
    assert main(["rl", *TINY, "scheme=sparse", "action=delta", f"out={tmp_path}/d"]) == 2
    assert "action=native" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def tiny_grm(tmp_path, seed: int = 0, name: str = "grm"):
    from robo.reward.checkpoint import save_checkpoint
    from robo.reward.model import ProgressRewardModel, RewardModelConfig

    torch.manual_seed(seed)
    cfg = RewardModelConfig(
        image_size=32,
        channels=(8, 16, 16),  # (8, 16) hits a checkpoint-check false positive: header 0x0b80
        embed_dim=16,
        fusion_layers=1,
        heads=2,
        n_bins=9,
        text_backend="hash",
    )
    return save_checkpoint(ProgressRewardModel(cfg), tmp_path / name)


def test_anchored_grm_progress_is_a_state_function(tmp_path):
    from robo.reward.checkpoint import load_checkpoint
    from robo.rl.progress import AnchoredGRMProgress

    model = load_checkpoint(tiny_grm(tmp_path))
    rng = np.random.default_rng(0)

    def img():
        cams = ("front", "side", "wrist")
        return {c: rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for c in cams}

    fn = AnchoredGRMProgress(model, img(), img())
    obs = [{"images": img(), "instruction": "reach the goal"} for _ in range(4)]
    a = fn(obs)
    b = fn(obs[::-1])
    assert a.phi.shape == (4,) and np.all((a.phi >= 0) & (a.phi <= 1))
    assert np.all(a.uncertainty > 0)
    np.testing.assert_allclose(a.phi, b.phi[::-1], atol=1e-5)  # no history, no batch effects

    from robo.rl.progress import EnsembleProgress

    other = AnchoredGRMProgress(load_checkpoint(tiny_grm(tmp_path, 1, "grm1")), img(), img())
    ens = EnsembleProgress([fn, other])
    c, o = ens(obs), other(obs)
    np.testing.assert_allclose(c.phi, np.clip((a.phi + o.phi) / 2, 0, 1))
    assert np.all(c.uncertainty >= np.minimum(a.uncertainty, o.uncertainty) - 1e-12)
    np.testing.assert_allclose(ens(obs[::-1]).phi, c.phi[::-1], atol=1e-5)  # still Markov
    with pytest.raises(ValueError, match="at least one"):
        EnsembleProgress([])


@pytest.mark.slow  # renders three cameras per step plus a reference expert episode (~1 min)
def test_rl_with_grm_checkpoint_smoke(tmp_path):
    """An ensemble of two GRMs (progress=[a,b]); the single-checkpoint path runs in the one-shot
    flow test below."""
    ckpt = f"[{tiny_grm(tmp_path)},{tiny_grm(tmp_path, 1, 'grm1')}]"
    args = [
        "rl",
        *TINY,
        "steps=30",
        "eval_every=30",
        "scheme=pbrs",
        f"progress={ckpt}",
        "demos=0",
        "vec=dummy",
        "image_size=32",
        f"out={tmp_path}/grm_run",
    ]
    assert main(args) == 0
    m = json.loads((tmp_path / "grm_run" / "metrics.json").read_text())
    assert m["progress_label"] == "grm+grm1" and m["runs"][0]["train_episodes"] >= 1


@pytest.mark.slow  # collects one rendered demo, adapts a tiny GRM, runs RL on it (~1-2 min)
def test_one_shot_flow_calibrates_on_the_demo_alone(tmp_path):
    """adapt-reward on one demo of a task, then rl with that checkpoint and that demo as the
    reference: the calibration must come from the demo, not from extra scripted episodes."""
    demo = tmp_path / "demo"
    collect = ["collect", "task=metaworld/reach", "episodes=1", "image_size=32", "video=false",
               "max_episode_steps=100", f"out={demo}"]  # fmt: skip
    assert main(collect) == 0
    adapted = tmp_path / "adapted"
    # Enough steps that the adapted Φ rises along the demo (calibration needs goal > start).
    adapt = ["adapt-reward", f"base={tiny_grm(tmp_path)}", f"demo={demo}", "replay=none",
             "adapt.steps=150", "threads=1", "progress=false", f"out={adapted}"]  # fmt: skip
    assert main(adapt) == 0
    args = [*TINY, "steps=20", "eval_every=20", "scheme=pbrs", f"progress={adapted}",
            f"reference={demo}", "calibrate=3", "demos=0", "vec=dummy", "image_size=32",
            f"out={tmp_path}/rl"]  # fmt: skip
    assert main(["rl", *args]) == 0
    m = json.loads((tmp_path / "rl" / "metrics.json").read_text())
    assert m["progress_label"] == "adapted-cal"
    assert m["calibration"]["episodes"] == 1
    assert m["calibration"]["source"] == f"{demo}#0"
