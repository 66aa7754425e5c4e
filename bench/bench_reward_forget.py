"""One-shot adaptation without forgetting: compare adaptation settings at the same budget.

For each unseen task: one demo (the first successful expert episode), then each arm adapts a
copy of the checkpoint for the same number of steps with the same replay, and is scored on

* the new task's other episodes (voc_s, voc_rev, auroc, voc_fail; the demo's goal frame), and
* the checkpoint's own held-out episodes of the training tasks (``forget`` = base voc_s minus
  adapted voc_s, as in ``bench_reward``; also the held-out auroc and voc_fail after adapting).

An arm is ``name:key=value,key=value`` with :class:`robo.reward.adapt.AdaptConfig` fields, e.g.
``plain:`` (the defaults), ``frozen:encoder_lr_scale=0``, ``l2sp:anchor_weight=0.1``,
``replay75:demo_weight=0.25``.

Usage: ``python -m bench.bench_reward_forget --ckpt outputs/reward/default --tasks
metaworld/hand-insert,metaworld/bin-picking --steps 120 --arm plain: --arm frozen:encoder_lr_scale=0
--seeds 0 --name reward_forget``; results in ``bench/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from dataclasses import fields

import numpy as np
import torch

from bench.bench_reward import git_commit, load_selected
from bench.common import command_line, write_result
from robo.reward.adapt import AdaptConfig, adapt_one_shot
from robo.reward.checkpoint import load_checkpoint, read_meta
from robo.reward.data import load_episodes
from robo.reward.evaluate import score_for_metrics
from robo.reward.labels import first_success
from robo.reward.metrics import compute_metrics


def parse_arm(spec: str) -> tuple[str, dict]:
    """``name:k=v,k=v`` -> (name, AdaptConfig overrides); unknown keys fail with a hint."""
    name, _, rest = spec.partition(":")
    known = {f.name: f.type for f in fields(AdaptConfig)}
    over: dict = {}
    for item in filter(None, rest.split(",")):
        key, _, val = item.partition("=")
        if key not in known:
            raise SystemExit(f"arm {name!r}: unknown key {key!r} (hint: one of {sorted(known)})")
        cast = {"int": int, "float": float}.get(str(known[key]), str)
        over[key] = cast(val)
    return name, over


def _short(m: dict, keys=("voc_s", "voc_rev", "auroc", "voc_fail", "voc_p")) -> dict:
    return {k: (None if m.get(k) is None else round(m[k], 4)) for k in keys}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ckpt", default="outputs/reward/default")
    ap.add_argument("--tasks", default="metaworld/hand-insert,metaworld/bin-picking")
    ap.add_argument("--data-root", default="outputs/data")
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--seconds", type=float, default=600.0, help="wall cap per adaptation [s]")
    ap.add_argument("--arm", action="append", default=None, help="name:key=value,...")
    ap.add_argument("--seeds", default="0", help="comma list of adaptation seeds")
    ap.add_argument("--replay-per-task", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--name", default="reward_forget")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    arms = [parse_arm(a) for a in (args.arm or ["plain:"])]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    cmd = command_line("bench_reward_forget", None)
    res: dict = {"ckpt": args.ckpt, "git_commit": git_commit(), "load_start": os.getloadavg()}
    res["arms"] = {n: o for n, o in arms}
    res["steps"], res["seeds"] = args.steps, seeds
    t0 = time.monotonic()

    meta = read_meta(args.ckpt)
    held = {tuple(k) for k in meta.get("held_out", [])}
    if not held:
        raise SystemExit(
            f"{args.ckpt} records no held-out episodes (hint: a robo train-reward run)"
        )
    val_eps, sel = load_selected(meta["train_data"], args.data_root, held, args.replay_per_task)
    replay = [e for e in sel if e.kind == "expert"][:: max(1, len(sel) // 40)]
    others = [e for e in sel if e.kind != "expert"]
    replay += others[:: max(1, len(others) // 10)]
    model = load_checkpoint(args.ckpt)
    base = compute_metrics(score_for_metrics(model, val_eps, reverse=False)[0])
    res["held_out_base"] = _short(base)
    res["episodes"] = {"held_out": len(val_eps), "replay": len(replay)}
    res["decode_s"] = round(time.monotonic() - t0, 1)
    print("base held-out", res["held_out_base"], res["episodes"], flush=True)

    tasks = [t for t in args.tasks.split(",") if t]
    per_task: dict = {}
    for task in tasks:
        eps = load_episodes([task], args.data_root)
        demos = [e for e in eps if e.kind == "expert" and first_success(e) is not None]
        if not demos:
            per_task[task] = "no successful demo"
            continue
        demo = demos[0]
        test = [e for e in eps if e is not demo]
        goal = {task: [demo]}
        zero = compute_metrics(score_for_metrics(model, test, goal)[0])
        out: dict = {"test_episodes": len(test), "zero_shot": _short(zero)}
        for name, over in arms:
            runs = []
            for seed in seeds:
                adapted = copy.deepcopy(model)
                acfg = AdaptConfig(steps=args.steps, time_limit_s=args.seconds, seed=seed, **over)
                ta = time.monotonic()
                hist = adapt_one_shot(adapted, demo, replay, acfg, progress=False)
                secs = time.monotonic() - ta
                new = compute_metrics(score_for_metrics(adapted, test, goal)[0])
                seen = compute_metrics(score_for_metrics(adapted, val_eps, reverse=False)[0])
                run = {
                    "seed": seed,
                    "steps": hist["steps"],
                    "adapt_seconds": round(secs, 1),
                    "load": os.getloadavg(),
                    "task": _short(new),
                    "held_out": _short(seen, ("voc_s", "auroc", "voc_fail")),
                    "forget": round(base["voc_s"] - seen["voc_s"], 4),
                }
                runs.append(run)
                print(task, name, run, flush=True)
            out[name] = {
                "runs": runs,
                "mean": {
                    "forget": round(float(np.mean([r["forget"] for r in runs])), 4),
                    **{
                        k: round(float(np.mean([r["task"][k] for r in runs])), 4)
                        for k in ("voc_s", "voc_rev", "auroc", "voc_fail")
                        if all(r["task"][k] is not None for r in runs)
                    },
                    "adapt_seconds": round(float(np.mean([r["adapt_seconds"] for r in runs])), 1),
                },
            }
            per_task[task] = out
            res["per_task"] = per_task
            write_result(args.name, res, cmd)  # partial results survive a later crash
    res["per_task"] = per_task
    done = [v for v in per_task.values() if isinstance(v, dict)]
    res["mean_over_tasks"] = {
        name: {
            k: round(float(np.mean([v[name]["mean"][k] for v in done if k in v[name]["mean"]])), 4)
            for k in ("forget", "voc_s", "auroc", "voc_fail", "adapt_seconds")
        }
        for name, _ in arms
    }
    res["total_s"] = round(time.monotonic() - t0, 1)
    res["load_end"] = os.getloadavg()
    write_result(args.name, res, cmd)
    print("mean over tasks", res["mean_over_tasks"], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
