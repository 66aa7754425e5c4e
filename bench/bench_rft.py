"""Benchmark of `robo rft`: imitation-only VLA vs chunk-level GRPO, forgetting, wall time.

Per seed (one process each, 1 torch thread): expert demos of every task (Meta-World, the
VLA's ``privileged`` state = Meta-World's standard state observation, no cameras) -> an
imitation VLA (``robo.policy.vla.train_vla``, or ``--policy`` to use an existing checkpoint)
-> its success on ``--eval-episodes`` seeds per task -> offline RFT (QACR/CTAR/FCR against the
same demos, the defaults of configs/rft.yaml unless overridden) -> success again. Continual:
from the same imitation VLA, stages [old tasks], [new task 1], [new task 2]; the drop of the old
tasks' success between the end of their stage and the end of the run is the forgetting.

    python -m bench.bench_rft [--quick] [--seeds 0,1,2] [--jobs 3]

Writes bench/results/rft.json (per-seed and mean success before/after, drops, wall times,
load averages) and bench/results/rft.png.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import RESULTS, write_result

TASKS = (
    "metaworld/reach",
    "metaworld/button-press-topdown",
    "metaworld/drawer-open",
    "metaworld/push",
)


def run_seed(args: dict[str, Any], seed: int) -> dict[str, Any]:
    """Imitation -> RFT -> continual for one seed; returns its metrics."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    from robo.cli.cmd_rft import samples_from_episodes, task_env
    from robo.data.collect import run_seed as expert_episode
    from robo.policy import load_policy
    from robo.policy.vla import VLAConfig
    from robo.policy.vla.train import VLATrainConfig, train_vla
    from robo.rft import GRPOTrainer, RewardWeights, RFTConfig
    from robo.rft.loop import RunConfig, TaskHooks, run_rft

    tasks = list(args["tasks"])
    work = Path(args["work"]) / f"seed{seed}"
    work.mkdir(parents=True, exist_ok=True)
    overrides = {"max_episode_steps": args["max_steps"]}
    t0, c0 = time.time(), time.process_time()
    episodes = []
    for task in tasks:
        env = task_env(task, "privileged")  # demos at full length
        episodes += [
            expert_episode(env, "expert", 100 * seed + i, {}) for i in range(args["demos"])
        ]
        env.close()
    t_demos = time.time() - t0
    ok = [ep for ep in episodes if ep.success.any()]
    print(f"[seed {seed}] {len(ok)}/{len(episodes)} demos in {t_demos:.0f}s", flush=True)
    t1 = time.time()
    policy_path = args["policy"].format(seed=seed) if args["policy"] else None
    if policy_path:
        policy = load_policy(policy_path)
        bc_stats: dict[str, Any] = {"loaded": policy_path}
    else:
        cfg = VLAConfig(
            action_dim=int(ok[0].action.shape[1]), state_dim=int(ok[0].state.shape[1]),
            horizon=args["horizon"], executed=args["executed"], bins=args["bins"],
            d_model=args["d_model"], heads=4, layers=2, text_backend="minilm",
        )  # fmt: skip
        train = VLATrainConfig(steps=args["bc_steps"], batch_size=64, seed=seed, shift_px=0)
        policy, bc_stats = train_vla(ok, cfg, train, progress=False, log=lambda m: None)
        policy.meta = {"tasks": tasks, "state": "privileged", "train": bc_stats}
        policy.save(work / "imitation")
    t_bc = time.time() - t1
    print(f"[seed {seed}] imitation VLA in {t_bc:.0f}s", flush=True)
    samples = samples_from_episodes(ok, policy.horizon)
    by_task = {t: [s for s in samples if s.task == t] for t in tasks}
    hooks = TaskHooks(
        make_env=lambda task: task_env(task, "privileged", **overrides),
        demos=lambda task: by_task[task],
        progress=lambda task: None,
    )
    rft_cfg = RFTConfig(**args["rft"])
    weights = RewardWeights(**args["rewards"])
    eval_seeds = tuple(range(1000, 1000 + args["eval_episodes"]))

    def log(msg: str) -> None:
        print(f"[seed {seed}] {msg}", flush=True)

    t2, c2 = time.time(), time.process_time()
    out: dict[str, Any] = {
        "seed": seed,
        "demos": len(ok),
        "bc": {k: v for k, v in bc_stats.items() if isinstance(v, (int, float, str))},
    }
    if not args["continual_only"]:
        main = run_rft(
            GRPOTrainer(policy, rft_cfg, weights), tasks, hooks,
            RunConfig(steps=args["rft_steps"], eval_seeds=eval_seeds, seed=seed), log=log,
        )  # fmt: skip
        t_rft, c_rft = time.time() - t2, time.process_time() - c2
        policy.save(work / "rft")
        out |= {
            "success_imitation": main["success"]["before"],
            "success_rft": main["success"]["after_0"],
            "curves": [
                {k: c[k] for k in ("reward", "kl", "entropy", "clip_frac") if k in c}
                for c in main["curves"]
            ],
            "seconds": {"demos": t_demos, "bc": t_bc, "rft_run": t_rft},
            # CPU seconds of this 1-thread process: the wall time with a core to itself
            "cpu_seconds": {"until_rft": c2 - c0, "rft_run": c_rft},
            "load_average_after_rft": os.getloadavg(),
        }
    if args["continual"]:
        cont_policy = load_policy(policy_path or work / "imitation")
        stages = [tasks[:2], [tasks[2]], [tasks[3]]]
        t3, c3 = time.time(), time.process_time()
        cont = run_rft(
            GRPOTrainer(cont_policy, rft_cfg, weights), tasks, hooks,
            RunConfig(steps=args["rft_steps"], eval_seeds=eval_seeds, seed=seed, stages=stages,
                      replay=args["replay"], eval_stages=[0]),
            log=log, before=main["success"]["before"] if "success_imitation" in out else {},
        )  # fmt: skip
        out["continual"] = {
            "stages": stages,
            "success": cont["success"],
            "transfer": cont["transfer"],
            "seconds": time.time() - t3,
            "cpu_seconds": time.process_time() - c3,
        }
    out["load_average_end"] = os.getloadavg()
    (work / "metrics.json").write_text(json.dumps(out, indent=2))
    return out


