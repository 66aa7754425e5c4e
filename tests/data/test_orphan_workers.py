"""Pool workers of a parallel collection die with their parent, however it dies."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PARENT = """
import sys
sys.path.insert(0, {mocks!r})
from fake_env import register_fake_tasks
from robo.data.collect import collect

register_fake_tasks()
collect("fake/reach", episodes=500, out={out!r}, workers=2, video=False,
        overrides={{"image_size": 32, "max_episode_steps": 20}})
"""


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigkilled_parent_leaves_no_collect_workers(tmp_path):
    mocks = str(Path(__file__).resolve().parents[1] / "mocks")
    env = {**os.environ, "MUJOCO_GL": "egl", "HF_HUB_OFFLINE": "1"}
    log = tmp_path / "parent.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", PARENT.format(mocks=mocks, out=str(tmp_path / "ds"))],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        # spawn's resource tracker is a child too; the pool's two workers come on top of it.
        while len(workers) < 3:
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "no pool workers in 120 s"
            workers = _children(proc.pid)
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [w for w in workers if _alive(w)]
        assert not left, f"orphaned workers still running: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)
