"""Crash-safe recording of a control-loop run as one LeRobotDataset episode.

LeRobot's writer buffers a whole episode in memory until ``save_episode``, so a run recorded
that way loses everything when the process dies. :class:`FrameJournal` instead appends every
frame the loop hands it to an on-disk journal as it happens (a writer thread, so the loop never
waits on the disk), and :func:`finalize_journal` turns the journal into one durable episode
with :class:`robo.data.writer.EpisodeWriter` when the run ends -- normally, on an e-stop or on a
bus fault. After a hard crash (killed process, power cut) the journal stays on disk and the next
``robo deploy record=<same dir>`` (or :func:`recover`) finalises it first.

Journal layout, next to the dataset (LeRobot owns the dataset folder itself)::

    <parent>/.<name>.deploy-journal/
        header.json   field layout (numpy dtype), dataset spec and episode metadata
        frames.bin    fixed-size records, one per tick, appended with ``os.write``

A record is: ``step`` int64, ``timestamp`` float64 [s, monotonic], ``state`` float32[2N] (joint
positions [rad] then velocities [rad/s]), ``action`` float32[N] (the command actually sent,
[rad]), ``requested`` float32[N] (what the policy asked for; may be NaN), ``interventions``
uint16 (bit i = :data:`~hardware.safety.INTERVENTION_KINDS` [i]), ``from_policy`` bool, and per
camera ``img_<name>`` uint8[S, S, 3] plus ``stamp_<name>`` float64 [s]. A record that was
half-written when the process died is ignored; every whole record is kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import queue
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np

from hardware.errors import HardwareError
from hardware.safety import INTERVENTION_KINDS

logger = logging.getLogger(__name__)

HEADER = "header.json"
FRAMES = "frames.bin"
VERSION = 1


def journal_dir(root: str | Path) -> Path:
    """The journal folder of the dataset at ``root``."""
    root = Path(root).expanduser().resolve()
    return root.parent / f".{root.name}.deploy-journal"


def intervention_bits(kinds: tuple[str, ...]) -> int:
    """Bit mask of intervention kinds (bit i = ``INTERVENTION_KINDS[i]``)."""
    return sum(1 << INTERVENTION_KINDS.index(k) for k in set(kinds) if k in INTERVENTION_KINDS)


def _record_dtype(n_state: int, n_action: int, cameras: dict[str, int]) -> np.dtype:
    fields: list[tuple[Any, ...]] = [
        ("step", "<i8"),
        ("timestamp", "<f8"),
        ("state", "<f4", (n_state,)),
        ("action", "<f4", (n_action,)),
        ("requested", "<f4", (n_action,)),
        ("interventions", "<u2"),
        ("from_policy", "?"),
    ]
    for name, size in cameras.items():
        fields.append((f"img_{name}", "u1", (size, size, 3)))
        fields.append((f"stamp_{name}", "<f8"))
    return np.dtype(fields)


def _dtype_to_json(dt: np.dtype) -> list[list[Any]]:
    return [[name, dt[name].base.str, list(dt[name].shape)] for name in dt.names or ()]


def _dtype_from_json(fields: list[list[Any]]) -> np.dtype:
    return np.dtype([(n, s, tuple(shape)) if shape else (n, s) for n, s, shape in fields])


class FrameJournal:
    """Append loop frames to the journal of the dataset at ``root`` as they happen.

    Args:
        root: the dataset folder (``record=``); the journal sits next to it.
        fps: control rate [Hz] (the dataset's fps).
        meta: episode metadata (task, instruction, robot, policy, ...), JSON-able.
        fsync_every_s: also ``fsync`` this often (power-loss safety); process crashes lose
            nothing already handed to the writer thread regardless.
        image_size: side of the recorded square images [px]; ``None``: the smallest side of
            the first frame's images. The dataset format stores one square size, so other
            images (e.g. 640x480 real cameras) are centre-cropped and resized.

    The layout (state/action sizes, cameras) is fixed by the first frame.
    """

    def __init__(
        self,
        root: str | Path,
        fps: float,
        meta: dict[str, Any] | None = None,
        fsync_every_s: float = 1.0,
        image_size: int | None = None,
    ):
        self.root = Path(root).expanduser().resolve()
        self.dir = journal_dir(self.root)
        if (self.dir / HEADER).exists():
            raise HardwareError(
                f"{self.dir} holds an unfinished recording (hint: run `robo deploy "
                f"record={self.root}` again or hardware.recording.recover() to finalise it)"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fps = float(fps)
        self.meta = dict(meta or {})
        self.fsync_every_s = fsync_every_s
        self.image_size = image_size
        self.frames_written = 0
        self.dtype: np.dtype | None = None
        self.cameras: dict[str, int] = {}
        self._fd = os.open(self.dir / FRAMES, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise HardwareError(
                f"another process is recording to {self.root} (hint: choose another record=)"
            ) from None
        self._queue: queue.Queue[Any] = queue.Queue()  # frames, then None to stop
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="journal", daemon=True)
        self._thread.start()

    # -- loop side ----------------------------------------------------------------------------
    def append(self, frame: Any) -> None:
        """Queue one :class:`hardware.loop.Frame` (never blocks on the disk; images are
        squared and packed in the writer thread)."""
        if self._error is not None:
            raise HardwareError(f"recording failed: {self._error} (hint: check disk space)")
        if self.dtype is None:
            self._start(frame)
        self._queue.put(frame)

    def _record(self, frame: Any) -> np.ndarray:
        assert self.dtype is not None
        rec = np.zeros((), dtype=self.dtype)
        rec["step"] = frame.step
        rec["timestamp"] = frame.timestamp
        rec["state"] = frame.state
        rec["action"] = frame.action
        rec["requested"] = frame.requested
        rec["interventions"] = intervention_bits(frame.interventions)
        rec["from_policy"] = frame.from_policy
        for name, side in self.cameras.items():
            img = frame.images.get(name)
            if img is not None and img.ndim == 3 and img.shape[2] == 3:
                rec[f"img_{name}"] = square_image(img, side)
                rec[f"stamp_{name}"] = frame.image_stamps.get(name, np.nan)
            else:
                rec[f"stamp_{name}"] = np.nan
        return rec

    def close(self, timeout_s: float = 10.0) -> int:
        """Write out the queue, ``fsync`` and close; returns the frames on disk."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=timeout_s)
        with contextlib.suppress(OSError):
            os.fsync(self._fd)
        with contextlib.suppress(OSError):
            os.close(self._fd)
        if self._error is not None:
            logger.error("recording: %s", self._error)
        return self.frames_written

    # -- internals ----------------------------------------------------------------------------
    def _start(self, frame: Any) -> None:
        sizes = {name: img.shape[:2] for name, img in frame.images.items()}
        if sizes:
            side = self.image_size or min(min(hw) for hw in sizes.values())
            self.cameras = {name: int(side) for name in sizes}
            if any(hw != (side, side) for hw in sizes.values()):
                logger.info("recording: images centre-cropped and resized to %d px", side)
        self.dtype = _record_dtype(len(frame.state), len(frame.action), self.cameras)
        header = {
            "version": VERSION,
            "fields": _dtype_to_json(self.dtype),
            "fps": self.fps,
            "cameras": list(self.cameras),
            "image_size": next(iter(self.cameras.values()), 0),
            "state_dim": len(frame.state),
            "action_dim": len(frame.action),
            "meta": self.meta,
        }
        tmp = self.dir / (HEADER + ".tmp")
        tmp.write_text(json.dumps(header, indent=1))
        os.replace(tmp, self.dir / HEADER)

    def _run(self) -> None:
        import time

        last_sync = time.monotonic()
        while True:
            frame = self._queue.get()
            if frame is None:
                return
            try:
                data = self._record(frame).tobytes()
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view) :]
                self.frames_written += 1
                if time.monotonic() - last_sync > self.fsync_every_s:
                    os.fsync(self._fd)
                    last_sync = time.monotonic()
            except OSError as err:
                self._error = err
                return


