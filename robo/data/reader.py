"""Read committed episodes of a robo dataset back as :class:`robo.types.Episode` objects.

Frames come from the LeRobot v3 files directly (pyarrow for parquet, PyAV for video), so one
episode decodes in one sequential pass per camera. Only episodes listed in
``meta/robo_episodes.jsonl`` are read: an episode that was being written when the process died
is never seen. The same folder also loads with ``LeRobotDataset(repo_id, root=root)``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from robo.data.schema import (
    IMAGE_KEY,
    STATE_KEY,
    DatasetError,
    DatasetSpec,
    read_sidecar,
    read_spec,
)
from robo.types import Episode

_SIDECAR_KEYS = {"episode_index", "task", "instruction", "kind", "seed", "length", "files"}


class EpisodeReader:
    """Random access to the committed episodes of the dataset at ``root``.

    Args:
        root: dataset folder written by :class:`robo.data.EpisodeWriter`.

    Attributes:
        spec: the dataset's :class:`DatasetSpec` (cameras, image size, fps, ...).
        entries: one sidecar dict per committed episode (kind, seed, params, ...).
    """

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise DatasetError(f"no dataset at {self.root}; hint: run `robo collect` first")
        self.spec: DatasetSpec = read_spec(self.root)
        self.entries: list[dict[str, Any]] = read_sidecar(self.root)
        self.info = json.loads((self.root / "meta/info.json").read_text())
        self._rows: dict[int, dict[str, Any]] | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Episode]:
        for i in range(len(self)):
            yield self.read(i)

    def lengths(self) -> np.ndarray:
        """int64[N]: frames per episode."""
        return np.array([int(e["length"]) for e in self.entries], dtype=np.int64)

    def read(self, i: int, cameras: Sequence[str] | None = None, images: bool = True) -> Episode:
        """Episode ``i`` with decoded frames (uint8[T, H, W, 3] per camera).

        Args:
            i: position in :attr:`entries` (equals the LeRobot ``episode_index``).
            cameras: subset of cameras to decode (default: all).
            images: False skips image decoding (``Episode.images`` is empty).
        """
        if not 0 <= i < len(self.entries):
            raise IndexError(f"episode {i} out of range: the dataset has {len(self.entries)}")
        entry = self.entries[i]
        index = int(entry["episode_index"])
        cams = tuple(cameras) if cameras is not None else self.spec.cameras
        unknown = [c for c in cams if c not in self.spec.cameras]
        if unknown:
            raise ValueError(f"unknown camera {unknown[0]!r}; dataset has {self.spec.cameras}")

        data_path = self.root / entry["files"]["data"]
        columns = [STATE_KEY, "action", "success", "progress_gt", "subtask", "timestamp"]
        if images and not self.spec.video:
            columns += [IMAGE_KEY + c for c in cams]
        table = pq.read_table(data_path, columns=columns, filters=[("episode_index", "=", index)])
        T = int(entry["length"])
        if table.num_rows != T:
            raise DatasetError(
                f"{data_path}: episode {index} has {table.num_rows} frames, sidecar says {T}"
            )
        col = {name: table.column(name).to_pylist() for name in table.column_names}

        frames: dict[str, np.ndarray] = {}
        if images:
            for cam in cams:
                key = IMAGE_KEY + cam
                if self.spec.video:
                    frames[cam] = self._video_frames(index, entry, key, T)
                else:
                    frames[cam] = np.stack([_decode_png(v["bytes"]) for v in col[key]])

        meta = {k: v for k, v in entry.items() if k not in _SIDECAR_KEYS}
        meta["subtask"] = np.asarray(col["subtask"], dtype=np.int64)
        meta["episode_index"] = index
        return Episode(
            task=str(entry["task"]),
            instruction=str(entry["instruction"]),
            kind=str(entry["kind"]),
            seed=int(entry["seed"]),
            images=frames,
            state=np.asarray(col[STATE_KEY], dtype=np.float32).reshape(T, -1),
            action=np.asarray(col["action"], dtype=np.float32).reshape(T, -1),
            success=np.asarray(col["success"], dtype=bool),
            progress_gt=np.asarray(col["progress_gt"], dtype=np.float32),
            timestamp=np.asarray(col["timestamp"], dtype=np.float64),
            subtask_boundaries=list(entry.get("subtask_boundaries", [])),
            meta=meta,
        )

    def _video_frames(self, index: int, entry: dict[str, Any], key: str, T: int) -> np.ndarray:
        row = self._episode_rows()[index]
        start = float(row[f"videos/{key}/from_timestamp"])
        path = self.root / entry["files"][key]
        frames = decode_video(path, start, T, self.spec.fps)
        return frames

    def _episode_rows(self) -> dict[int, dict[str, Any]]:
        """LeRobot's per-episode metadata rows (file locations, video offsets), by index."""
        if self._rows is None:
            rows: dict[int, dict[str, Any]] = {}
            for rel in sorted({e["files"]["episodes"] for e in self.entries}):
                table = pq.read_table(self.root / rel)
                keep = [c for c in table.column_names if not c.startswith("stats/")]
                for row in table.select(keep).to_pylist():
                    rows[int(row["episode_index"])] = row
            self._rows = rows
        return self._rows


def decode_video(path: Path, start_s: float, n: int, fps: int) -> np.ndarray:
    """uint8[n, H, W, 3]: ``n`` frames of ``path`` from ``start_s`` seconds at ``fps``."""
    import av

    tol = 0.5 / fps
    out: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if start_s > tol:
            container.seek(int(start_s / stream.time_base), stream=stream, backward=True)
        for frame in container.decode(stream):
            t = float(frame.pts * (frame.time_base or Fraction(1, fps)))
            if t < start_s - tol:
                continue
            out.append(frame.to_ndarray(format="rgb24"))
            if len(out) == n:
                break
    if len(out) != n:
        raise DatasetError(f"{path}: decoded {len(out)} frames from {start_s:.3f}s, expected {n}")
    return np.stack(out)


def _decode_png(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)


def read_episodes(
    root: str | Path, cameras: Sequence[str] | None = None, images: bool = True
) -> list[Episode]:
    """All committed episodes of the dataset at ``root`` (see :meth:`EpisodeReader.read`)."""
    reader = EpisodeReader(root)
    return [reader.read(i, cameras=cameras, images=images) for i in range(len(reader))]
