"""One ablation table: views, perspectives, goal frame and label mode, on one episode set.

Scores each checkpoint on the same test episodes (ones none of them trained on) four ways:
all views fused (the model as shipped), the front camera only, the incremental perspective
only, and without the demo goal frame. Two checkpoints trained alike except for
``labels=segments`` vs ``labels=time`` (``bench.bench_reward --ablate-labels --out <dir>``
saves both) give the label-mode row; the other rows come from the first checkpoint.

Usage: ``python -m bench.bench_reward_ablations --ckpts <segments>,<time> --train-tasks a,b
--eval-sets "outputs/data_heldout=all;outputs/data_fresh=task,task" --name reward_ablations``
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

from bench.bench_reward import git_commit
from bench.bench_reward_hardneg import _fresh, _short
from bench.common import command_line, write_result
from robo.reward.checkpoint import load_checkpoint
from robo.reward.evaluate import score_for_metrics
from robo.reward.metrics import metrics_report

VARIANTS: dict[str, dict] = {
    "all_views_fused": {},
    "one_view_front": {"views": ["front"]},
    "incremental_only": {"perspectives": ["incremental"]},
    "no_goal_frame": {"use_goal": False},
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ckpts", required=True, help="comma list; the first gets every variant")
    ap.add_argument("--train-tasks", required=True)
    ap.add_argument("--eval-sets", default="outputs/data_heldout=all")
    ap.add_argument("--name", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cmd = command_line("bench_reward_ablations", None)
    tasks = [t for t in args.train_tasks.split(",") if t]
    test = []
    for part in args.eval_sets.split(";"):
        root, _, names = part.partition("=")
        test += _fresh(tasks if names in ("", "all") else names.split(","), [root])
    if not test:
        raise SystemExit(f"no test episodes in {args.eval_sets!r} (hint: check --eval-sets)")
    res: dict = {
        "test_episodes": {k: sum(e.kind == k for e in test) for k in {e.kind for e in test}},
        "git_commit": git_commit(),
        "load_start": os.getloadavg(),
    }
    for i, ckpt in enumerate(args.ckpts.split(",")):
        model = load_checkpoint(ckpt)
        res[ckpt] = {}
        for name, kw in VARIANTS.items() if i == 0 else [("all_views_fused", {})]:
            rep = metrics_report(score_for_metrics(model, test, **kw)[0])
            res[ckpt][name] = _short(rep["overall"])
            res.setdefault("time_baseline", _short(rep["baseline_time"]["overall"]))
            print(ckpt, name, res[ckpt][name], flush=True)
            write_result(args.name, res, cmd)
    res["load_end"] = os.getloadavg()
    write_result(args.name, res, cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
