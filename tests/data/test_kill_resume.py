"""A collection killed with SIGKILL keeps every committed episode; a re-run resumes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from robo.data import EpisodeReader, repair
from robo.data.collect import collect
from robo.data.schema import SIDECAR_PATH

CHILD = """
import sys
sys.path.insert(0, {mocks!r})
import numpy as np
from fake_env import FakeReachConfig, FakeReachEnv, FakeReachExpert
from robo.data import EpisodeWriter
from robo.data.collect import dataset_spec, rollout
from sims.experts.kinds import ScriptedExpert

# The registry-free path of `collect(kind="failure")`: skips importing every task family.
env = FakeReachEnv(FakeReachConfig(max_episode_steps=20))
with EpisodeWriter.open({out!r}, dataset_spec(env)) as writer:
    for seed in range(500):
        expert = ScriptedExpert(FakeReachExpert(failure=True), np.random.default_rng(seed), {{}}, "failure")
        writer.write(rollout(env, expert, seed))
"""


def _committed(root: Path) -> int:
    path = root / SIDECAR_PATH
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_sigkill_mid_collection_then_resume(tmp_path, fake_tasks):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    out = tmp_path / "ds"
    mocks = str(Path(__file__).resolve().parents[1] / "mocks")
    env = {**os.environ, "MUJOCO_GL": "egl", "HF_HUB_OFFLINE": "1"}
    log = tmp_path / "child.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(mocks=mocks, out=str(out))],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        deadline = time.monotonic() + 120
        while _committed(out) < 2:
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "child wrote no episodes in 120 s"
            time.sleep(0.05)
        # Land somewhere inside the next episode (rollout, encoding or LeRobot's metadata).
        time.sleep(float(np.random.default_rng().uniform(0.0, 0.6)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    reader = EpisodeReader(out)  # readable straight after the kill, before any repair
    n = len(reader)
    assert n >= 2
    for i in range(n):
        ep = reader.read(i)
        assert len(ep) == 21 and ep.images["front"].shape == (21, 32, 32, 3)

    assert repair(out) == n  # now plain LeRobot loads it too
    assert LeRobotDataset("local/ds", root=out).num_episodes == n

    result = collect("fake/reach", n + 1, out, kind="failure", overrides={"max_episode_steps": 20})
    assert (result.skipped, result.recorded, result.total) == (n, 1, n + 1)
    seeds = [e["seed"] for e in EpisodeReader(out).entries]
    assert seeds == list(range(n + 1))
    ds = LeRobotDataset("local/ds", root=out)
    assert ds.num_episodes == n + 1 and ds.num_frames == 21 * (n + 1)
    assert int(ds[len(ds) - 1]["episode_index"]) == n
