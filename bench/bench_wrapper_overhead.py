"""Wrapper overhead of robo's Meta-World env against the raw Meta-World env it wraps.

Both step the *same* simulator instance with the same random actions, in interleaved blocks
(raw block, then wrapper block, repeated), so machine noise hits both alike; the reported
overhead is the median over blocks of wrapper time / raw time (target <= 1.10x), no rendering.

Usage: ``python -m bench.bench_wrapper_overhead [--tasks reach,pick-place] [--blocks 30]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from bench.common import command_line, write_result


def overhead(task: str, blocks: int, steps: int) -> dict[str, float]:
    """Median and quartiles of wrapper/raw time over interleaved blocks of ``steps`` steps."""
    import sims

    env = sims.make(f"metaworld/{task}", render=False, max_episode_steps=10**9)
    env.reset(seed=0)
    raw = env.unwrapped._raw
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, 4)).astype(np.float32)
    ratios, raw_s = [], []
    for _ in range(blocks):
        t0 = time.perf_counter()
        for a in actions:
            raw.step(a)
        t1 = time.perf_counter()
        for a in actions:
            env.step(a)
        t2 = time.perf_counter()
        ratios.append((t2 - t1) / (t1 - t0))
        raw_s.append(t1 - t0)
    env.close()
    q25, q50, q75 = np.percentile(ratios, [25, 50, 75])
    return {
        "overhead_median": float(q50),
        "overhead_q25": float(q25),
        "overhead_q75": float(q75),
        "raw_us_per_step": float(np.median(raw_s) / steps * 1e6),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tasks", default="reach,pick-place,door-open")
    ap.add_argument("--blocks", type=int, default=30)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="10 blocks")
    args = ap.parse_args()
    blocks = 10 if args.quick else args.blocks
    results = {}
    for task in args.tasks.split(","):
        results[task] = overhead(task, blocks, args.steps)
        r = results[task]
        print(
            f"metaworld/{task:12s} overhead {r['overhead_median']:.3f}x "
            f"[{r['overhead_q25']:.3f}, {r['overhead_q75']:.3f}], raw {r['raw_us_per_step']:.0f} us"
        )
    write_result(
        "wrapper_overhead",
        {"results": results, "load_average_1min": os.getloadavg()[0], "target": "<= 1.10x"},
        command_line("bench_wrapper_overhead", None),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
