"""Record :class:`robo.types.Episode` objects into a LeRobotDataset v3, one durable episode at a time.

LeRobot's own writer (``LeRobotDataset.create / add_frame / save_episode / finalize``) does the
work. It keeps parquet writers open and buffers episode metadata until ``finalize()``, so a
killed process would lose every episode since the last finalize. :class:`EpisodeWriter`
therefore finalizes after *each* episode and lets the next episode start new files (the same
path LeRobot takes when it resumes a dataset), then commits:

1. ``meta/robo_snapshots/<n>.json``: info/stats/tasks after episode n-1, written atomically;
2. ``meta/robo_episodes.jsonl`` rewritten atomically with the new line: the commit point.

Opening an existing dataset rolls back whatever an interrupted episode left behind (files no
committed episode references, info/stats/tasks past the last commit), so a re-run resumes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from robo.data.schema import (
    IMAGE_KEY,
    SIDECAR_PATH,
    SNAPSHOT_DIR,
    SPEC_PATH,
    STATE_KEY,
    DatasetError,
    DatasetSpec,
    read_sidecar,
    read_spec,
    write_json_atomic,
    write_text_atomic,
)
from robo.data.threads import restore_scheduling
from robo.types import Episode

_ROLLBACK_DIRS = ("data", "meta/episodes", "videos", "images")
LOCK_NAME = "robo-writer.lock"


def _quiet() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints a banner per encode otherwise
    import datasets

    datasets.disable_progress_bars()
    logging.getLogger("libav").setLevel(logging.ERROR)


class EpisodeWriter:
    """Append episodes to the dataset at ``root`` (created, or resumed after recovery).

    Usage::

        with EpisodeWriter.open(root, spec) as writer:
            if seed not in writer.done_seeds():
                writer.write(episode)

    Args:
        root: dataset folder (created if missing; must be empty or a robo dataset).
        spec: what the episodes look like; must match an existing dataset's spec.
        repo_id: LeRobot repo id; local only (``local/<folder name>``), never pushed.
    """

    def __init__(self, root: Path, spec: DatasetSpec, dataset: Any, entries: list[dict], lock: Any):
        self.root = Path(root)
        self.spec = spec
        self.dataset = dataset
        self.entries = entries
        self._lock = lock

    # -- opening -----------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | Path, spec: DatasetSpec, repo_id: str | None = None) -> EpisodeWriter:
        """Create the dataset, or resume it after rolling back an interrupted episode.

        Raises:
            DatasetError: ``root`` cannot be written, holds something else, or holds a dataset
                with another spec.
        """
        _quiet()
        spec.check()

        root = Path(root).expanduser().resolve()
        repo_id = repo_id or f"local/{root.name}"
        _check_writable(root)
        lock = _lock(root)
        try:
            return cls._open_locked(root, spec, repo_id, lock)
        except BaseException:
            lock.close()
            raise

    @classmethod
    def _open_locked(cls, root: Path, spec: DatasetSpec, repo_id: str, lock: Any) -> EpisodeWriter:
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        if root.exists() and not (root / SPEC_PATH).exists():
            files = [p for p in root.rglob("*") if p.is_file()]
            # A creation killed before the spec was written leaves at most meta/info.json.
            if any(p.relative_to(root).as_posix() != "meta/info.json" for p in files):
                raise DatasetError(
                    f"output folder {root} exists and is not a robo dataset; "
                    "hint: choose another out= or remove it"
                )
            _clear(root)
        if (root / SPEC_PATH).exists():
            old = read_spec(root)
            diff = old.mismatch(spec)
            if diff:
                raise DatasetError(
                    f"{root} holds a dataset with other settings ({diff}); "
                    "hint: use the same options to resume, or another out="
                )
            entries = _recover(root)
            if entries:
                ds = LeRobotDataset(repo_id, root=root, vcodec=old.vcodec)
                return cls(root, old, ds, entries, lock)
            _clear(root)
        root.rmdir()  # LeRobot creates the folder itself
        ds = LeRobotDataset.create(
            repo_id,
            fps=spec.fps,
            features=spec.features(),
            root=root,
            robot_type=spec.robot_type,
            use_videos=spec.video,
            vcodec=spec.vcodec,
            metadata_buffer_size=1,
        )
        write_json_atomic(root / SPEC_PATH, spec.to_json())
        _write_snapshot(root, 0)
        write_text_atomic(root / SIDECAR_PATH, "")
        return cls(root, spec, ds, [], lock)

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- state -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.entries)

    def done_seeds(self) -> set[int]:
        """Seeds of the committed episodes (a re-run skips them)."""
        return {int(e["seed"]) for e in self.entries if e.get("seed") is not None}

    # -- writing -----------------------------------------------------------------------
    def write(self, episode: Episode) -> int:
        """Save one episode durably and return its ``episode_index``.

        ``episode.meta`` goes to the sidecar line (JSON-able values); ``episode.meta["subtask"]``
        (int64[T], optional) fills the per-frame ``subtask`` column (-1 where absent).
        """
        self._check(episode)
        ds = self.dataset
        T = len(episode)
        subtask = np.asarray(episode.meta.get("subtask", np.full(T, -1)), dtype=np.int64)
        for t in range(T):
            frame: dict[str, Any] = {
                IMAGE_KEY + cam: episode.images[cam][t] for cam in self.spec.cameras
            }
            frame[STATE_KEY] = np.asarray(episode.state[t], dtype=np.float32)
            frame["action"] = np.asarray(episode.action[t], dtype=np.float32)
            frame["success"] = np.array([bool(episode.success[t])])
            frame["progress_gt"] = np.array([episode.progress_gt[t]], dtype=np.float32)
            frame["subtask"] = np.array([subtask[t]], dtype=np.int64)
            frame["task"] = episode.instruction
            ds.add_frame(frame)
        with warnings.catch_warnings():
            # LeRobot's stats cast the bool `success` column to uint8 and says so per episode.
            warnings.filterwarnings("ignore", message="Converting input from bool")
            _quiet()  # LeRobot re-enables datasets' progress bars after loading
            with restore_scheduling():  # SVT-AV1 leaves its threads under SCHED_FIFO 99
                ds.save_episode(parallel_encoding=False)
                ds.finalize()
        # The next episode goes to new files, as when LeRobot resumes a dataset: its writers
        # reopen from meta.episodes[-1] instead of appending to the closed files.
        row = {k: (v[0] if isinstance(v, list) else v) for k, v in ds.meta.latest_episode.items()}
        ds.meta.episodes = [row]
        ds.meta.latest_episode = None
        ds.latest_episode = None
        index = int(row["episode_index"])
        self._commit(episode, row, index)
        return index

    def close(self) -> None:
        """Release LeRobot's writers (every written episode is already durable)."""
        if self.dataset is not None:
            with restore_scheduling():
                self.dataset.finalize()
            self.dataset = None
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None

    # -- internals ---------------------------------------------------------------------
    def _check(self, ep: Episode) -> None:
        T = len(ep)
        if T < 1:
            raise ValueError("cannot write an empty episode (0 frames)")
        for cam in self.spec.cameras:
            if cam not in ep.images:
                raise ValueError(f"episode lacks camera {cam!r}; has {sorted(ep.images)}")
            shape = ep.images[cam].shape
            s = self.spec.image_size
            if shape != (T, s, s, 3) or ep.images[cam].dtype != np.uint8:
                raise ValueError(f"images[{cam!r}] must be uint8[{T}, {s}, {s}, 3], got {shape}")
        if ep.state.shape != (T, self.spec.state_dim):
            raise ValueError(f"state must be [{T}, {self.spec.state_dim}], got {ep.state.shape}")
        if ep.action.shape != (T, self.spec.action_dim):
            raise ValueError(f"action must be [{T}, {self.spec.action_dim}], got {ep.action.shape}")

    def _commit(self, ep: Episode, row: dict[str, Any], index: int) -> None:
        files = {
            "data": self.dataset.meta.data_path.format(
                chunk_index=row["data/chunk_index"], file_index=row["data/file_index"]
            ),
            "episodes": "meta/episodes/chunk-{:03d}/file-{:03d}.parquet".format(
                row["meta/episodes/chunk_index"], row["meta/episodes/file_index"]
            ),
        }
        if self.spec.video:
            for cam in self.spec.cameras:
                key = IMAGE_KEY + cam
                files[key] = self.dataset.meta.video_path.format(
                    video_key=key,
                    chunk_index=row[f"videos/{key}/chunk_index"],
                    file_index=row[f"videos/{key}/file_index"],
                )
        meta = {k: _jsonable(v) for k, v in ep.meta.items() if k != "subtask"}
        entry = {
            "episode_index": index,
            "task": ep.task,
            "instruction": ep.instruction,
            "kind": ep.kind,
            "seed": int(ep.seed),
            "length": len(ep),
            "success": bool(np.any(ep.success)),
            "subtask_boundaries": [int(b) for b in ep.subtask_boundaries],
            **meta,
            "files": files,
        }
        n = len(self.entries) + 1
        _write_snapshot(self.root, n)
        lines = [json.dumps(e, allow_nan=True) for e in [*self.entries, entry]]
        write_text_atomic(self.root / SIDECAR_PATH, "\n".join(lines) + "\n")
        self.entries.append(entry)
        (self.root / SNAPSHOT_DIR / f"{n - 1:06d}.json").unlink(missing_ok=True)


