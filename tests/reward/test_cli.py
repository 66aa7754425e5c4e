"""Smoke tests of the reward commands at a tiny budget (synthetic data, hash text embeddings)."""

import json

import pytest

from robo.cli.main import main

SMALL = ["reward.image_size=32", "reward.text_backend=hash", "reward.embed_dim=32", "threads=1"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("grm") / "ck"
    rc = main(["train-reward", "data=synthetic", "max_episodes=3", f"out={out}", "progress=false",
               "train.steps=3", "train.eval_every=0", "train.pairs_per_batch=32", *SMALL])  # fmt: skip
    assert rc == 0
    return out


def test_train_writes_checkpoint_and_logs(ckpt):
    assert (ckpt / "model.safetensors").exists() and (ckpt / "config.json").exists()
    meta = json.loads((ckpt / "config.json").read_text())["meta"]
    assert meta["train_data"] == ["synthetic"] and meta["held_out"]
    assert any((ckpt / "tb").iterdir())


def test_eval_writes_metrics_report_and_video(ckpt, tmp_path):
    out = tmp_path / "ev"
    rc = main(["eval-reward", f"ckpt={ckpt}", "data=synthetic:3", "max_episodes=2", "split=all",
               f"out={out}", "figures=2", "videos=1", "threads=1"])  # fmt: skip
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    keys = {"voc_s", "voc_rev", "voc_p", "tau_a", "auroc", "ece", "regress_recall", "voc_fail"}
    assert keys <= set(m["overall"]) and keys <= set(m["baseline_time"]["overall"])
    assert m["baseline_time"]["overall"]["voc_s"] == 1.0
    report = out / "report"
    assert (report / "reliability.png").exists() and (report / "trace_00.mp4").stat().st_size > 0
    assert len(list(report.glob("progress_*.png"))) == 2


def test_adapt_writes_new_checkpoint(ckpt, tmp_path):
    out = tmp_path / "ad"
    rc = main(["adapt-reward", f"base={ckpt}", "demo=synthetic:4", "task=synth/up", f"out={out}",
               "replay_per_dataset=1", "eval_data=synthetic:5", "adapt.steps=2", "threads=1",
               "progress=false"])  # fmt: skip
    assert rc == 0
    res = json.loads((out / "adapt.json").read_text())
    assert res["task"] == "synth/up" and res["replay_episodes"] > 0
    assert "zero_shot" in res and "adapted" in res
    assert (out / "model.safetensors").exists()


def test_adapt_few_shot_takes_a_list_of_episodes(ckpt, tmp_path, capsys):
    base = ["adapt-reward", f"base={ckpt}", "demo=synthetic:4", "task=synth/up",
            "replay_per_dataset=1", "adapt.steps=2", "threads=1", "progress=false"]  # fmt: skip
    out = tmp_path / "few"
    assert main([*base, f"out={out}", "episode=[0,1]"]) == 0
    seeds = json.loads((out / "adapt.json").read_text())["demo_seeds"]
    assert len(seeds) == 2 and seeds[0] != seeds[1]
    assert main([*base, f"out={tmp_path / 'twice'}", "episode=[1,1]"]) == 2
    err = capsys.readouterr().err.strip()
    assert "names a demo twice" in err and len(err.splitlines()) == 1


def test_bad_inputs_give_one_line_errors(tmp_path, capsys):
    assert main(["eval-reward", f"ckpt={tmp_path}/missing", "data=synthetic"]) == 2
    assert "train one with" in capsys.readouterr().err
    assert main(["eval-reward", f"ckpt={tmp_path}/missing", "process_std=-1"]) == 2
    assert "hint: process_std=0.1" in capsys.readouterr().err
    assert main(["train-reward", "data=no/such-task", f"data_root={tmp_path}"]) == 2
    assert "robo collect" in capsys.readouterr().err


def test_train_continues_from_init_and_refuses_another_split(ckpt, tmp_path, capsys):
    base = ["train-reward", "data=synthetic", "max_episodes=3", "progress=false",
            "train.steps=2", "train.eval_every=0", "train.pairs_per_batch=32", *SMALL]  # fmt: skip
    out = tmp_path / "more"
    assert main([*base, f"init={ckpt}", f"out={out}"]) == 0
    assert json.loads((out / "config.json").read_text())["meta"]["init"] == str(ckpt)
    # another split (seed) would train on the init checkpoint's held-out episodes
    assert main([*base, f"init={ckpt}", f"out={tmp_path}/bad", "train.seed=5"]) == 2
    assert "held-out" in capsys.readouterr().err


def test_goal_frames_from_another_data_root(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mocks"))
    from fake_env import register_fake_tasks

    from robo.data.collect import collect
    from robo.reward.evaluate import goal_demos

    register_fake_tasks()
    over = {"image_size": 32, "max_episode_steps": 30}
    collect("fake/reach", 2, tmp_path / "fake-reach-expert", seed=5, video=False, overrides=over)
    demos = goal_demos(["fake/reach"], str(tmp_path))
    (demo,) = demos["fake/reach"]
    assert demo.kind == "expert" and demo.seed in (5, 6) and demo.success.any()
    with pytest.raises(FileNotFoundError, match="goal_root"):
        goal_demos(["fake/push"], str(tmp_path))


def test_eval_takes_an_ensemble(ckpt, tmp_path):
    """ckpt=[a,b] scores with the mean of the members (the same member twice = itself)."""
    runs = {}
    for name, spec in (("one", str(ckpt)), ("two", f"[{ckpt},{ckpt}]")):
        out = tmp_path / name
        rc = main(["eval-reward", f"ckpt={spec}", "data=synthetic:3", "max_episodes=2",
                   "split=all", f"out={out}", "figures=0", "videos=0", "threads=1"])  # fmt: skip
        assert rc == 0
        runs[name] = json.loads((out / "metrics.json").read_text())
    assert runs["two"]["ensemble"] == [str(ckpt)] * 2 and runs["one"]["ensemble"] == [str(ckpt)]
    for k in ("voc_s", "voc_p", "ece"):
        assert runs["two"]["overall"][k] == pytest.approx(runs["one"]["overall"][k], abs=1e-6)
