"""Reward-model quality: held-out metrics vs the time-only baseline, ablations, one-shot.

Phases (each reported in ``bench/results/reward.json``):

1. optional ``--collect``: record expert / failure / rewind episodes of every task;
2. train the GRM on the training tasks (held-out episodes per task kept aside);
3. held-out metrics of the model and of the time-only baseline (Φ = t/T);
4. ablations on the same held-out episodes: 1 view vs all views, incremental-only vs fused
   perspectives, and (``--ablate-labels``) a second model trained without automatic subtask
   segmentation (labels linear in time);
5. one-shot on each unseen task: zero-shot (goal frame of the one demo) vs adapted from that
   demo (with replay), and ``forget`` = drop of held-out voc_s on the training tasks.

Usage: ``python -m bench.bench_reward [--quick] [--collect] [--train-tasks a,b] [--unseen-tasks c]
[--minutes 10] [--ablate-labels]``. The default task lists are the issue's full sets; pass
smaller lists on a shared 2-core CPU.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time

import numpy as np
import torch

from bench.common import command_line, write_result
from robo.reward.adapt import AdaptConfig, adapt_one_shot
from robo.reward.checkpoint import load_checkpoint, read_meta, save_checkpoint
from robo.reward.data import DEFAULT_TRAIN_TASKS, UNSEEN_TASKS, load_episodes, split_episodes
from robo.reward.evaluate import pick_demos, score_for_metrics
from robo.reward.labels import first_success
from robo.reward.metrics import compute_metrics, metrics_report
from robo.reward.model import ProgressRewardModel, RewardModelConfig
from robo.reward.pairs import EpisodeStore
from robo.reward.scoring import PERSPECTIVES
from robo.reward.train import TrainConfig, train


def collect_tasks(tasks: list[str], root: str, experts: int, failures: int, rewinds: int) -> None:
    from robo.data.collect import collect

    for task in tasks:
        stem = f"{root}/{task.replace('/', '-')}"
        collect(task, experts, f"{stem}-expert", kind="expert")
        if failures:
            collect(task, failures, f"{stem}-failure", kind="failure", seed=100,
                    overrides={"max_episode_steps": 100})  # fmt: skip
        if rewinds:
            collect(task, rewinds, f"{stem}-rewind", kind="rewind", seed=200)


def load_selected(
    tasks: list[str], root: str, held: set[tuple], replay_per_task: int
) -> tuple[list, list]:
    """(held-out episodes, a few training episodes per task for replay), decoding only those.

    Replay takes ``replay_per_task`` experts of every task and one other kind of every other
    task; decoding every training episode of 26 tasks takes minutes on a busy CPU.
    """
    from robo.data import EpisodeReader
    from robo.reward.data import resolve_sources

    val, replay = [], []
    for i, src in enumerate(resolve_sources(tasks, root)):
        reader = EpisodeReader(src)
        keys = [(e["task"], e["kind"], int(e["seed"])) for e in reader.entries]
        budget = replay_per_task if src.name.endswith("-expert") else int(i % 2 == 0)
        for j, key in enumerate(keys):
            if key in held:
                val.append(reader.read(j))
            elif budget > 0:
                replay.append(reader.read(j))
                budget -= 1
    return val, replay


def fit(
    train_eps, labels: str, steps: int, seconds: float, val_eps, text: str, seed: int | None = None
) -> tuple:
    """Train a fresh model; ``seed`` None keeps the process's default torch generator for the
    initial weights and training seed 0 (how the recorded runs were made)."""
    cfg = RewardModelConfig(text_backend=text)
    store = EpisodeStore(train_eps, cfg.views, cfg.image_size, labels, 48, text)
    if seed is not None:
        torch.manual_seed(seed)
    model = ProgressRewardModel(cfg)
    tc = TrainConfig(
        steps=steps, time_limit_s=seconds, eval_every=max(steps // 6, 50), seed=seed or 0
    )
    demos = pick_demos(train_eps, per_task=1)
    hist = train(model, store, tc, val_eps, progress=False, val_demos=demos)
    return model, hist


def per_perspective(model, episodes, demos) -> dict:
    """voc_s / auroc / voc_fail of each perspective alone (no reversed scoring, to stay quick).

    Says which estimate carries the fused number on an unseen task (session 17: on
    place-cube-in-bin the incremental estimate alone holds up while the anchored ones do not).
    """
    out = {}
    for p in PERSPECTIVES:
        m = compute_metrics(score_for_metrics(model, episodes, demos, perspectives=(p,),
                                              reverse=False)[0])  # fmt: skip
        out[p] = {k: m[k] for k in ("voc_s", "auroc", "voc_fail")}
    return out


def no_goal_metrics(model, episodes, demos) -> dict:
    """Metrics with no goal frame at all: no backward perspective, and the hop network's goal
    input left empty (as under training's goal dropout). Asks whether an adapted model still
    needs the demo's goal frame, which shows one layout only (session 18)."""
    return compute_metrics(score_for_metrics(model, episodes, demos, use_goal=False)[0])


def git_commit() -> str:
    """HEAD of the checkout the bench ran from ("" outside git)."""
    import subprocess

    out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip()


def _short(m: dict) -> dict:
    return {k: (None if v is None else round(v, 3)) for k, v in m.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train-tasks", default=",".join(DEFAULT_TRAIN_TASKS))
    ap.add_argument("--unseen-tasks", default=",".join(UNSEEN_TASKS))
    ap.add_argument("--data-root", default="outputs/data")
    ap.add_argument("--collect", action="store_true")
    ap.add_argument("--experts", type=int, default=6)
    ap.add_argument("--minutes", type=float, default=20.0, help="training budget [min]")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--ablate-labels", action="store_true")
    ap.add_argument("--seed", type=int, default=None, help="training seed (weights, batches)")
    ap.add_argument("--ablate-minutes", type=float, default=None, help="default: --minutes")
    ap.add_argument("--adapt-seconds", type=float, default=150.0)
    ap.add_argument("--adapt-steps", type=int, default=300, help="cap (with --adapt-seconds)")
    ap.add_argument(
        "--adapt-seed", type=int, default=0, help="seed of the demo's variants and batches"
    )
    ap.add_argument(
        "--adapt-arms",
        default="adapted=0:0",
        help="comma list name=hard_frac:fail_decay of adaptation settings to compare",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--text", default="minilm", help="minilm | hash")
    ap.add_argument("--out", default="outputs/reward/bench")
    ap.add_argument("--ckpt", default=None, help="evaluate this checkpoint instead of training")
    ap.add_argument("--no-ablations", action="store_true")
    ap.add_argument(
        "--demos",
        type=int,
        default=1,
        help="unseen tasks: adapt on the first N successful experts (1 = one-shot), test on the rest",
    )
    ap.add_argument(
        "--perspectives",
        action="store_true",
        help="one-shot: also score each perspective alone (voc_s, auroc, voc_fail)",
    )
    ap.add_argument(
        "--no-goal",
        action="store_true",
        help="one-shot: also score zero-shot and adapted without the demo's goal frame",
    )
    ap.add_argument("--replay-per-task", type=int, default=2, help="--ckpt: replay experts/task")
    ap.add_argument("--name", default=None, help="result file name (default: reward[_one_shot])")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.minutes, args.steps, args.adapt_seconds = 3.0, 400, 45.0
    torch.set_num_threads(args.threads)
    train_tasks = [t for t in args.train_tasks.split(",") if t]
    unseen = [t for t in args.unseen_tasks.split(",") if t]
    res: dict = {
        "train_tasks": train_tasks,
        "unseen_tasks": unseen,
        "git_commit": git_commit(),
        "load_start": os.getloadavg(),
    }
    t0 = time.monotonic()
    if args.collect:
        collect_tasks(train_tasks + unseen, args.data_root, args.experts, 2, 2)
    res["collect_s"] = round(time.monotonic() - t0, 1)

    held = {tuple(k) for k in read_meta(args.ckpt).get("held_out", [])} if args.ckpt else set()
    if held:  # the checkpoint's own held-out episodes (robo train-reward records them)
        val_eps, train_eps = load_selected(train_tasks, args.data_root, held, args.replay_per_task)
    else:
        eps = load_episodes(train_tasks, args.data_root)
        train_eps, val_eps = split_episodes(eps, 0.2, seed=0)
        del eps
    res["episodes"] = {"train": len(train_eps), "held_out": len(val_eps)}
    print(f"{len(train_eps)} train / {len(val_eps)} held-out episodes", flush=True)
    t1 = time.monotonic()
    if args.ckpt:
        model = load_checkpoint(args.ckpt)
        res["train"] = {"loaded": args.ckpt}
    else:
        model, hist = fit(
            train_eps, "segments", args.steps, 60 * args.minutes, val_eps, args.text, args.seed
        )
        res["train"] = {"steps": hist["steps"], "seconds": round(time.monotonic() - t1, 1)}
        save_checkpoint(model, args.out, {"train_data": train_tasks, "data_root": args.data_root})

    # Goal frames for held-out episodes: one training demo per task (never their own frames).
    train_demos = pick_demos(train_eps, per_task=1)

    def held_out(m, **kw) -> dict:
        return metrics_report(score_for_metrics(m, val_eps, train_demos, **kw)[0])

    rep = held_out(model)
    res["held_out"] = {
        "model": _short(rep["overall"]),
        "time_baseline": _short(rep["baseline_time"]["overall"]),
    }
    res["held_out_per_task"] = {t: _short(v) for t, v in rep["per_task"].items()}
    print("held-out", res["held_out"], flush=True)
    cmd = command_line("bench_reward", None)
    name = args.name or ("reward_one_shot" if args.ckpt else "reward")
    write_result(name, res, cmd)  # partial results survive a later crash
    abl = {"all_views_fused": res["held_out"]["model"]}
    if args.no_ablations:
        args.ablate_labels = False
    if not args.no_ablations:
        abl["one_view_front"] = _short(held_out(model, views=["front"])["overall"])
        abl["incremental_only"] = _short(held_out(model, perspectives=["incremental"])["overall"])
        abl["no_goal_frame"] = _short(held_out(model, use_goal=False)["overall"])
    if args.ablate_labels:
        minutes = args.ablate_minutes or args.minutes
        m2, _ = fit(train_eps, "time", args.steps, 60 * minutes, val_eps, args.text, args.seed)
        save_checkpoint(m2, f"{args.out}-time", {"train_data": train_tasks, "labels": "time"})
        abl["segments_same_budget"] = None
        if args.ablate_minutes and args.ablate_minutes != args.minutes:
            m3, _ = fit(
                train_eps, "segments", args.steps, 60 * minutes, val_eps, args.text, args.seed
            )
            abl["segments_same_budget"] = _short(held_out(m3)["overall"])
        abl["labels_time_no_segmentation"] = _short(held_out(m2)["overall"])
    res["ablations"] = abl
    print("ablations", abl, flush=True)
    write_result(name, res, cmd)

    base_seen = compute_metrics(score_for_metrics(model, val_eps, train_demos, reverse=False)[0])[
        "voc_s"
    ]
    replay = [e for e in train_eps if e.kind == "expert"][:: max(1, len(train_eps) // 40)]
    others = [e for e in train_eps if e.kind != "expert"]
    replay += others[:: max(1, len(others) // 10)]
    del train_eps, others  # only the replay subset is needed from here on
    one_shot = {}
    if unseen:
        unseen_eps = load_episodes(unseen, args.data_root)
    for task in unseen:
        task_eps = [e for e in unseen_eps if e.task == task]
        demos = [e for e in task_eps if e.kind == "expert" and first_success(e) is not None]
        if not demos:
            one_shot[task] = "no successful demo"
            continue
        shots = demos[: args.demos]
        if len(shots) < args.demos:
            one_shot[task] = f"{len(shots)} successful demos, --demos {args.demos}"
            continue
        test = [e for e in task_eps if all(e is not d for d in shots)]
        goal = {task: shots}  # goal frames from the first of them (score_for_metrics)
        zero = compute_metrics(score_for_metrics(model, test, goal)[0])
        one_shot[task] = {
            "zero_shot": _short(zero),
            "test_episodes": len(test),
            "demo_seeds": [int(d.seed) for d in shots],
        }
        if args.perspectives:
            one_shot[task]["zero_shot_perspectives"] = per_perspective(model, test, goal)
        if args.no_goal:
            one_shot[task]["zero_shot_no_goal"] = _short(no_goal_metrics(model, test, goal))
        for arm in args.adapt_arms.split(","):
            arm_name, _, spec = arm.partition("=")
            hard, _, decay = (spec or "0:0").partition(":")
            adapted = copy.deepcopy(model)
            acfg = AdaptConfig(
                steps=args.adapt_steps,
                time_limit_s=args.adapt_seconds,
                hard_frac=float(hard),
                fail_decay=float(decay or 0),
                seed=args.adapt_seed,
            )
            ta = time.monotonic()
            hist = adapt_one_shot(adapted, shots, replay, acfg, progress=False)
            t_adapt = time.monotonic() - ta
            after = compute_metrics(score_for_metrics(adapted, test, goal)[0])
            seen = compute_metrics(
                score_for_metrics(adapted, val_eps, train_demos, reverse=False)[0]
            )["voc_s"]
            one_shot[task][arm_name] = _short(after)
            if args.perspectives:
                one_shot[task][f"{arm_name}_perspectives"] = per_perspective(adapted, test, goal)
            if args.no_goal:
                one_shot[task][f"{arm_name}_no_goal"] = _short(no_goal_metrics(adapted, test, goal))
            one_shot[task][f"{arm_name}_info"] = {
                "hard_frac": float(hard),
                "fail_decay": float(decay or 0),
                "seed": args.adapt_seed,
                "steps": hist["steps"],
                "adapt_seconds": round(t_adapt, 1),
                "forget": None if base_seen is None else round(base_seen - (seen or 0.0), 4),
            }
            print(task, arm_name, one_shot[task][arm_name], flush=True)
        print(task, one_shot[task], flush=True)
        res["one_shot"] = one_shot
        write_result(name, res, cmd)
    res["one_shot"] = one_shot
    vals = [v for v in one_shot.values() if isinstance(v, dict)]
    phases = ["zero_shot"] + [a.partition("=")[0] for a in args.adapt_arms.split(",")]
    if vals:
        res["one_shot_mean"] = {
            f"{phase}_{k}": round(
                float(np.mean([v[phase][k] for v in vals if v[phase][k] is not None])), 3
            )
            for phase in phases
            for k in ("voc_s", "auroc", "voc_fail")
            if any(v[phase][k] is not None for v in vals)
        }
        for phase in phases[1:]:
            res["one_shot_mean"][f"{phase}_forget"] = round(
                float(np.mean([v[f"{phase}_info"]["forget"] or 0 for v in vals])), 4
            )
    res["total_s"] = round(time.monotonic() - t0, 1)
    res["load_end"] = os.getloadavg()
    write_result(name, res, cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
