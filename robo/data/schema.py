"""What a robo episode dataset holds: LeRobotDataset v3 features plus robo's sidecar files.

Layout (``root/``)::

    data/ videos/ meta/info.json meta/stats.json meta/tasks.parquet meta/episodes/   (LeRobot v3)
    meta/robo_dataset.json     dataset spec (task, cameras, image size, fps, storage)
    meta/robo_episodes.jsonl   one JSON line per *committed* episode (kind, seed, params, ...)
    meta/robo_snapshots/       info/stats/tasks as of the last commit (for crash recovery)

Per-frame features: ``observation.images.<camera>`` (uint8 [H, W, 3], video or image),
``observation.state`` float32[D], ``action`` float32[A] (the action taken at this frame),
``success`` bool, ``progress_gt`` float32 (privileged progress in [0, 1], NaN where unknown),
``subtask`` int64 (stage index, -1 where unknown); the instruction is the frame's task string.
An episode of T frames holds the T-1 observations the expert acted on plus the final
observation; the final frame's action is the env's ``hold_action()`` and is never executed.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "robo-episodes/1"
SPEC_PATH = "meta/robo_dataset.json"
SIDECAR_PATH = "meta/robo_episodes.jsonl"
SNAPSHOT_DIR = "meta/robo_snapshots"
IMAGE_KEY = "observation.images."
STATE_KEY = "observation.state"
SVTAV1_MIN_SIZE = 32  # [px]


class DatasetError(ValueError):
    """A dataset on disk that cannot be used as asked (one line with a hint)."""


@dataclass(frozen=True)
class DatasetSpec:
    """Shape of the episodes a dataset holds; fixed when the dataset is created.

    Attributes:
        fps: frames per second (``round(1 / control_dt)`` of the task) [Hz].
        cameras: camera names, in order (``front``, ``side``, ``wrist``).
        image_size: side of the square images [px].
        state_dim: D of ``observation.state``.
        action_dim: A of ``action``.
        video: store images as AV1 video (True) or PNG inside the parquet files (False).
        vcodec: video codec passed to LeRobot (``libsvtav1``, ``h264``, ...).
        robot_type: LeRobot's ``robot_type`` field (the task family).
        info: free-form dataset facts (task name, shift, control_dt, ...), JSON-able.
    """

    fps: int
    cameras: tuple[str, ...]
    image_size: int
    state_dim: int
    action_dim: int
    video: bool = True
    vcodec: str = "libsvtav1"
    robot_type: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Raise :class:`DatasetError` for settings the video encoders cannot handle."""
        if not self.video:
            return
        if self.image_size % 2:
            raise DatasetError(
                f"video needs an even image_size, got {self.image_size}; "
                "hint: use an even size or video=false"
            )
        if self.vcodec == "libsvtav1" and self.image_size < SVTAV1_MIN_SIZE:
            # SVT-AV1 dies with SIGFPE below this size instead of raising.
            raise DatasetError(
                f"libsvtav1 needs images of at least {SVTAV1_MIN_SIZE} px, got "
                f"{self.image_size}; hint: vcodec=h264 or video=false"
            )

    def features(self) -> dict[str, dict[str, Any]]:
        """LeRobot feature dict for :meth:`LeRobotDataset.create`."""
        s = self.image_size
        feats: dict[str, dict[str, Any]] = {
            IMAGE_KEY + cam: {
                "dtype": "video" if self.video else "image",
                "shape": (s, s, 3),
                "names": ["height", "width", "channels"],
            }
            for cam in self.cameras
        }
        feats[STATE_KEY] = {"dtype": "float32", "shape": (self.state_dim,), "names": None}
        feats["action"] = {"dtype": "float32", "shape": (self.action_dim,), "names": None}
        feats["success"] = {"dtype": "bool", "shape": (1,), "names": None}
        feats["progress_gt"] = {"dtype": "float32", "shape": (1,), "names": None}
        feats["subtask"] = {"dtype": "int64", "shape": (1,), "names": None}
        return feats

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self), "cameras": list(self.cameras)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DatasetSpec:
        data = {k: v for k, v in data.items() if k != "format"}
        return cls(**{**data, "cameras": tuple(data["cameras"])})

    def mismatch(self, other: DatasetSpec) -> str | None:
        """The first field (besides ``info``) where two specs differ, as ``name: a != b``."""
        for name in ("fps", "cameras", "image_size", "state_dim", "action_dim", "video"):
            a, b = getattr(self, name), getattr(other, name)
            if a != b:
                return f"{name}: {a} != {b}"
        for name in ("task", "shift"):
            a, b = self.info.get(name), other.info.get(name)
            if a != b:
                return f"{name}: {a} != {b}"
        return None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so readers see the old or the new file, never a partial one."""
    write_text_atomic(path, json.dumps(data, indent=1, allow_nan=True))


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temp file in the same folder, fsync it, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_sidecar(root: Path) -> list[dict[str, Any]]:
    """The committed episodes' metadata lines (empty if none)."""
    path = Path(root) / SIDECAR_PATH
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_spec(root: Path) -> DatasetSpec:
    """The dataset's :class:`DatasetSpec`, or :class:`DatasetError` if ``root`` holds none."""
    path = Path(root) / SPEC_PATH
    if not path.exists():
        raise DatasetError(
            f"{root} is not a robo episode dataset (no {SPEC_PATH}); "
            "hint: point at a folder written by `robo collect`"
        )
    return DatasetSpec.from_json(json.loads(path.read_text()))
