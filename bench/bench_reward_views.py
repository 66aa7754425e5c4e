"""GRM held-out metrics for every subset of the cameras: does a missing camera degrade gracefully?

Scores each checkpoint's own held-out episodes (``robo train-reward``'s split, goal frames from
one training demo per task) with every non-empty subset of its views, all three perspectives
fused; ``--process-std 0,0.03`` repeats it for each process noise of the incremental step
(:func:`robo.reward.scoring.process_std`; without it, each checkpoint's own, i.e. the default).
Usage: ``python -m bench.bench_reward_views --ckpt a,b [--process-std 0,0.1]
[--name reward_views]``; results in ``bench/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys

import torch

from bench.bench_reward import load_selected
from bench.common import command_line, write_result

KEYS = ("voc_s", "voc_rev", "auroc", "voc_fail")


def views_table(ckpt: str, data_root: str, q: float | None = None) -> dict[str, dict]:
    from robo.reward.checkpoint import load_checkpoint, read_meta
    from robo.reward.data import DEFAULT_TRAIN_TASKS
    from robo.reward.evaluate import pick_demos, score_for_metrics
    from robo.reward.metrics import compute_metrics

    held = {tuple(k) for k in read_meta(ckpt)["held_out"]}
    val, train = load_selected(list(DEFAULT_TRAIN_TASKS), data_root, held, 1)
    demos = pick_demos(train, per_task=1)
    model = load_checkpoint(ckpt).eval()
    if q is not None:  # None: the checkpoint's own (robo.reward.scoring.process_std)
        model.config.extra["process_std"] = q
    views = list(model.config.views)
    out: dict[str, dict] = {}
    for k in range(len(views), 0, -1):
        for sub in itertools.combinations(views, k):
            m = compute_metrics(score_for_metrics(model, val, demos, views=list(sub))[0])
            out["+".join(sub)] = {x: None if m[x] is None else round(m[x], 3) for x in KEYS}
            print(ckpt, q, "+".join(sub), out["+".join(sub)], flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ckpt", default="outputs/reward/default")
    ap.add_argument("--data-root", default="outputs/data")
    ap.add_argument(
        "--process-std", default="", help="comma list of process noises [Φ] (default: the ckpt's)"
    )
    ap.add_argument("--name", default="reward_views")
    args = ap.parse_args()
    torch.set_num_threads(1)
    res = {"load_start": os.getloadavg(), "checkpoints": {}}
    qs = [float(q) for q in args.process_std.split(",") if q] or [None]
    for ckpt in args.ckpt.split(","):
        for q in qs:
            key = ckpt if q is None else f"{ckpt}|process_std={q}"
            res["checkpoints"][key] = views_table(ckpt, args.data_root, q)
    write_result(args.name, res, command_line("bench_reward_views", None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
