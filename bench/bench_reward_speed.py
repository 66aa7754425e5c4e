"""Reward-model speed and memory on CPU: batched progress estimates/s, one-step latency.

Measures, in one run and on the same random 96 px frames (3 cameras):

* ``batched_estimates_per_s``: frames of an episode scored per second by
  :func:`robo.reward.scoring.score_embeddings` after a batched encode (all cameras, all three
  perspectives, Kalman fusion included);
* ``plain_cnn_frames_per_s``: a plain per-view CNN forward (the same conv trunk + a linear
  head, no fusion, no perspectives) over the same frames, for scale;
* ``step_latency_ms``: median latency of :meth:`ProgressTracker.step` for one new step
  (one encoder pass per camera + one batched hop call);
* ``batched_estimates_per_cpu_s``: the same per CPU-second (all threads), which a busy shared
  machine distorts less than wall time;
* memory: parameter bytes, the embedding cache of one episode, and peak RSS.

Usage: ``python -m bench.bench_reward_speed [--threads 2] [--frames 256] [--quick]
[--channels 16,32,64,128 --embed-dim 128 --name reward_speed_wide]`` (a wider model than the
default, session 18).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np
import torch

from bench.common import command_line, write_result
from robo.reward.model import ProgressRewardModel, RewardModelConfig
from robo.reward.scoring import ProgressTracker, encode_frames, score_embeddings
from robo.reward.text import embed_instructions


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=256)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--channels", default=None, help="conv widths, e.g. 16,32,64,128 (default: the model's)"
    )
    ap.add_argument(
        "--embed-dim", type=int, default=None, help="token width (default: the model's)"
    )
    ap.add_argument("--name", default="reward_speed")
    args = ap.parse_args()
    if args.quick:
        args.frames, args.steps = 64, 20
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    size = {}
    if args.channels:
        try:
            size["channels"] = tuple(int(c) for c in args.channels.split(","))
        except ValueError:
            ap.error(f"--channels {args.channels!r}: give conv widths like 16,32,64,128")
    if args.embed_dim:
        size["embed_dim"] = args.embed_dim
    cfg = RewardModelConfig(text_backend="hash", **size)
    model = ProgressRewardModel(cfg).eval()
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (args.frames, 3, 96, 96, 3), dtype=np.uint8)
    text = torch.as_tensor(embed_instructions(["push the puck to the goal"], "hash")[0])
    goal = encode_frames(model, frames[-1:])[0]

    def batched():
        with torch.no_grad():
            emb = encode_frames(model, frames, batch=64)
            score_embeddings(model, emb, text, goal)

    plain = torch.nn.Sequential(model.encoder, torch.nn.Linear(cfg.embed_dim, 1)).eval()
    x = torch.as_tensor(frames)

    def plain_cnn():
        with torch.no_grad():
            for i in range(0, len(x), 64):
                b = x[i : i + 64]
                n = b.shape[0]
                img = b.reshape(n * 3, 96, 96, 3).permute(0, 3, 1, 2).float().div(255).sub(0.5)
                plain(img)

    def plain_cnn_one(b):
        with torch.no_grad():
            plain(b.reshape(3, 96, 96, 3).permute(0, 3, 1, 2).float().div(255).sub(0.5))

    batched()  # warm-up
    plain_cnn()
    c0 = time.process_time()
    t_batched = _best(batched, 3)
    cpu_batched = (time.process_time() - c0) / 3
    t_plain = _best(plain_cnn, 3)

    tracker = ProgressTracker(
        model, "push the puck to the goal", {c: frames[-1, i] for i, c in enumerate(cfg.views)}
    )
    tracker.model.config.text_backend = "hash"
    obs = [{c: frames[t, i] for i, c in enumerate(cfg.views)} for t in range(args.steps + 1)]
    tracker.reset(obs[0])
    lat = []
    for t in range(1, args.steps + 1):
        t0 = time.perf_counter()
        tracker.step(obs[t])
        lat.append(time.perf_counter() - t0)
    plain_lat = []
    for t in range(1, args.steps + 1):
        t0 = time.perf_counter()
        plain_cnn_one(x[t : t + 1])
        plain_lat.append(time.perf_counter() - t0)
    cache_bytes = sum(e.numel() * e.element_size() for e in tracker.cache)
    per_step_cache = cache_bytes / len(tracker.cache)
    result = {
        "threads": args.threads,
        "image_size": 96,
        "views": 3,
        "parameters": model.num_parameters(),
        "channels": list(cfg.channels),
        "embed_dim": cfg.embed_dim,
        "batched_estimates_per_s": round(args.frames / t_batched, 1),
        "plain_cnn_frames_per_s": round(args.frames / t_plain, 1),
        "batched_estimates_per_cpu_s": round(args.frames / cpu_batched, 1),
        "step_latency_ms_median": round(1000 * float(np.median(lat)), 2),
        "step_latency_ms_p90": round(1000 * float(np.percentile(lat, 90)), 2),
        "plain_cnn_step_ms_median": round(1000 * float(np.median(plain_lat)), 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "param_bytes": sum(p.numel() * p.element_size() for p in model.parameters()),
        "cache_bytes_per_step": int(per_step_cache),
        "cache_bytes_1000_steps": int(per_step_cache * 1000),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "targets": {
            "batched_estimates_per_s": ">= 500",
            "step_latency_ms": "<= 10",
            "memory": "< 1 GiB",
        },
    }
    for k, v in result.items():
        print(f"{k:28s} {v}")
    write_result(args.name, result, command_line("bench_reward_speed", None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
