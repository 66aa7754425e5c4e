"""GRM metrics on a separate test split of the training tasks (seeds no training run saw).

The held-out split of ``robo train-reward`` is one episode per task and also picks the kept
weights, so it cannot give ``tau_a`` (needs expert, noisy and failure episodes of one task) and
counts ``regress_recall`` over a handful of rewinds. This bench records, for every task of the
default training set, ``--per-kind`` episodes of each kind (expert, noisy, failure, rewind) at
seeds 1000+ (training uses 0-299) under ``--root`` (default ``outputs/data_test``), then runs
``robo eval-reward split=all`` on each ``--ckpt`` with goal frames from the training demos
(``goal_root=outputs/data``), with and without goal frames.

Usage: ``python -m bench.bench_reward_testset [--phase collect|eval|both]
[--ckpt a,b] [--per-kind 2] [--name reward_testset] [--process-std 0,0.1] [--goal both|true|false]
[--kinds noisy --noise 0.3 --root outputs/data_test_noise03]``; ``--ckpt a,a+b`` scores a alone
and the ensemble of a and b;
results in
``bench/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

from bench.common import RESULTS, command_line, write_result

TEST_SEEDS = {"expert": 1000, "noisy": 1100, "failure": 1200, "rewind": 1300}
"""First seed of each kind in the test split (training collects from 0, 100, 200, 300)."""

KEYS = (
    "voc_s", "voc_rev", "voc_p", "tau_a", "auroc", "ece", "regress_recall", "voc_fail",
    "regress_recall_all", "regress_n", "tau_a_mean", "tau_a_time",
)  # fmt: skip


def phase_collect(
    tasks: list[str],
    root: str,
    per_kind: int,
    failure_steps: int,
    workers: int,
    kinds: list[str] | None = None,
    noise: float | None = None,
) -> dict:
    """Record ``per_kind`` episodes of each of ``kinds`` (default all of :data:`TEST_SEEDS`) per
    task; ``noise`` overrides the noisy kind's noise (fraction of the action half-range)."""
    from robo.data.collect import collect

    out: dict = {}
    for task in tasks:
        t = time.monotonic()
        for kind in kinds or list(TEST_SEEDS):
            seed = TEST_SEEDS[kind]
            over = {"max_episode_steps": failure_steps} if kind == "failure" else {}
            params = {"noise": noise} if kind == "noisy" and noise is not None else None
            path = Path(root) / f"{task.replace('/', '-')}-{kind}"
            collect(
                task, per_kind, path, kind=kind, seed=seed, workers=workers, overrides=over,
                params=params,
            )  # fmt: skip
        out[task] = round(time.monotonic() - t, 1)
        print(f"collect {task}: {out[task]} s", flush=True)
    return out


def _short(m: dict) -> dict:
    return {k: (None if m.get(k) is None else round(float(m[k]), 3)) for k in KEYS}


def eval_ckpt(
    ckpt: str, root: str, goal_root: str, out: str, use_goal: bool, q: float | None = None
) -> dict:
    from hydra import compose, initialize_config_dir

    from robo.cli.cmd_eval_reward import run

    members = ckpt.split("+")  # a+b = an ensemble of a and b (robo.reward.ensemble)
    overrides = [
        f"ckpt=[{','.join(members)}]" if len(members) > 1 else f"ckpt={ckpt}",
        f"data_root={root}",
        f"goal_root={goal_root}",
        "split=all",
        f"out={out}",
        f"use_goal={str(use_goal).lower()}",
        "figures=4",
        "videos=1",
    ]
    if q is not None:
        overrides.append(f"process_std={q}")
    with initialize_config_dir(config_dir=os.path.abspath("configs"), version_base=None):
        cfg = compose(config_name="eval_reward", overrides=overrides)
    t = time.monotonic()
    run(cfg)
    rep = json.loads((Path(out) / "metrics.json").read_text())
    return {
        "seconds": round(time.monotonic() - t, 1),
        "n_episodes": rep["overall"].get("n_episodes"),
        "model": _short(rep["overall"]),
        "time_baseline": _short(rep["baseline_time"]["overall"]),
        "progress_gt_ceiling": _short(rep["baseline_gt"]["overall"])
        if "baseline_gt" in rep
        else None,
        "per_task": {t: _short(v) for t, v in rep["per_task"].items()},
    }


