"""Meta-World family: scripted-expert success and env speed.

Measures, per task (all 50): expert success over N seeds and episode lengths, the success rate
of on-purpose failures (``failure=True``, should be ~0), expert success under the ``obstacle``
shift where supported; env steps/s without rendering next to the raw Meta-World env (MT1 task,
same actions, same run; overhead = wrapper time / raw time), and obs/s with the 3 cameras at
96 and 128 px.

Usage: ``python -m bench.bench_experts_metaworld [--seeds 20] [--failure-seeds 10]
[--obstacle-seeds 10] [--render-steps 40] [--tasks reach,push] [--quick]``.
Writes bench/results/metaworld.json and prints a table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import metaworld  # noqa: E402
import numpy as np  # noqa: E402

import sims  # noqa: E402
from bench.common import command_line, write_result  # noqa: E402
from sims.metaworld import TASKS  # noqa: E402
from sims.metaworld.tasks import OBSTACLE_TASKS  # noqa: E402

SPEED_TASKS = ("reach", "pick-place", "door-open")


def run_expert(task: str, seeds: int, failure: bool = False, shift: str | None = None):
    """Per-seed (success, episode length [steps]) of the task's expert."""
    name = f"metaworld/{task}"
    env = sims.make(name, render=False, shift=shift)
    expert = sims.get_spec(name).expert(failure=failure)
    out = []
    try:
        for seed in range(seeds):
            obs, info = env.reset(seed=seed)
            expert.reset(env, obs, info)
            steps, done = 0, False
            while not done:
                obs, _, term, trunc, info = env.step(expert.act(env, obs, info))
                steps += 1
                done = term or trunc
            out.append((bool(info["success"]), steps))
    finally:
        env.close()
    return out


def step_rates(task: str, steps: int, repeats: int = 3) -> dict[str, float]:
    """Steps/s of robo's env (no rendering) and of the raw MT1 env on the same actions."""
    env_id = TASKS[task].env_id
    mt1 = metaworld.MT1(env_id, seed=0)
    raw = mt1.train_classes[env_id]()
    raw.set_task(mt1.train_tasks[0])
    raw.max_path_length = 10**9
    ours = sims.make(f"metaworld/{task}", render=False, max_episode_steps=10**9)
    actions = np.random.default_rng(0).uniform(-1, 1, size=(steps, 4)).astype(np.float32)
    best = {"raw": np.inf, "robo": np.inf}
    for _ in range(repeats):  # interleaved, best of: the machine is shared
        raw.reset()
        t0 = time.perf_counter()
        for a in actions:
            raw.step(a)
        best["raw"] = min(best["raw"], time.perf_counter() - t0)
        ours.reset(seed=0)
        t0 = time.perf_counter()
        for a in actions:
            ours.step(a)
        best["robo"] = min(best["robo"], time.perf_counter() - t0)
    raw.close()
    ours.close()
    return {
        "raw_steps_per_s": steps / best["raw"],
        "robo_steps_per_s": steps / best["robo"],
        "overhead": best["robo"] / best["raw"],
    }


def render_rate(task: str, size: int, steps: int) -> float:
    """Steps/s with observations of all 3 cameras at ``size`` px (shadows off)."""
    env = sims.make(f"metaworld/{task}", image_size=size, max_episode_steps=10**9)
    env.reset(seed=0)
    env.step(np.zeros(4, dtype=np.float32))  # create the GL context outside the timing
    t0 = time.perf_counter()
    for _ in range(steps):
        env.step(env.action_space.sample())
    rate = steps / (time.perf_counter() - t0)
    env.close()
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--failure-seeds", type=int, default=10)
    parser.add_argument("--obstacle-seeds", type=int, default=10)
    parser.add_argument("--speed-steps", type=int, default=1000)
    parser.add_argument("--render-steps", type=int, default=40)
    parser.add_argument("--tasks", default="", help="comma-separated subset (default: all 50)")
    parser.add_argument("--quick", action="store_true", help="5 seeds, 3 failure/obstacle seeds")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.failure_seeds, args.obstacle_seeds = 5, 3, 3
        args.speed_steps, args.render_steps = 300, 15
    tasks = args.tasks.split(",") if args.tasks else sorted(TASKS)

    per_task: dict[str, dict[str, Any]] = {}
    print(
        f"{'task':28s} {'expert':>7s} {'len':>5s} {'max':>4s} {'fail->succ':>10s} {'obstacle':>8s}"
    )
    for task in tasks:
        t0 = time.time()
        nominal = run_expert(task, args.seeds)
        failure = run_expert(task, args.failure_seeds, failure=True)
        row: dict[str, Any] = {
            "expert_success": float(np.mean([s for s, _ in nominal])),
            "expert_len_mean": float(np.mean([n for _, n in nominal])),
            "expert_len_max_success": max((n for s, n in nominal if s), default=None),
            "failure_success": float(np.mean([s for s, _ in failure])),
            "max_episode_steps": TASKS[task].max_steps,
        }
        if task in OBSTACLE_TASKS:
            obstacle = run_expert(task, args.obstacle_seeds, shift="obstacle")
            row["obstacle_expert_success"] = float(np.mean([s for s, _ in obstacle]))
        per_task[task] = row
        obstacle_text = f"{row.get('obstacle_expert_success', float('nan')):8.2f}"
        print(
            f"{task:28s} {row['expert_success']:7.2f} {row['expert_len_mean']:5.0f} "
            f"{row['expert_len_max_success'] or -1:4d} {row['failure_success']:10.2f} "
            f"{obstacle_text}  ({time.time() - t0:.0f}s)",
            flush=True,
        )

    speed = {task: step_rates(task, args.speed_steps) for task in SPEED_TASKS}
    for task, s in speed.items():
        print(
            f"no render {task:12s}: robo {s['robo_steps_per_s']:7.0f} steps/s, raw "
            f"{s['raw_steps_per_s']:7.0f} steps/s, overhead {s['overhead']:.3f}x"
        )
    render = {f"{size}px": render_rate("pick-place", size, args.render_steps) for size in (96, 128)}
    for size, rate in render.items():
        print(f"3 cameras at {size}: {rate:.1f} obs/s (pick-place, shadows off)")

    summary = {
        "tasks": len(per_task),
        "mean_expert_success": float(np.mean([r["expert_success"] for r in per_task.values()])),
        "mean_failure_success": float(np.mean([r["failure_success"] for r in per_task.values()])),
        "mean_overhead": float(np.mean([s["overhead"] for s in speed.values()])),
    }
    print(summary)
    write_result(
        "metaworld",
        {
            "seeds": args.seeds,
            "failure_seeds": args.failure_seeds,
            "obstacle_seeds": args.obstacle_seeds,
            "summary": summary,
            "per_task": per_task,
            "speed_no_render": speed,
            "render_3cams_obs_per_s": render,
            "load_average_1min": os.getloadavg()[0],
        },
        command=command_line("bench_experts_metaworld", None),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
