"""Crash-safe recording: frames reach the on-disk journal as they happen and become one
LeRobotDataset episode at the end of a run, after a fault, or after a killed process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hardware.errors import HardwareError
from hardware.loop import Frame
from hardware.recording import (
    FrameJournal,
    finalize_journal,
    intervention_bits,
    journal_dir,
    read_journal,
    recover,
)

REPO = Path(__file__).resolve().parents[2]


def _frame(i: int, cams: tuple[str, ...] = ("front",), size: int = 8) -> Frame:
    q = np.full(6, 0.01 * i)
    return Frame(
        step=i,
        timestamp=100.0 + i / 30,
        state=np.concatenate([q, np.zeros(6)]).astype(np.float32),
        images={c: np.full((size, size, 3), i % 255, np.uint8) for c in cams},
        image_stamps={c: 100.0 + i / 30 for c in cams},
        action=q + 0.001,
        requested=np.full(6, np.nan) if i == 3 else q,
        interventions=("nonfinite",) if i == 3 else (),
        from_policy=i > 1,
    )


def _dataset_rows(root: Path) -> pd.DataFrame:
    return pd.concat(pd.read_parquet(p) for p in sorted((root / "data").rglob("*.parquet")))


def test_journal_becomes_one_episode(tmp_path):
    root = tmp_path / "rec"
    journal = FrameJournal(root, fps=30, meta={"robot": "so101_sim", "task": "deploy/x"})
    for i in range(12):
        journal.append(_frame(i))
    assert journal.close() == 12
    header, recs = read_journal(journal_dir(root))
    assert header["cameras"] == ["front"] and len(recs) == 12
    assert recs["interventions"][3] == intervention_bits(("nonfinite",))
    index = finalize_journal(root, extra_meta={"stop_reason": "duration"})
    assert index == 0 and not journal_dir(root).exists()
    df = _dataset_rows(root)
    assert len(df) == 12
    np.testing.assert_allclose(np.stack(df["action"].to_numpy())[5], _frame(5).action, rtol=1e-6)
    assert np.stack(df["observation.state"].to_numpy()).shape == (12, 12)
    entry = json.loads((root / "meta" / "robo_episodes.jsonl").read_text().splitlines()[0])
    assert entry["stop_reason"] == "duration" and entry["interventions_by_kind"]["nonfinite"] == 1
    assert entry["from_policy_frames"] == 10 and entry["length"] == 12


def test_torn_last_record_is_dropped_and_second_writer_refused(tmp_path):
    root = tmp_path / "rec"
    journal = FrameJournal(root, fps=30, meta={})
    for i in range(4):
        journal.append(_frame(i, cams=()))
    with pytest.raises(HardwareError, match="unfinished recording"):
        FrameJournal(root, fps=30)  # the header of the running journal exists
    journal.close()
    with open(journal_dir(root) / "frames.bin", "ab") as f:
        f.write(b"\x01\x02\x03")  # a record cut short by a crash
    _, recs = read_journal(journal_dir(root))
    assert len(recs) == 4 and list(recs["step"]) == [0, 1, 2, 3]


def test_killed_process_loses_no_handed_over_frame(tmp_path):
    """SIGKILL mid-run: every frame the loop handed over (and the writer confirmed) survives."""
    root = tmp_path / "rec"
    progress = tmp_path / "progress"
    child = textwrap.dedent(
        f"""
        import sys, time, os
        sys.path.insert(0, {str(REPO / "tests" / "hardware")!r})
        from test_recording import _frame
        from hardware.recording import FrameJournal
        j = FrameJournal({str(root)!r}, fps=30, meta={{"robot": "mock"}})
        for i in range(10_000):
            j.append(_frame(i))
            time.sleep(0.005)
            with open({str(progress)!r} + ".tmp", "w") as f:
                f.write(str(j.frames_written))
            os.replace({str(progress)!r} + ".tmp", {str(progress)!r})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child], cwd=REPO)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if progress.exists() and int(progress.read_text() or 0) >= 20:
                break
            time.sleep(0.05)
        confirmed = int(progress.read_text())
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert confirmed >= 20
    index = recover(root)
    assert index == 0
    df = _dataset_rows(root)
    assert len(df) >= confirmed
    assert list(df["frame_index"]) == list(range(len(df)))
    entry = json.loads((root / "meta" / "robo_episodes.jsonl").read_text().splitlines()[0])
    assert entry["stop_reason"].startswith("crash")
    assert recover(root) is None  # nothing left to recover


def test_recover_refuses_a_live_recording(tmp_path):
    root = tmp_path / "rec"
    journal = FrameJournal(root, fps=30)
    journal.append(_frame(0))
    try:
        with pytest.raises(HardwareError, match="another process is recording"):
            recover(root)
    finally:
        journal.close()
    assert os.path.exists(journal_dir(root))


def test_real_camera_sizes_are_squared(tmp_path):
    """640x480-style frames (and mixed sizes) are centre-cropped and resized, not dropped."""
    root = tmp_path / "rec"
    journal = FrameJournal(root, fps=30, image_size=16)
    for i in range(3):
        f = _frame(i, cams=())
        wide = np.zeros((24, 32, 3), np.uint8)
        wide[:, 4:28] = 200  # the centre square is bright, the side bands dark
        f.images.update({"front": wide, "wrist": np.full((20, 20, 3), 50, np.uint8)})
        f.image_stamps.update({"front": 1.0, "wrist": 1.0})
        journal.append(f)
    journal.close()
    header, recs = read_journal(journal_dir(root))
    assert header["cameras"] == ["front", "wrist"] and header["image_size"] == 16
    assert recs["img_front"].shape == (3, 16, 16, 3) and recs["img_front"].min() == 200
    assert np.all(recs["img_wrist"] == 50)
    assert finalize_journal(root) == 0