def repair(root: str | Path) -> int:
    """Roll the dataset at ``root`` back to its last committed episode; return how many.

    Needed only to load a dataset with plain ``LeRobotDataset`` right after a killed
    collection (the robo reader and a resumed ``robo collect`` do it themselves).
    """
    root = Path(root).expanduser().resolve()
    read_spec(root)
    lock = _lock(root)
    try:
        return len(_recover(root))
    finally:
        lock.close()


def _lock(root: Path) -> Any:
    """Hold an exclusive flock for ``root`` (one writer per dataset; released when killed).

    The lock file sits next to the dataset (``.<name>.robo-writer.lock``) because LeRobot
    recreates the dataset folder itself.
    """
    import fcntl

    handle = (root.parent / f".{root.name}.{LOCK_NAME}").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DatasetError(
            f"another process is writing to {root}; hint: wait for it or choose another out="
        ) from None
    return handle


def _clear(root: Path) -> None:
    """Empty ``root`` (a creation that never committed), keeping the folder."""
    for path in root.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def _check_writable(root: Path) -> None:
    """Create ``root`` (if needed) and probe that files can be written there."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".robo-write-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise DatasetError(
            f"cannot write to output folder {root} ({err.strerror or err}); "
            "hint: choose a writable out="
        ) from None


def _write_snapshot(root: Path, n: int) -> None:
    """Save info/stats/tasks as they are with ``n`` committed episodes."""
    snap: dict[str, Any] = {"episodes": n}
    snap["info"] = json.loads((root / "meta/info.json").read_text())
    stats = root / "meta/stats.json"
    snap["stats"] = json.loads(stats.read_text()) if stats.exists() else None
    tasks = root / "meta/tasks.parquet"
    if tasks.exists():
        df = pd.read_parquet(tasks)
        snap["tasks"] = [[str(t), int(i)] for t, i in zip(df.index, df["task_index"])]
    else:
        snap["tasks"] = []
    write_json_atomic(root / SNAPSHOT_DIR / f"{n:06d}.json", snap)


def _recover(root: Path) -> list[dict[str, Any]]:
    """Roll ``root`` back to its last commit; return the committed episodes' lines."""
    entries = read_sidecar(root)
    n = len(entries)
    snap_path = root / SNAPSHOT_DIR / f"{n:06d}.json"
    if not snap_path.exists():
        raise DatasetError(
            f"{root}: no snapshot for {n} committed episodes ({snap_path.name}); "
            "the dataset was changed by hand; hint: collect into a new out="
        )
    keep = {f for e in entries for f in e["files"].values()}
    removed = 0
    for top in _ROLLBACK_DIRS:
        base = root / top
        if not base.exists():
            continue
        for path in sorted(base.rglob("*"), reverse=True):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in keep:
                path.unlink()
                removed += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        if not any(base.iterdir()):
            base.rmdir()
    for path in root.glob("tmp*"):  # LeRobot's temporary encoding folders
        if path.is_dir():
            shutil.rmtree(path)
            removed += 1
    for path in (root / SNAPSHOT_DIR).glob("*.json"):
        if path != snap_path:
            path.unlink()
    snap = json.loads(snap_path.read_text())
    write_json_atomic(root / "meta/info.json", snap["info"])
    if snap["stats"] is not None:
        write_json_atomic(root / "meta/stats.json", snap["stats"])
    tasks = root / "meta/tasks.parquet"
    if snap["tasks"]:
        names = [t for t, _ in snap["tasks"]]
        df = pd.DataFrame({"task_index": [i for _, i in snap["tasks"]]}, index=names)
        tmp = tasks.with_suffix(".parquet.tmp")
        df.to_parquet(tmp)
        os.replace(tmp, tasks)
    if removed:
        logging.getLogger(__name__).warning(
            "%s: rolled back an interrupted episode (%d stray files removed)", root, removed
        )
    return entries


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
