"""Integration: record a real task (SO-101 reach, else Meta-World reach) and read it back."""

import numpy as np
import pytest

import sims
from robo.data import EpisodeReader
from robo.data.collect import collect


@pytest.mark.timeout(300)
def test_collect_real_task_round_trip(tmp_path):
    names = [t for t in ("so101/reach", "metaworld/reach") if t in sims.list_tasks()]
    if not names:
        pytest.skip("no real task family registered")
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    out = tmp_path / "real"
    result = collect(names[0], 2, out, kind="rewind", overrides={"image_size": 32})
    assert result.recorded == 2
    reader = EpisodeReader(out)
    ep = reader.read(0)
    assert ep.task == names[0] and ep.kind == "rewind"
    assert set(ep.images) == {"front", "side", "wrist"}
    assert ep.images["wrist"].shape == (len(ep), 32, 32, 3)
    assert ep.images["front"].std() > 1.0
    assert np.isfinite(ep.progress_gt).all() and 0.0 <= ep.progress_gt.min() <= 1.0
    assert ep.meta["rewinds"], "progress was made, so the expert rewound"
    start, end = ep.meta["rewinds"][0]
    assert ep.progress_gt[min(end, len(ep) - 1)] < ep.progress_gt[start]
    ds = LeRobotDataset("local/real", root=out)
    assert ds.num_episodes == 2 and ds.fps == reader.spec.fps
