"""A/B of hard negatives (voc_fail): fine-tune one base checkpoint with and without them.

Both arms start from the same checkpoint, see the same training episodes, take the same number
of steps with the same seed; only ``hard_frac`` (share of pairs that end on a failure frame,
:mod:`robo.reward.pairs`) differs. Both, and the base, are scored on episodes the base never
saw (fresh seeds), so the difference is the effect of the hard negatives alone.

Usage: ``python -m bench.bench_reward_hardneg --ckpt outputs/reward/bench_t1
--train-tasks a,b --eval-roots outputs/data_heldout,outputs/data_fresh --hard-frac 0.25
--steps 200 --out <dir> --name reward_hardneg_h25`` (run once per arm; ``--score-base`` in
one of them). The arms may run at the same time and see different fresh episodes if a
collection is still landing, so ``--compare base,armA,armB`` then scores the saved
checkpoints on one and the same episode set (``--eval-sets "root=all;root2=task,task"``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

from bench.bench_reward import git_commit
from bench.common import command_line, write_result
from robo.reward.checkpoint import load_checkpoint, save_checkpoint
from robo.reward.data import load_episodes
from robo.reward.evaluate import score_for_metrics
from robo.reward.metrics import metrics_report
from robo.reward.pairs import EpisodeStore
from robo.reward.train import TrainConfig, train


def _short(m: dict) -> dict:
    return {k: (None if v is None else round(v, 3)) for k, v in m.items()}


def _fresh(tasks: list[str], roots: list[str]) -> list:
    eps = []
    for root in roots:
        present = [t for t in tasks if any(
            os.path.isdir(f"{root}/{t.replace('/', '-')}-{k}") for k in ("expert", "failure")
        )]  # fmt: skip
        if present:
            eps += load_episodes(present, root)
    return eps


def compare(ckpts: list[str], tasks: list[str], sets: str, name: str, cmd: str) -> int:
    """Score each checkpoint on the same episodes; one JSON with all of them."""
    test = []
    for part in (sets or "outputs/data_heldout=all").split(";"):
        root, _, names = part.partition("=")
        chosen = tasks if names in ("", "all") else names.split(",")
        test += _fresh(chosen, [root])
    res: dict = {
        "test_episodes": {k: sum(e.kind == k for e in test) for k in {e.kind for e in test}},
        "git_commit": git_commit(),
        "load_start": os.getloadavg(),
    }
    for ckpt in ckpts:
        rep = metrics_report(score_for_metrics(load_checkpoint(ckpt), test)[0])
        res[ckpt] = _short(rep["overall"])
        res[ckpt + ":per_task"] = {t: _short(v) for t, v in rep["per_task"].items()}
        res.setdefault("time_baseline", _short(rep["baseline_time"]["overall"]))
        write_result(name, res, cmd)
        print(ckpt, res[ckpt], flush=True)
    res["load_end"] = os.getloadavg()
    write_result(name, res, cmd)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--train-tasks", required=True)
    ap.add_argument("--data-root", default="outputs/data")
    ap.add_argument("--eval-roots", default="outputs/data_heldout")
    ap.add_argument("--hard-frac", type=float, default=0.25)
    ap.add_argument("--fail-decay", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0, help="training seed (batches, shifts)")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--score-base", action="store_true")
    ap.add_argument("--out", default=None, help="save the fine-tuned checkpoint here")
    ap.add_argument("--name", required=True)
    ap.add_argument("--compare", default=None, help="comma list of checkpoints to score only")
    ap.add_argument("--eval-sets", default=None, help='"root=all;root2=task,task" (--compare)')
    args = ap.parse_args()
    torch.set_num_threads(1)
    cmd = command_line("bench_reward_hardneg", None)
    tasks = [t for t in args.train_tasks.split(",") if t]
    if args.compare:
        return compare(args.compare.split(","), tasks, args.eval_sets, args.name, cmd)
    res: dict = {
        "ckpt": args.ckpt,
        "hard_frac": args.hard_frac,
        "fail_decay": args.fail_decay,
        "seed": args.seed,
        "git_commit": git_commit(),
        "load_start": os.getloadavg(),
    }
    model = load_checkpoint(args.ckpt)
    train_eps = load_episodes(tasks, args.data_root)
    cfg = model.config
    store = EpisodeStore(train_eps, cfg.views, cfg.image_size, "segments", 48, cfg.text_backend)
    tc = TrainConfig(
        steps=args.steps,
        lr=args.lr,
        eval_every=0,
        hard_frac=args.hard_frac,
        fail_decay=args.fail_decay,
        seed=args.seed,
    )
    t0 = time.monotonic()
    hist = train(model, store, tc, progress=False)
    res["finetune"] = {"steps": hist["steps"], "seconds": round(time.monotonic() - t0, 1)}
    if args.out:
        save_checkpoint(model, args.out, {"train_data": tasks, "base": args.ckpt})
    # test episodes are read after training (fresh collections may still be landing)
    test = _fresh(tasks, [r for r in args.eval_roots.split(",") if r])
    res["test_episodes"] = {k: sum(e.kind == k for e in test) for k in {e.kind for e in test}}
    if args.score_base:
        rep = metrics_report(score_for_metrics(load_checkpoint(args.ckpt), test)[0])
        res["base"] = _short(rep["overall"])
        res["base_per_task"] = {t: _short(v) for t, v in rep["per_task"].items()}
        res["time_baseline"] = _short(rep["baseline_time"]["overall"])
    rep = metrics_report(score_for_metrics(model, test)[0])
    res["tuned"] = _short(rep["overall"])
    res["tuned_per_task"] = {t: _short(v) for t, v in rep["per_task"].items()}
    res["load_end"] = os.getloadavg()
    write_result(args.name, res, cmd)
    print(res["tuned"], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
