"""Collection throughput and dataset size: video vs PNG images, on real tasks.

For each task and storage mode it records ``episodes`` expert episodes with
:class:`robo.data.EpisodeWriter` (durable per episode) and reports episodes/min, the split
between the rollout (sim + rendering + expert) and writing (encoding + LeRobot metadata), bytes
on disk per episode and per frame, the time to decode an episode back, and the video error.

Usage: ``python -m bench.bench_collect [--quick] [--tasks so101/reach,metaworld/reach]``.
Writes bench/results/collect.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _dir_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def bench_task(task: str, episodes: int, image_size: int, video: bool, tmp: Path) -> dict:
    import sims
    from robo.data import EpisodeReader, EpisodeWriter
    from robo.data.collect import dataset_spec, run_seed

    env = sims.make(task, image_size=image_size)
    spec = dataset_spec(env, video=video)
    root = tmp / f"{task.replace('/', '-')}-{'video' if video else 'images'}"
    shutil.rmtree(root, ignore_errors=True)
    rollout_s = write_s = 0.0
    frames = successes = 0
    recorded = []
    with EpisodeWriter.open(root, spec) as writer:
        for seed in range(episodes):
            t0 = time.perf_counter()
            ep = run_seed(env, "expert", seed, {})
            t1 = time.perf_counter()
            writer.write(ep)
            write_s += time.perf_counter() - t1
            rollout_s += t1 - t0
            frames += len(ep)
            successes += int(ep.success.any())
            recorded.append(ep)
    env.close()
    reader = EpisodeReader(root)
    t0 = time.perf_counter()
    back = [reader.read(i) for i in range(len(reader))]
    read_s = time.perf_counter() - t0
    err = float(
        np.mean(
            [
                np.abs(b.images[c].astype(np.float32) - a.images[c].astype(np.float32)).mean()
                for a, b in zip(recorded, back)
                for c in spec.cameras
            ]
        )
    )
    size = _dir_bytes(root)
    total = rollout_s + write_s
    return {
        "task": task,
        "storage": "video" if video else "images",
        "vcodec": spec.vcodec if video else None,
        "image_size": image_size,
        "episodes": episodes,
        "frames_per_episode": frames / episodes,
        "success_rate": successes / episodes,
        "episodes_per_min": 60.0 * episodes / total,
        "rollout_s_per_episode": rollout_s / episodes,
        "write_s_per_episode": write_s / episodes,
        "read_s_per_episode": read_s / episodes,
        "bytes_per_episode": size / episodes,
        "bytes_per_frame": size / frames,
        "image_mean_abs_error": err,
    }


def main() -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from bench.common import command_line, write_result

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 episodes per setting")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--tasks", default="so101/reach,metaworld/reach")
    args = parser.parse_args()
    episodes = 2 if args.quick else args.episodes

    import sims

    tasks = [t for t in args.tasks.split(",") if t in sims.list_tasks()]
    if not tasks:
        print(f"none of {args.tasks} is registered", file=sys.stderr)
        return 1
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-collect-") as tmp:
        for task in tasks:
            for video in (True, False):
                row = bench_task(task, episodes, args.image_size, video, Path(tmp))
                print(
                    f"{task:18s} {row['storage']:6s} {row['episodes_per_min']:6.1f} ep/min "
                    f"(rollout {row['rollout_s_per_episode']:.2f}s + write "
                    f"{row['write_s_per_episode']:.2f}s) {row['bytes_per_episode'] / 1e3:8.1f} "
                    f"kB/ep  err {row['image_mean_abs_error']:.2f}",
                    flush=True,
                )
                rows.append(row)
    load = os.getloadavg()[0]
    command = command_line("bench_collect", None)
    write_result("collect", {"results": rows, "load_average_1min": load}, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