def square_image(img: np.ndarray, side: int) -> np.ndarray:
    """uint8[H, W, 3] -> uint8[side, side, 3]: centre crop to a square, then area resize."""
    h, w = img.shape[:2]
    m = min(h, w)
    top, left = (h - m) // 2, (w - m) // 2
    crop = img[top : top + m, left : left + m]
    if m == side:
        return crop
    import cv2

    return cv2.resize(np.ascontiguousarray(crop), (side, side), interpolation=cv2.INTER_AREA)


def read_journal(path: str | Path) -> tuple[dict[str, Any], np.ndarray]:
    """(header, records) of the journal folder ``path``; a torn last record is dropped."""
    path = Path(path)
    try:
        header = json.loads((path / HEADER).read_text())
        dtype = _dtype_from_json(header["fields"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise HardwareError(
            f"recording journal {path} is unreadable ({err}) (hint: move it away to continue)"
        ) from None
    raw = (path / FRAMES).read_bytes() if (path / FRAMES).exists() else b""
    whole = len(raw) // dtype.itemsize
    if whole * dtype.itemsize != len(raw):
        logger.warning("%s: dropped a half-written last frame", path)
    return header, np.frombuffer(raw[: whole * dtype.itemsize], dtype=dtype)


def finalize_journal(
    root: str | Path, video: bool = False, extra_meta: dict[str, Any] | None = None
) -> int | None:
    """Write the journal of ``root`` as one episode of the dataset at ``root``; remove it.

    Returns the episode index (``None`` when the journal held no frame). The actions are the
    commands actually sent; ``success`` is False and ``progress_gt`` NaN (no privileged labels
    on a deployed robot).
    """
    from robo.data.schema import DatasetSpec
    from robo.data.writer import EpisodeWriter
    from robo.types import Episode

    root = Path(root).expanduser().resolve()
    jdir = journal_dir(root)
    if not (jdir / HEADER).exists():
        shutil.rmtree(jdir, ignore_errors=True)  # created but no frame ever arrived
        return None
    header, recs = read_journal(jdir)
    if len(recs) == 0:
        shutil.rmtree(jdir, ignore_errors=True)
        return None
    meta = {**header.get("meta", {}), **(extra_meta or {})}
    cams = list(header["cameras"])
    T = len(recs)
    bits = recs["interventions"]
    meta["frames_with_interventions"] = int(np.count_nonzero(bits))
    meta["interventions_by_kind"] = {
        k: int(np.count_nonzero(bits & (1 << i))) for i, k in enumerate(INTERVENTION_KINDS)
    }
    meta["from_policy_frames"] = int(recs["from_policy"].sum())
    ep = Episode(
        task=str(meta.get("task", "deploy")),
        instruction=str(meta.get("instruction") or "deploy"),
        kind="policy",
        seed=int(meta.get("seed", 0)),
        images={c: np.ascontiguousarray(recs[f"img_{c}"]) for c in cams},
        state=np.ascontiguousarray(recs["state"], dtype=np.float32),
        action=np.ascontiguousarray(recs["action"], dtype=np.float32),
        success=np.zeros(T, dtype=bool),
        progress_gt=np.full(T, np.nan, dtype=np.float32),
        timestamp=recs["timestamp"].astype(np.float64),
        meta=meta,
    )
    spec = DatasetSpec(
        fps=int(round(float(header["fps"]))),
        cameras=tuple(cams),
        image_size=int(header["image_size"]),
        state_dim=int(header["state_dim"]),
        action_dim=int(header["action_dim"]),
        video=bool(video) and bool(cams),
        robot_type=str(meta.get("robot", "robot")),
        info={"task": ep.task, "source": "robo deploy"},
    )
    with EpisodeWriter.open(root, spec) as writer:
        index = writer.write(ep)
    shutil.rmtree(jdir)
    return index


def recover(root: str | Path, video: bool = False) -> int | None:
    """Finalise a journal a crashed run left for ``root`` (no-op when there is none)."""
    jdir = journal_dir(root)
    if not jdir.exists():
        return None
    fd = os.open(jdir / FRAMES, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise HardwareError(
                f"another process is recording to {root} (hint: choose another record=)"
            ) from None
        index = finalize_journal(root, video, {"stop_reason": "crash (recovered from journal)"})
    finally:
        os.close(fd)
    if index is not None:
        logger.warning("recovered an interrupted recording as episode %d of %s", index, root)
    return index
