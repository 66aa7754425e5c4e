import dataclasses
import json

import numpy as np
import pytest

from robo.data import DatasetError, EpisodeReader, EpisodeWriter, read_episodes
from robo.data.schema import SIDECAR_PATH


def _write(root, episodes, spec):
    with EpisodeWriter.open(root, spec) as writer:
        for ep in episodes:
            writer.write(ep)


@pytest.mark.parametrize("video", [True, False])
def test_round_trip(tmp_path, fake_episodes, same_labels, video):
    episodes, spec = fake_episodes
    spec = dataclasses.replace(spec, video=video)
    _write(tmp_path / "ds", episodes, spec)
    back = read_episodes(tmp_path / "ds")
    assert len(back) == len(episodes)
    for a, b in zip(episodes, back):
        same_labels(a, b)
        assert b.meta["params"] == json.loads(json.dumps(a.meta["params"]))
        assert b.meta["rewinds"] == a.meta["rewinds"]
        for cam in spec.cameras:
            assert b.images[cam].shape == a.images[cam].shape
            err = np.abs(b.images[cam].astype(float) - a.images[cam].astype(float)).mean()
            if video:
                assert err < 6.0, f"{cam}: mean abs error {err:.2f} after video coding"
            else:
                np.testing.assert_array_equal(b.images[cam], a.images[cam])
    assert back[1].kind == "rewind" and back[1].meta["rewinds"]
    assert not back[2].success.any()


def test_lerobot_loads_our_dataset(tmp_path, fake_episodes):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    episodes, spec = fake_episodes
    _write(tmp_path / "ds", episodes, spec)
    ds = LeRobotDataset("local/ds", root=tmp_path / "ds")
    assert ds.num_episodes == 3
    assert ds.num_frames == sum(len(e) for e in episodes)
    start = len(episodes[0])  # first frame of episode 1
    item = ds[start + 2]
    assert int(item["episode_index"]) == 1 and int(item["frame_index"]) == 2
    assert item["observation.images.front"].shape == (3, 32, 32)
    np.testing.assert_allclose(item["observation.state"].numpy(), episodes[1].state[2])
    assert item["progress_gt"].item() == pytest.approx(float(episodes[1].progress_gt[2]))
    assert item["task"] == episodes[1].instruction


def test_resume_appends_and_keeps_seeds(tmp_path, fake_episodes, same_labels):
    episodes, spec = fake_episodes
    _write(tmp_path / "ds", episodes[:2], spec)
    with EpisodeWriter.open(tmp_path / "ds", spec) as writer:
        assert writer.done_seeds() == {0, 1} and len(writer) == 2
        assert writer.write(episodes[2]) == 2
    reader = EpisodeReader(tmp_path / "ds")
    assert [e["seed"] for e in reader.entries] == [0, 1, 2]
    same_labels(reader.read(2), episodes[2])


def test_interrupted_episode_is_rolled_back(tmp_path, fake_episodes, monkeypatch):
    """An episode whose files were written but never committed disappears on re-open."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    episodes, spec = fake_episodes
    root = tmp_path / "ds"
    _write(root, episodes[:2], spec)
    writer = EpisodeWriter.open(root, spec)

    def die(*args, **kwargs):
        raise KeyboardInterrupt  # as if killed between LeRobot's save and our commit

    monkeypatch.setattr(EpisodeWriter, "_commit", die)
    with pytest.raises(KeyboardInterrupt):
        writer.write(episodes[2])
    monkeypatch.undo()
    writer._lock.close()  # a killed process holds no lock; its LeRobot writers just vanish
    # Debris a kill during encoding would leave: temp folders, PNG frames, a footer-less parquet.
    (root / "tmpabc123").mkdir()
    (root / "images/observation.images.front/episode-000003").mkdir(parents=True)
    (root / "data/chunk-000/file-009.parquet").write_bytes(b"PAR1 truncated")
    info = json.loads((root / "meta/info.json").read_text())
    assert info["total_episodes"] == 3  # LeRobot already counted the uncommitted episode

    with EpisodeWriter.open(root, spec) as writer:
        assert len(writer) == 2
    assert not (root / "tmpabc123").exists() and not (root / "images").exists()
    assert json.loads((root / "meta/info.json").read_text())["total_episodes"] == 2
    ds = LeRobotDataset("local/ds", root=root)
    assert ds.num_episodes == 2 and ds.num_frames == len(episodes[0]) + len(episodes[1])
    _write(root, episodes[2:], spec)
    assert len(EpisodeReader(root)) == 3
    assert LeRobotDataset("local/ds", root=root).num_episodes == 3


def test_bad_inputs(tmp_path, fake_episodes):
    episodes, spec = fake_episodes
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not a robo dataset"):
        EpisodeWriter.open(tmp_path / "other", spec)
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"
    _write(tmp_path / "ds", episodes[:1], spec)
    with pytest.raises(DatasetError, match="image_size"):
        EpisodeWriter.open(tmp_path / "ds", dataclasses.replace(spec, image_size=64))
    with pytest.raises(DatasetError, match="writable"):
        EpisodeWriter.open("/proc/robo-data-test", spec)
    with pytest.raises(DatasetError, match="robo collect"):
        EpisodeReader(tmp_path / "missing")
    bad = dataclasses.replace(episodes[0], state=episodes[0].state[:, :2])
    with (
        EpisodeWriter.open(tmp_path / "ds", spec) as writer,
        pytest.raises(ValueError, match="state"),
    ):
        writer.write(bad)
    assert len((tmp_path / "ds" / SIDECAR_PATH).read_text().splitlines()) == 1


def test_one_writer_at_a_time(tmp_path, fake_episodes):
    episodes, spec = fake_episodes
    with (
        EpisodeWriter.open(tmp_path / "ds", spec),
        pytest.raises(DatasetError, match="another process is writing"),
    ):
        EpisodeWriter.open(tmp_path / "ds", spec)
    with EpisodeWriter.open(tmp_path / "ds", spec) as writer:  # released on close
        writer.write(episodes[0])
