"""Where can the semantic trap's hover half happen? The hover region of each task, measured.

The hover indicator counts steps with Φ > 0.8 (``--threshold``) before success. A raw-Φ agent can
only be caught hovering if such states exist and are reachable: this scans tasks with their
scripted expert (``--episodes`` episodes, seeds 99 800 + k, apart from demo and evaluation
seeds) and reports, per task, the expert's steps with ``progress_gt`` > threshold before its
first success, and the largest ``progress_gt`` it saw before success. A task whose expert never
enters the region (hover steps 0) has at most a thin shell there (e.g. metaworld/reach: Φ_gt =
1 − d/d₀ > 0.8 and d ≥ 5 cm needs d₀ > 25 cm). Result: ``bench/results/<--name>.json``.

Usage::

    python -m bench.bench_rl_trap_scan --tasks metaworld/reach,so101/pick-cube --episodes 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from bench.common import command_line, write_result

SEED0 = 99_800


def scan_task(task: str, episodes: int, threshold: float) -> dict:
    """Expert episodes of ``task``: hover steps (progress_gt > threshold before success)."""
    from sims.registry import get_spec, make

    spec = get_spec(task)
    if spec.expert is None:
        raise ValueError(f"{task} has no scripted expert (hint: pick another task)")
    env = make(task, render=False)
    rows = []
    for k in range(episodes):
        obs, info = env.reset(seed=SEED0 + k)
        expert = spec.expert()
        expert.reset(env, obs, info)
        hover, steps, max_phi, success = 0, 0, float(info.get("progress_gt", 0.0)), False
        while True:
            obs, _, terminated, truncated, info = env.step(expert.act(env, obs, info))
            steps += 1
            if info.get("success"):
                success = True
                break
            phi = float(info.get("progress_gt", np.nan))
            hover += int(phi > threshold)
            max_phi = max(max_phi, phi)
            if terminated or truncated:
                break
        rows.append(
            {"seed": SEED0 + k, "steps": steps, "success": success, "hover_steps": hover,
             "max_phi_before_success": max_phi}
        )  # fmt: skip
    env.close()
    return {
        "episodes": rows,
        "hover_steps_mean": float(np.mean([r["hover_steps"] for r in rows])),
        "hover_fraction_mean": float(np.mean([r["hover_steps"] / r["steps"] for r in rows])),
        "expert_success": float(np.mean([r["success"] for r in rows])),
    }


def _git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tasks", default="metaworld/reach,so101/pick-cube")
    p.add_argument("--episodes", type=int, default=3)
    p.add_argument("--threshold", type=float, default=0.8)
    p.add_argument("--name", default="rl_trap_scan")
    args = p.parse_args()
    load_start = os.getloadavg()
    t0 = time.time()
    tasks = {}
    for task in args.tasks.split(","):
        tasks[task] = scan_task(task, args.episodes, args.threshold)
        r = tasks[task]
        print(
            f"{task:32s} expert hover steps {[e['hover_steps'] for e in r['episodes']]} "
            f"(fraction {r['hover_fraction_mean']:.3f}), success {r['expert_success']:.2f}",
            flush=True,
        )
    write_result(
        args.name,
        {
            "settings": vars(args),
            "tasks": tasks,
            "wall_s": round(time.time() - t0, 1),
            "loadavg": {"start": load_start, "end": os.getloadavg()},
            "git_commit": _git_commit(),
        },
        command=command_line("bench_rl_trap_scan", None),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
