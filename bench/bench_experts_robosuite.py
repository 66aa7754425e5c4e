"""robosuite family: scripted-expert success and env speed.

Measures, per task: expert success over N seeds (nominal), on-purpose failure rate
(``failure=True``), expert success under each supported shift; and env steps/s without
rendering and with the 3 cameras at 96 and 128 px, next to the raw robosuite env driven with
the same actions in the same run (wrapper overhead = raw steps/s / wrapper steps/s).

Usage: ``python -m bench.bench_experts_robosuite [--seeds 20] [--shift-seeds 10] [--jobs 1]
[--quick]``. ``--jobs`` runs the success measurements in that many processes; the speed runs
always run alone, one after another. Writes bench/results/robosuite.json.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402

import sims  # noqa: E402
from bench.common import command_line, write_result  # noqa: E402
from sims.robosuite import TASKS  # noqa: E402
from sims.robosuite.scene import build_raw_env  # noqa: E402


def expert_episodes(
    task: str, seeds: range, failure: bool = False, shift: str | None = None
) -> tuple[list[bool], list[int]]:
    """Success flag and length [steps] of one expert episode per seed in ``seeds``."""
    name = f"robosuite/{task}"
    env = sims.make(name, render=False, shift=shift)
    expert = sims.get_spec(name).expert(failure=failure)
    wins, lengths = [], []
    try:
        for seed in seeds:
            obs, info = env.reset(seed=seed)
            expert.reset(env, obs, info)
            done = False
            while not done:
                obs, _, terminated, truncated, info = env.step(expert.act(env, obs, info))
                done = terminated or truncated
            wins.append(bool(info["success"]))
            lengths.append(info["step"])
    finally:
        env.close()
    return wins, lengths


CHUNK = 5
"""Seeds per parallel work unit."""


def _time_steps(step, actions: np.ndarray) -> float:
    start = time.perf_counter()
    for action in actions:
        step(action)
    return len(actions) / (time.perf_counter() - start)


def speed(task: str, steps: int) -> dict[str, Any]:
    """Steps/s of the wrapper and of the raw robosuite env on the same random actions."""
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1.0, 1.0, (steps, 7)).astype(np.float32)
    actions[:, 3:6] *= 0.2  # keep the arm in a sane pose
    out: dict[str, Any] = {}
    spec_task = TASKS[task]
    for size in (None, 96, 128):
        render = size is not None
        env = sims.make(f"robosuite/{task}", render=render, image_size=size or 96)
        config = env.unwrapped.config
        raw = build_raw_env(
            spec_task,
            config,
            use_camera_obs=render,
            has_offscreen_renderer=render,
            camera_names=["agentview", spec_task.side_camera, "robot0_eye_in_hand"],
            camera_heights=size or 96,
            camera_widths=size or 96,
        )
        try:
            env.reset(seed=0)
            raw.reset()
            _time_steps(env.step, actions[:5])  # warm up (first render allocates buffers)
            _time_steps(raw.step, actions[:5].astype(np.float64))
            wrapped = _time_steps(env.step, actions)
            plain = _time_steps(raw.step, actions.astype(np.float64))
        finally:
            env.close()
            raw.close()
        key = "no_render" if size is None else f"render3_{size}px"
        out[key] = {
            "wrapper_steps_per_s": round(wrapped, 1),
            "raw_robosuite_steps_per_s": round(plain, 1),
            "overhead_ratio": round(plain / wrapped, 3),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per task (nominal)")
    parser.add_argument("--shift-seeds", type=int, default=10, help="seeds per shift / failure")
    parser.add_argument("--speed-steps", type=int, default=150, help="steps per speed run")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated task names")
    parser.add_argument("--jobs", type=int, default=1, help="processes for the success runs")
    parser.add_argument("--quick", action="store_true", help="3 seeds, 40 speed steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.shift_seeds, args.speed_steps = 3, 2, 40
    tasks = args.tasks.split(",")
    runs = [(task, args.seeds, False, None) for task in tasks]
    runs += [(task, args.shift_seeds, True, None) for task in tasks]
    runs += [(task, args.shift_seeds, False, s) for task in tasks for s in TASKS[task].shifts]
    # Chunks of CHUNK seeds, so that --jobs processes share the long runs too.
    units = [
        (task, range(start, min(start + CHUNK, seeds)), failure, shift)
        for task, seeds, failure, shift in runs
        for start in range(0, seeds, CHUNK)
    ]
    if args.jobs > 1:
        with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
            outcomes = pool.starmap(expert_episodes, units)
    else:
        outcomes = [expert_episodes(*unit) for unit in units]
    episodes: dict[tuple, tuple[list[bool], list[int]]] = {}
    for (task, _, failure, shift), (wins, lengths) in zip(units, outcomes, strict=True):
        acc = episodes.setdefault((task, failure, shift), ([], []))
        acc[0].extend(wins)
        acc[1].extend(lengths)
    results: dict[str, Any] = {task: {"shifts": {}} for task in tasks}
    for (task, failure, shift), (wins, lengths) in episodes.items():
        summary = {
            "success": float(np.mean(wins)),
            "seeds": len(wins),
            "mean_steps": float(np.mean(lengths)),
        }
        if shift is not None:
            results[task]["shifts"][shift] = summary
        else:
            results[task]["failure_mode" if failure else "expert"] = summary
    for task in tasks:
        results[task]["speed"] = speed(task, args.speed_steps)
        print(task, results[task], flush=True)
    command = command_line("bench_experts_robosuite", argv)
    write_result("robosuite", {"tasks": results}, command.strip())


if __name__ == "__main__":
    main()