def main() -> int:
    from robo.reward.data import DEFAULT_TRAIN_TASKS

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--phase", default="both", choices=["collect", "eval", "both"])
    ap.add_argument("--tasks", default=",".join(DEFAULT_TRAIN_TASKS))
    ap.add_argument("--root", default="outputs/data_test")
    ap.add_argument("--goal-root", default="outputs/data")
    ap.add_argument("--ckpt", default="outputs/reward/default")
    ap.add_argument("--per-kind", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--failure-steps", type=int, default=100, help="as configs/train_reward.yaml")
    ap.add_argument("--kinds", default=",".join(TEST_SEEDS), help="kinds to collect")
    ap.add_argument(
        "--noise", type=float, default=None,
        help="noise of the noisy kind (default: the kind's own, 0.1); use a separate --root",
    )  # fmt: skip
    ap.add_argument("--name", default="reward_testset")
    ap.add_argument(
        "--process-std", default="",
        help="comma list of process noise values to score with (default: the checkpoint's)",
    )  # fmt: skip
    ap.add_argument("--goal", default="both", choices=["both", "true", "false"])
    args = ap.parse_args()
    bad = sorted(set(args.kinds.split(",")) - set(TEST_SEEDS) - {""})
    if bad:
        ap.error(f"unknown kind(s) {bad}; choose from {sorted(TEST_SEEDS)}")
    cmd = command_line("bench_reward_testset", None)
    path = RESULTS / f"{args.name}.json"
    res = json.loads(path.read_text()) if path.exists() else {}
    for k in ("machine", "command"):
        res.pop(k, None)
    # every command that wrote into this JSON, oldest first (each phase/ckpt appends to it)
    res["commands"] = [c for c in res.get("commands", []) if c != cmd] + [cmd]
    # reports of a non-default --root go to their own folders (they overwrote the default's)
    default_root = args.root == ap.get_default("root")
    report_base = "testset" if default_root else f"testset-{Path(args.root).name}"
    tasks = [t for t in args.tasks.split(",") if t]
    if args.phase in ("collect", "both"):
        res["collect"] = {
            "seconds_per_task": phase_collect(
                tasks,
                args.root,
                args.per_kind,
                args.failure_steps,
                args.workers,
                kinds=[k for k in args.kinds.split(",") if k],
                noise=args.noise,
            ),  # fmt: skip
            "per_kind": args.per_kind,
            "kinds": args.kinds,
            "noise": args.noise,
            "seeds": TEST_SEEDS,
            "load_end": os.getloadavg(),
        }
        write_result(args.name, res, cmd)
    if args.phase in ("eval", "both"):
        qs = [float(q) for q in args.process_std.split(",") if q] or [None]
        goals = {"both": (True, False), "true": (True,), "false": (False,)}[args.goal]
        for ckpt, q, use_goal in itertools.product(args.ckpt.split(","), qs, goals):
            tag = "+".join(Path(c).name for c in ckpt.split("+"))
            tag += "" if q is None else f"-q{q}"
            tag += "" if use_goal else "-no-goal"
            out = f"outputs/reward/{report_base}-{tag}"
            res.setdefault("eval", {})[tag] = {
                "ckpt": ckpt,
                "use_goal": use_goal,
                "process_std": q,
                "load_start": os.getloadavg(),
                **eval_ckpt(ckpt, args.root, args.goal_root, out, use_goal, q),
            }
            print(tag, res["eval"][tag]["model"], flush=True)
            write_result(args.name, res, cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
