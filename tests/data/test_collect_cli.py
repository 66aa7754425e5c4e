"""`robo collect` at a tiny budget, resuming, and its one-line errors."""

import json

import pytest

from robo.cli.main import main
from robo.data import EpisodeReader


def test_collect_smoke_and_resume(tmp_path, fake_tasks, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["collect", "task=fake/reach", "episodes=2", "kind=paused", "image_size=16", "seed=5"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "recorded 2" in out and "episodes/min" in out
    root = tmp_path / "outputs/data/fake-reach-paused"
    reader = EpisodeReader(root)
    assert [e["seed"] for e in reader.entries] == [5, 6]
    assert all(e["kind"] == "paused" and e["pauses"] for e in reader.entries)
    assert reader.spec.image_size == 16 and reader.spec.video

    assert main([*args[:2], "episodes=3", *args[3:]]) == 0
    assert "recorded 1, skipped 2" in capsys.readouterr().out
    assert [e["seed"] for e in EpisodeReader(root).entries] == [5, 6, 7]


def test_collect_images_shift_and_params(tmp_path, fake_tasks, capsys):
    out = tmp_path / "ds"
    args = [
        "collect",
        "task=fake/reach",
        "episodes=1",
        "kind=noisy",
        "shift=distractor",
        "video=false",
        "image_size=16",
        "+params.noise=0.3",
        f"out={out}",
    ]
    assert main(args) == 0
    entry = EpisodeReader(out).entries[0]
    assert entry["params"]["noise"] == 0.3 and entry["shift"] == "distractor"
    spec = json.loads((out / "meta/robo_dataset.json").read_text())
    assert spec["video"] is False and spec["info"]["shift"] == "distractor"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("task=fake/reahc", "did you mean fake/reach"),
        ("shift=obstacle", "has no shift 'obstacle'"),
        ("kind=lazy", "unknown kind 'lazy'"),
        ("episodes=0", "positive integer"),
        ("out=/proc/robo-x", "writable out="),
        ("imgsize=3", "bad override"),
        ("+params.sigma=1", "no parameter 'sigma'"),
        ("kind=rewind +params.trigger_progress=[0.6,0.3]", "lo <= hi"),
    ],
)
def test_collect_bad_input_is_one_line(override, message, fake_tasks, capsys, tmp_path):
    args = ["collect", "task=fake/reach", "episodes=1", f"out={tmp_path / 'ds'}", *override.split()]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "ds").exists()  # refused before the dataset is created


@pytest.mark.slow  # spawned workers re-import torch/lerobot: ~20 s idle, minutes on a busy box
@pytest.mark.timeout(300)
def test_collect_with_worker_processes(tmp_path, fake_tasks, capsys):
    out = tmp_path / "ds"
    args = ["collect", "task=fake/reach", "episodes=3", "workers=2", "kind=mixed", f"out={out}"]
    assert main(args) == 0
    assert "recorded 3" in capsys.readouterr().out
    entries = EpisodeReader(out).entries
    assert [e["seed"] for e in entries] == [0, 1, 2]  # written in seed order
    # Same episodes as in-process collection: seeds fix scene and suboptimality.
    assert (
        main(["collect", "task=fake/reach", "episodes=3", "kind=mixed", f"out={tmp_path / 'one'}"])
        == 0
    )
    single = EpisodeReader(tmp_path / "one")
    for i in range(3):
        a, b = EpisodeReader(out).read(i, images=False), single.read(i, images=False)
        assert a.kind == b.kind and len(a) == len(b)
        assert (a.action == b.action).all()
