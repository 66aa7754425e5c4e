"""Random frame pairs for training progress / hop models: :class:`FramePairDataset`.

Each item is two frames ``t1``, ``t2`` of one episode with every camera view, the state, the
instruction and the progress labels. Episodes are decoded once per worker process and kept in
a small LRU cache (``cache_episodes``), so a DataLoader with ``num_workers > 0`` decodes each
video a few times per epoch rather than once per sample.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from robo.data.reader import EpisodeReader
from robo.types import Episode, hop_between


class FramePairDataset(Dataset):
    """Pairs ``(t1, t2)`` of frames within an episode, sampled at random.

    Item ``k`` draws an episode (weighted by length) and two frames from an rng seeded by
    ``(seed, epoch, k)``, so a fixed ``epoch`` gives the same pairs in any worker layout; call
    :meth:`set_epoch` to draw new pairs.

    Args:
        roots: one dataset folder or several (their cameras and image sizes must agree).
        samples_per_epoch: ``len(self)``; default = total frames.
        max_gap: largest ``|t2 - t1|`` in frames (None = anywhere in the episode).
        ordered: if True, ``t1 <= t2`` (forward pairs only); else either order.
        cameras: views to return (default: the dataset's cameras, in order).
        cache_episodes: decoded episodes kept per process (LRU).
        seed: base seed of the pair draws.

    Item (tensors; collate into a batch with the default ``collate_fn``):
        ``images1`` / ``images2``: uint8[V, 3, H, W] in ``cameras`` order;
        ``state1`` / ``state2``: float32[D]; ``t1`` / ``t2``: int64 frame indices;
        ``progress1`` / ``progress2``: float32 privileged progress (NaN where unknown);
        ``hop``: float32 hop from progress1 to progress2 (:func:`robo.types.hop_between`);
        ``time1`` / ``time2``: float32 ``t / (T - 1)``; ``success1`` / ``success2``: bool;
        ``length``: int64 T; ``episode``: int64 index into the combined episode list;
        ``instruction``, ``kind``, ``task``: str.
    """

    def __init__(
        self,
        roots: str | Path | Sequence[str | Path],
        samples_per_epoch: int | None = None,
        max_gap: int | None = None,
        ordered: bool = False,
        cameras: Sequence[str] | None = None,
        cache_episodes: int = 16,
        seed: int = 0,
    ):
        roots = [roots] if isinstance(roots, str | Path) else list(roots)
        if not roots:
            raise ValueError("FramePairDataset needs at least one dataset folder")
        self.readers = [EpisodeReader(r) for r in roots]
        first = self.readers[0].spec
        self.cameras = tuple(cameras) if cameras is not None else first.cameras
        for reader in self.readers:
            missing = [c for c in self.cameras if c not in reader.spec.cameras]
            if missing or reader.spec.image_size != first.image_size:
                raise ValueError(
                    f"{reader.root}: cameras {reader.spec.cameras} / image size "
                    f"{reader.spec.image_size} do not match {self.cameras} / {first.image_size}"
                )
        self.index = [(r, i) for r, reader in enumerate(self.readers) for i in range(len(reader))]
        if not self.index:
            raise ValueError(f"no episodes in {', '.join(str(r) for r in roots)}")
        self.lengths = np.concatenate([reader.lengths() for reader in self.readers])
        self.weights = self.lengths / self.lengths.sum()
        self.samples_per_epoch = int(samples_per_epoch or self.lengths.sum())
        if max_gap is not None and max_gap < 0:
            raise ValueError(f"max_gap={max_gap} must be >= 0 frames")
        self.max_gap = max_gap
        self.ordered = ordered
        self.cache_episodes = max(1, int(cache_episodes))
        self.seed = int(seed)
        self.epoch = 0
        self._cache: OrderedDict[int, Episode] = OrderedDict()

    def __len__(self) -> int:
        return self.samples_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Draw a different set of pairs (call once per epoch, before iterating)."""
        self.epoch = int(epoch)

    def __getstate__(self) -> dict[str, Any]:
        # Workers start with an empty cache instead of receiving decoded frames.
        state = self.__dict__.copy()
        state["_cache"] = OrderedDict()
        return state

    def episode(self, e: int) -> Episode:
        """Decoded episode ``e`` of the combined list (cached)."""
        if e in self._cache:
            self._cache.move_to_end(e)
            return self._cache[e]
        r, i = self.index[e]
        ep = self.readers[r].read(i, cameras=self.cameras)
        self._cache[e] = ep
        while len(self._cache) > self.cache_episodes:
            self._cache.popitem(last=False)
        return ep

    def sample_indices(self, k: int) -> tuple[int, int, int]:
        """``(episode, t1, t2)`` of item ``k`` for the current epoch."""
        rng = np.random.default_rng((self.seed, self.epoch, k))
        e = int(rng.choice(len(self.index), p=self.weights))
        T = int(self.lengths[e])
        t1 = int(rng.integers(T))
        lo, hi = 0, T - 1
        if self.max_gap is not None:
            lo, hi = max(0, t1 - self.max_gap), min(T - 1, t1 + self.max_gap)
        if self.ordered:
            lo = t1
        t2 = int(rng.integers(lo, hi + 1))
        return e, t1, t2

    def __getitem__(self, k: int) -> dict[str, Any]:
        if not 0 <= k < len(self):
            raise IndexError(f"item {k} out of range [0, {len(self)})")
        e, t1, t2 = self.sample_indices(k)
        ep = self.episode(e)
        T = len(ep)
        p1, p2 = float(ep.progress_gt[t1]), float(ep.progress_gt[t2])
        hop = float(hop_between(p1, p2)) if np.isfinite(p1) and np.isfinite(p2) else np.nan

        def views(t: int) -> torch.Tensor:
            stack = np.stack([ep.images[c][t] for c in self.cameras])  # [V, H, W, 3]
            return torch.from_numpy(np.ascontiguousarray(stack.transpose(0, 3, 1, 2)))

        return {
            "images1": views(t1),
            "images2": views(t2),
            "state1": torch.from_numpy(ep.state[t1].copy()),
            "state2": torch.from_numpy(ep.state[t2].copy()),
            "t1": torch.tensor(t1, dtype=torch.int64),
            "t2": torch.tensor(t2, dtype=torch.int64),
            "progress1": torch.tensor(p1, dtype=torch.float32),
            "progress2": torch.tensor(p2, dtype=torch.float32),
            "hop": torch.tensor(hop, dtype=torch.float32),
            "time1": torch.tensor(t1 / max(T - 1, 1), dtype=torch.float32),
            "time2": torch.tensor(t2 / max(T - 1, 1), dtype=torch.float32),
            "success1": torch.tensor(bool(ep.success[t1])),
            "success2": torch.tensor(bool(ep.success[t2])),
            "length": torch.tensor(T, dtype=torch.int64),
            "episode": torch.tensor(e, dtype=torch.int64),
            "instruction": ep.instruction,
            "kind": ep.kind,
            "task": ep.task,
        }
