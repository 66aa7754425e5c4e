"""The default GRM run end to end, timed in two phases: collect, then train.

Phase ``collect`` records what ``robo train-reward collect.enabled=true`` records (the
``collect`` block of configs/train_reward.yaml for every task of the default training set),
through the same function, one task at a time, with the seconds and load average of each.
Phase ``train`` runs ``robo train-reward`` itself (the default config, datasets now present)
in a subprocess and records its wall time and the held-out metrics it printed.

Usage: ``python -m bench.bench_reward_default [--phase collect|train|both]
[--tasks a,b] [--name reward_default] [key=value ...]``; results in ``bench/results/<name>.json`` (phases
merge into the same file).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from bench.common import RESULTS, command_line, write_result


def _load(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return {}
    old = json.loads(path.read_text())
    old.pop("machine", None)
    old.pop("command", None)
    return old


def phase_collect(
    tasks: list[str], res: dict, name: str, cmd: str, overrides: list[str] | None = None
) -> None:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from robo.cli.cmd_train_reward import collect_missing

    conf = os.path.abspath("configs")
    with initialize_config_dir(config_dir=conf, version_base=None):
        cfg = compose(config_name="train_reward", overrides=list(overrides or []))
    per_task = res.setdefault("collect", {}).setdefault("per_task", {})
    t0 = time.monotonic()
    for task in tasks:
        t = time.monotonic()
        collect_missing([task], str(cfg.data_root), cfg)
        seconds = round(time.monotonic() - t, 1)
        if task in per_task and seconds < 1.0:
            continue  # complete from an earlier (interrupted) run: keep that run's timing
        per_task[task] = {"seconds": seconds, "load": os.getloadavg()}
        res["collect"]["seconds_this_run"] = round(time.monotonic() - t0, 1)
        write_result(name, res, cmd)
        print(task, per_task[task], flush=True)
    res["collect"]["seconds_sum_per_task"] = round(sum(v["seconds"] for v in per_task.values()), 1)
    res["collect"]["episodes_per_task"] = dict(cfg.collect.episodes)
    res["collect"]["params"] = OmegaConf.to_container(cfg.collect.get("params", {}))
    write_result(name, res, cmd)


def phase_train(extra: list[str], res: dict, name: str, cmd: str) -> None:
    argv = [sys.executable, "-m", "robo.cli.main", "train-reward", "progress=false", *extra]
    load0 = os.getloadavg()
    t = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.monotonic() - t
    res["train"] = {
        "command": " ".join(argv[2:]),
        "seconds": round(seconds, 1),
        "rc": proc.returncode,
        "load_start": load0,
        "load_end": os.getloadavg(),
        "stdout_tail": proc.stdout[-2000:],
        "stderr_tail": proc.stderr[-1500:],
    }
    write_result(name, res, cmd)


def main() -> int:
    from robo.reward.data import DEFAULT_TRAIN_TASKS

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--phase", default="both", choices=["collect", "train", "both"])
    ap.add_argument("--tasks", default=",".join(DEFAULT_TRAIN_TASKS))
    ap.add_argument("--name", default="reward_default")
    ap.add_argument(
        "train_overrides",
        nargs="*",
        help="extra key=value for robo train-reward (collect.* ones also steer phase collect)",
    )
    args = ap.parse_args()
    cmd = command_line("bench_reward_default", None)
    res = _load(args.name)
    if args.phase in ("collect", "both"):
        tasks = [t for t in args.tasks.split(",") if t]
        phase_collect(tasks, res, args.name, cmd, args.train_overrides)
    if args.phase in ("train", "both"):
        phase_train(args.train_overrides, res, args.name, cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