def summarise(per_seed: list[dict[str, Any]], tasks: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    if all("success_rft" in r for r in per_seed):
        summary |= summarise_lift(per_seed, tasks)
    drops = [r["continual"]["transfer"]["old_drop_points"] for r in per_seed if "continual" in r]
    if drops:
        summary["continual_old_drop_points_per_seed"] = drops
        summary["continual_old_drop_points"] = float(np.mean(drops))
        summary["continual_success"] = [r["continual"]["success"] for r in per_seed]
        summary["continual_cpu_minutes_per_seed"] = [
            r["continual"]["cpu_seconds"] / 60 for r in per_seed
        ]
        summary["target_old_drop_points"] = 5.0
    return summary


def summarise_lift(per_seed: list[dict[str, Any]], tasks: list[str]) -> dict[str, Any]:
    imit = np.array([[r["success_imitation"][t] for t in tasks] for r in per_seed])
    rft = np.array([[r["success_rft"][t] for t in tasks] for r in per_seed])
    summary: dict[str, Any] = {
        "imitation_mean": float(imit.mean()),
        "rft_mean": float(rft.mean()),
        "lift_points": float(100 * (rft.mean() - imit.mean())),
        "lift_points_per_seed": [float(x) for x in 100 * (rft.mean(1) - imit.mean(1))],
        "per_task_imitation": dict(zip(tasks, imit.mean(0).tolist())),
        "per_task_rft": dict(zip(tasks, rft.mean(0).tolist())),
        "rft_run_minutes_per_seed": [r["seconds"]["rft_run"] / 60 for r in per_seed],
        "rft_run_cpu_minutes_per_seed": [r["cpu_seconds"]["rft_run"] / 60 for r in per_seed],
        "target_lift_points": 15.0,
    }
    return summary


def plot(summary: dict[str, Any], tasks: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(tasks))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(
        x - 0.2, [100 * summary["per_task_imitation"][t] for t in tasks], 0.4, label="imitation VLA"
    )
    ax.bar(x + 0.2, [100 * summary["per_task_rft"][t] for t in tasks], 0.4, label="+ offline RFT")
    ax.set_xticks(x)
    ax.set_xticklabels([t.split("/")[-1] for t in tasks], fontsize=8)
    ax.set_ylabel("success [%] (mean over seeds)")
    ax.set_ylim(0, 105)
    ax.legend()
    ax.set_title(f"RFT lift {summary['lift_points']:+.1f} points")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--jobs", type=int, default=3)
    p.add_argument("--demos", type=int, default=10, help="expert episodes per task")
    p.add_argument("--bc-steps", type=int, default=1500)
    p.add_argument("--horizon", type=int, default=4)
    p.add_argument("--executed", type=int, default=4)
    p.add_argument("--bins", type=int, default=64)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--rft-steps", type=int, default=40)
    p.add_argument("--eval-episodes", type=int, default=10)
    p.add_argument("--max-steps", type=int, default=150, help="episode cap during evaluation")
    p.add_argument("--replay", type=float, default=0.25)
    p.add_argument("--no-continual", action="store_true")
    p.add_argument("--continual-only", action="store_true", help="skip the main RFT run")
    p.add_argument(
        "--policy", default=None,
        help="existing VLA checkpoint instead of training ({seed} is replaced by the seed)",
    )  # fmt: skip
    p.add_argument("--rft", default="{}", help='JSON overrides of RFTConfig, e.g. {"lr": 3e-4}')
    p.add_argument("--rewards", default="{}", help="JSON overrides of the reward weights")
    p.add_argument("--work", default="outputs/bench_rft")
    p.add_argument("--name", default="rft")
    p.add_argument("--quick", action="store_true", help="tiny budget (smoke)")
    a = p.parse_args()
    from omegaconf import OmegaConf

    defaults = OmegaConf.load(Path(__file__).resolve().parents[1] / "configs" / "rft.yaml")
    rft = {**OmegaConf.to_container(defaults.rft), **json.loads(a.rft)}
    rewards = {**OmegaConf.to_container(defaults.rewards), **json.loads(a.rewards)}
    args = {
        "tasks": a.tasks.split(","), "demos": a.demos, "bc_steps": a.bc_steps,
        "horizon": a.horizon, "executed": a.executed, "bins": a.bins, "d_model": a.d_model,
        "rft_steps": a.rft_steps, "eval_episodes": a.eval_episodes, "max_steps": a.max_steps,
        "replay": a.replay, "continual": not a.no_continual,
        "continual_only": a.continual_only, "policy": a.policy, "rft": rft,
        "rewards": rewards, "work": a.work,
    }  # fmt: skip
    if a.quick:
        args.update(demos=2, bc_steps=30, rft_steps=2, eval_episodes=2, max_steps=20)
        args["rft"] = {**rft, "obs_per_step": 4, "group_size": 2}
    seeds = [int(s) for s in a.seeds.split(",")]
    t0 = time.time()
    load0 = os.getloadavg()
    if a.jobs > 1 and len(seeds) > 1:
        import multiprocessing as mp

        with ProcessPoolExecutor(min(a.jobs, len(seeds)), mp_context=mp.get_context("spawn")) as ex:
            per_seed = list(ex.map(run_seed, [args] * len(seeds), seeds))
    else:
        per_seed = [run_seed(args, s) for s in seeds]
    summary = summarise(per_seed, args["tasks"])
    name = a.name + ("_quick" if a.quick else "")
    if "per_task_rft" in summary:
        plot(summary, args["tasks"], RESULTS / f"{name}.png")
    write_result(
        name,
        {
            "summary": summary, "args": args, "per_seed": per_seed,
            "wall_seconds": time.time() - t0, "load_average_start": load0,
            "load_average_end": os.getloadavg(),
            "note": "imitation VLA trained here by bench_rft (state-only, privileged Meta-World state)"
            if not a.policy else f"imitation VLA loaded from {a.policy}",
        },
        "python -m bench.bench_rft " + " ".join(sys.argv[1:]),
    )  # fmt: skip


if __name__ == "__main__":
    main()
