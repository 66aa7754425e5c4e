import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from robo.data import EpisodeWriter, FramePairDataset, read_episodes
from robo.types import hop_between


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory, fake_episodes):
    episodes, spec = fake_episodes
    root = tmp_path_factory.mktemp("pairs") / "ds"
    with EpisodeWriter.open(root, spec) as writer:
        for ep in episodes:
            writer.write(ep)
    return root


def test_items_match_the_episodes(dataset_root):
    episodes = read_episodes(dataset_root)
    ds = FramePairDataset(dataset_root, samples_per_epoch=40, seed=1)
    assert len(ds) == 40
    for k in range(40):
        item = ds[k]
        ep = episodes[int(item["episode"])]
        t1, t2 = int(item["t1"]), int(item["t2"])
        assert item["images1"].shape == (3, 3, 32, 32) and item["images1"].dtype == torch.uint8
        front = torch.from_numpy(ep.images["front"][t2]).permute(2, 0, 1)
        assert torch.equal(item["images2"][0], front)
        assert torch.equal(item["state1"], torch.from_numpy(ep.state[t1]))
        assert item["progress1"].item() == pytest.approx(float(ep.progress_gt[t1]))
        assert item["hop"].item() == pytest.approx(
            float(hop_between(ep.progress_gt[t1], ep.progress_gt[t2])), abs=1e-6
        )
        assert item["instruction"] == ep.instruction and item["kind"] == ep.kind
        assert int(item["length"]) == len(ep)


def test_ordered_and_max_gap(dataset_root):
    ds = FramePairDataset(dataset_root, samples_per_epoch=200, ordered=True, max_gap=3)
    pairs = np.array([ds.sample_indices(k)[1:] for k in range(200)])
    gaps = pairs[:, 1] - pairs[:, 0]
    assert gaps.min() >= 0 and gaps.max() <= 3 and (gaps > 0).any()
    free = FramePairDataset(dataset_root, samples_per_epoch=200)
    free_pairs = np.array([free.sample_indices(k)[1:] for k in range(200)])
    assert (free_pairs[:, 1] < free_pairs[:, 0]).any()  # backward pairs give negative hops
    ds.set_epoch(1)
    assert [ds.sample_indices(k) for k in range(20)] != [
        FramePairDataset(dataset_root, 200, ordered=True, max_gap=3).sample_indices(k)
        for k in range(20)
    ]


def test_dataloader_with_workers(dataset_root):
    ds = FramePairDataset(dataset_root, samples_per_epoch=24, cache_episodes=2)
    loader = DataLoader(ds, batch_size=8, num_workers=2, shuffle=False)
    batches = list(loader)
    assert len(batches) == 3
    batch = batches[0]
    assert batch["images1"].shape == (8, 3, 3, 32, 32)
    assert batch["state2"].shape == (8, 3) and len(batch["instruction"]) == 8
    # Same pairs whatever process drew them.
    t1 = torch.cat([b["t1"] for b in batches])
    assert t1.tolist() == [ds.sample_indices(k)[1] for k in range(24)]


def test_bad_arguments(dataset_root, tmp_path):
    with pytest.raises(ValueError, match="camera"):
        FramePairDataset(dataset_root, cameras=("top",))
    with pytest.raises(ValueError, match="max_gap"):
        FramePairDataset(dataset_root, max_gap=-1)
    with pytest.raises(ValueError, match="robo collect"):
        FramePairDataset(tmp_path / "nothing")
