"""Benchmark the SO-101 family: scripted-expert success and env speed.

Measures, per task: nominal expert success over N seeds (seeds 0..N-1), on-purpose failure
expert success (should be ~0), nominal expert success under the ``obstacle`` and ``surface``
shifts, and env steps/s without rendering and with the 3 cameras at 96 and 128 px.

    MUJOCO_GL=egl .venv/bin/python bench/bench_experts_so101.py --seeds 20

Writes JSON to ``bench/results/so101.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402

import sims  # noqa: E402

TASKS = ("reach", "pick-cube", "push-cube", "place-cube-in-bin")


def expert_success(task: str, seeds: int, failure: bool = False, shift: str | None = None) -> dict:
    """Success rate and mean episode length of the task's expert over ``seeds`` episodes."""
    env = sims.make(f"so101/{task}", render=False, shift=shift)
    make_expert = sims.get_spec(f"so101/{task}").expert
    wins, lengths = 0, []
    for seed in range(seeds):
        expert = make_expert(failure=failure)
        obs, info = env.reset(seed=seed)
        expert.reset(env, obs, info)
        done = False
        while not done:
            obs, _, term, trunc, info = env.step(expert.act(env, obs, info))
            done = term or trunc
        wins += bool(info["success"])
        lengths.append(info["step"])
    env.close()
    return {"success": wins / seeds, "n": seeds, "mean_steps": float(np.mean(lengths))}


def steps_per_second(task: str, steps: int, render: bool, image_size: int = 96) -> float:
    """Env steps/s with random joint targets near home (rendering 3 cameras if ``render``)."""
    env = sims.make(f"so101/{task}", render=render, image_size=image_size)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    home = env.unwrapped.hold_action()
    env.step(home)  # warm-up (renderer creation)
    start = time.perf_counter()
    for _ in range(steps):
        action = home + rng.uniform(-0.2, 0.2, size=home.shape).astype(np.float32)
        _, _, term, trunc, _ = env.step(action)
        if term or trunc:
            env.reset(seed=1)
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="episodes per task")
    parser.add_argument("--shift-seeds", type=int, default=10, help="episodes per shift")
    parser.add_argument("--speed-steps", type=int, default=100, help="steps per speed test")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--out", default="bench/results/so101.json")
    args = parser.parse_args()
    results: dict = {
        "command": "MUJOCO_GL=egl python bench/bench_experts_so101.py "
        f"--seeds {args.seeds} --shift-seeds {args.shift_seeds} --speed-steps {args.speed_steps}",
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "tasks": {},
    }
    for task in args.tasks.split(","):
        row = {
            "expert": expert_success(task, args.seeds),
            "failure_expert": expert_success(task, args.seeds, failure=True),
            "obstacle": expert_success(task, args.shift_seeds, shift="obstacle"),
            "surface": expert_success(task, args.shift_seeds, shift="surface"),
            "steps_per_s_no_render": steps_per_second(task, args.speed_steps, render=False),
            "steps_per_s_3cam_96px": steps_per_second(task, args.speed_steps // 4, True, 96),
            "steps_per_s_3cam_128px": steps_per_second(task, args.speed_steps // 4, True, 128),
        }
        results["tasks"][task] = row
        print(task, json.dumps(row), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
