"""Imitation-only multi-task VLA: success per task over several training seeds (Wilson CIs).

One process: expert demos of every task (in parallel workers) -> one VLA per training seed on
all tasks (paraphrased instructions) -> closed-loop evaluation of every checkpoint on every task
(workers, CPU, one torch thread each; evaluation seeds 1000+ never seen in the demos). Also
measured: success with a HELD-OUT paraphrase of each task's instruction, and with ANOTHER
task's instruction in the same scene (instruction following: it should drop).

State-only (``state=privileged``: Meta-World's raw observation of hand, objects and goal),
because rendering is too slow on the CPU machines. This is the "before" number that RFT/TPO
must beat. Writes ``bench/results/<name>.json`` and checkpoints ``<ckpt_dir>/<prefix>-s<seed>/``.

    python -m bench.bench_vla --device cuda --jobs 15
    python -m bench.bench_vla --export-text-cache .vlacarry/text.npz   # MiniLM embeddings,
        # for machines without the MiniLM package: pass --text-cache there
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

TASKS = "metaworld/reach,metaworld/push,metaworld/pick-place,metaworld/drawer-open"
_W: dict[str, Any] = {}


def _load_text_cache(path: str | None) -> None:
    """Pre-fill the instruction-embedding cache from an npz written by --export-text-cache."""
    if not path:
        return
    from robo.reward.text import load_text_cache

    load_text_cache(path)


def _init_worker(text_cache: str | None) -> None:
    import torch

    torch.set_num_threads(1)
    _load_text_cache(text_cache)


def _demo(task: str, seed: int, state: str, cameras: tuple[str, ...], size: int) -> Any:
    from robo.cli.vla_envs import vla_env
    from robo.data.collect import run_seed

    key = ("env", task)
    if key not in _W:
        _W[key] = vla_env(task, state, cameras, **({"image_size": size} if cameras else {}))
    return run_seed(_W[key], "expert", seed, {})


def _evaluate(
    ckpt: str,
    task: str,
    seed: int,
    instruction: str | None,
    state: str,
    max_steps: int | None,
    temperature: float | None,
) -> dict:
    """One closed-loop episode of checkpoint ``ckpt`` on ``task`` (``instruction`` replaces the
    env's own when given; ``temperature`` the checkpoint's sampling temperature)."""
    import gymnasium as gym
    import torch

    from robo.cli.vla_envs import vla_env
    from robo.eval.policy_eval import run_episode
    from robo.policy import load_policy

    if ("policy", ckpt) not in _W:
        _W[("policy", ckpt)] = load_policy(ckpt)
    policy = _W[("policy", ckpt)]
    if temperature is not None:
        policy.config.temperature = temperature
    key = ("eval_env", task)
    if key not in _W:
        cams = tuple(policy.config.cameras)
        over = {"max_episode_steps": max_steps} if max_steps else {}
        if cams:
            over["image_size"] = int(policy.meta.get("render_size", policy.config.image_size))
        _W[key] = vla_env(task, state, cams, **over)
    env = _W[key]
    if instruction is not None:

        class Say(gym.ObservationWrapper):
            def observation(self, obs: dict) -> dict:
                return {**obs, "instruction": instruction}

        env = Say(env)
    t0 = time.perf_counter()
    invalid = fallback = nfe = 0
    sample = policy.sample

    def counting_sample(*a: Any, **k: Any) -> torch.Tensor:
        nonlocal invalid, fallback, nfe
        out = sample(*a, **k)
        invalid += policy.last_info["invalid"]
        fallback += policy.last_info["fallback"]
        nfe += policy.last_info["nfe"]
        return out

    policy.sample = counting_sample
    try:
        log = run_episode(env, policy, seed, generator=torch.Generator().manual_seed(seed))
    finally:
        del policy.sample
    return {
        "success": bool(log.success), "steps": log.steps, "chunks": len(log.ms),
        "ms_per_chunk": float(np.mean(log.ms)) if log.ms else float("nan"),
        "invalid": invalid, "fallback": fallback, "seconds": time.perf_counter() - t0,
        "nfe_per_chunk": nfe / max(1, len(log.ms)),
    }  # fmt: skip


def summarize(outcomes: list[bool]) -> dict[str, Any]:
    from robo.eval.stats import success_summary

    return success_summary(outcomes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default=TASKS)
    ap.add_argument("--demos", type=int, default=40, help="expert demos per task")
    ap.add_argument("--seeds", default="0,1,2", help="training seeds (one VLA each)")
    ap.add_argument("--episodes", type=int, default=30, help="eval episodes per task and seed")
    ap.add_argument("--held-out-episodes", type=int, default=10)
    ap.add_argument("--swap-episodes", type=int, default=10)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--horizon", type=int, default=8)
    ap.add_argument("--executed", type=int, default=4)
    ap.add_argument("--tokenizer", default="bins", choices=("bins", "fast"),
                    help="per-dimension bins or FAST-style DCT + BPE")  # fmt: skip
    ap.add_argument("--bins", type=int, default=128)
    ap.add_argument("--fast-scale", type=float, default=10.0, help="DCT scale (tokenizer=fast)")
    ap.add_argument("--fast-vocab", type=int, default=256, help="BPE vocab (tokenizer=fast)")
    ap.add_argument("--grammar", action="store_true", help="sample and score only decodable chunks")
    ap.add_argument("--no-fast-counts", action="store_true",
                    help="FAST without the coefficient-count embedding (ablation)")  # fmt: skip
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--state-noise", type=float, default=0.0)
    ap.add_argument("--state", default="privileged")
    ap.add_argument("--cameras", default="", help="e.g. front,side,wrist ('' = state-only)")
    ap.add_argument("--image-size", type=int, default=64, help="policy input size [px]")
    ap.add_argument("--render-size", type=int, default=64, help="env render size [px]")
    ap.add_argument("--max-steps", type=int, default=None, help="evaluation episode limit override")
    ap.add_argument("--eval-temperature", type=float, default=None, help="override at eval")
    ap.add_argument("--eval-only", action="store_true", help="evaluate existing checkpoints")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--text-cache", default=None)
    ap.add_argument("--export-text-cache", default=None)
    ap.add_argument("--ckpt-dir", default="outputs/policies")
    ap.add_argument("--prefix", default="vla-metaworld4")
    ap.add_argument("--name", default="vla")
    args = ap.parse_args(argv)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]

    import torch

    import sims  # noqa: F401  (torchvision before any GL context)

    torch.set_num_threads(1)
    if args.export_text_cache:
        from robo.policy.vla.instructions import HELD_OUT, paraphrases
        from robo.reward.text import save_text_cache

        texts = [s for t in tasks for s in paraphrases(t, sims.make(t).unwrapped.instruction)]
        texts += [s for t in tasks for s in HELD_OUT.get(t, ())]
        n = save_text_cache(args.export_text_cache, texts)
        print(f"wrote {n} embeddings to {args.export_text_cache}")
        return 0
    _load_text_cache(args.text_cache)

    from robo.policy import save_policy
    from robo.policy.vla import HELD_OUT, VLAConfig
    from robo.policy.vla.train import VLATrainConfig, train_vla

    t_start = time.time()
    ctx = mp.get_context("fork")  # forked before CUDA is touched
    pool = cf.ProcessPoolExecutor(
        args.jobs, ctx, initializer=_init_worker, initargs=(args.text_cache,)
    )
    ev = (args.state, args.max_steps, args.eval_temperature)
    cameras = tuple(c for c in args.cameras.split(",") if c)
    seeds = [int(s) for s in args.seeds.split(",")]
    n_demos = 0 if args.eval_only else args.demos
    demo_futs = [
        pool.submit(_demo, t, i, args.state, cameras, args.render_size)
        for t in tasks
        for i in range(n_demos)
    ]
    episodes = [f.result() for f in demo_futs]
    ok = [ep for ep in episodes if ep.success.any()]
    t_demos = time.time() - t_start
    print(f"{len(episodes)} demos ({len(ok)} successful) in {t_demos:.0f}s", flush=True)
    canonical = {t: sims.make(t).unwrapped.instruction for t in tasks}
    if not ok and not args.eval_only:
        raise SystemExit("no successful demonstrations (hint: check the tasks' experts)")
    if args.eval_only:
        from robo.policy import load_policy

        trained = {s: load_policy(Path(args.ckpt_dir) / f"{args.prefix}-s{s}") for s in seeds}
        config = trained[seeds[0]].config
    else:
        config = VLAConfig(
            action_dim=int(ok[0].action.shape[1]), state_dim=int(ok[0].state.shape[1]),
            horizon=args.horizon, executed=args.executed, tokenizer=args.tokenizer,
            bins=args.bins, fast_scale=args.fast_scale, fast_vocab=args.fast_vocab,
            grammar=args.grammar, fast_counts=not args.no_fast_counts,
            d_model=args.d_model,
            layers=args.layers, temperature=args.temperature, cameras=cameras,
            image_size=args.image_size,
        )  # fmt: skip
    shared = [
        t for t in tasks if t in ("metaworld/reach", "metaworld/push", "metaworld/pick-place")
    ]
    jobs: list[tuple[str, int, str, int, cf.Future]] = []
    train_stats = {}
    ckpts = {}
    for seed in seeds:
        out = Path(args.ckpt_dir) / f"{args.prefix}-s{seed}"
        ckpts[seed] = str(out)
        if args.eval_only:
            train_stats[seed] = trained[seed].meta.get("train", {})
        else:
            t0 = time.time()
            policy, stats = train_vla(
                ok, config,
                VLATrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                               state_noise=args.state_noise, seed=seed, log_every=500),
                device=args.device, progress=False,
            )  # fmt: skip
            stats["wall_s"] = time.time() - t0
            train_stats[seed] = stats
            meta = {"task": tasks[0], "tasks": tasks, "state": args.state, "goal_in_state": False,
                    "demos": len(ok), "train": stats, "bench": "bench/bench_vla.py",
                    "render_size": args.render_size}  # fmt: skip
            save_policy(policy.cpu(), out, meta=meta)
            print(
                f"seed {seed}: trained in {stats['wall_s']:.0f}s, "
                f"nll {stats['loss_last']:.3f} -> {out}",
                flush=True,
            )
        for task in tasks:
            for i in range(args.episodes):
                fut = pool.submit(_evaluate, str(out), task, 1000 + i, None, *ev)
                jobs.append(("nominal", seed, task, i, fut))
            held = HELD_OUT.get(task, ())
            for i in range(args.held_out_episodes if held else 0):
                fut = pool.submit(_evaluate, str(out), task, 1000 + i, held[0], *ev)
                jobs.append(("held_out", seed, task, i, fut))
            if task in shared and len(shared) > 1:
                other = shared[(shared.index(task) + 1) % len(shared)]
                for i in range(args.swap_episodes):
                    fut = pool.submit(
                        _evaluate,
                        str(out),
                        task,
                        1000 + i,
                        canonical[other],
                        *ev,
                    )
                    jobs.append(("swapped", seed, task, i, fut))
    t_train_done = time.time()
    results: dict[str, Any] = {}
    for kind, seed, task, _, fut in jobs:
        r = fut.result()
        results.setdefault(kind, {}).setdefault(task, {}).setdefault(seed, []).append(r)
    pool.shutdown()
    t_total = time.time() - t_start

    per_task, table = {}, {}
    for kind, by_task in results.items():
        table[kind] = {}
        for task, by_seed in by_task.items():
            flat = [r["success"] for rs in by_seed.values() for r in rs]
            table[kind][task] = {
                **summarize(flat),
                "per_seed": {
                    s: float(np.mean([r["success"] for r in rs])) for s, rs in by_seed.items()
                },
            }
    for task in tasks:
        rs = [r for rs in results["nominal"][task].values() for r in rs]
        per_task[task] = {
            "mean_steps": float(np.mean([r["steps"] for r in rs])),
            "ms_per_chunk": float(np.mean([r["ms_per_chunk"] for r in rs])),
            "nfe_per_chunk": float(np.mean([r.get("nfe_per_chunk", np.nan) for r in rs])),
            "invalid_chunks": int(sum(r["invalid"] for r in rs)),
            "fallback_chunks": int(sum(r["fallback"] for r in rs)),
            "chunks": int(sum(r["chunks"] for r in rs)),
        }
    nominal = table["nominal"]
    seed_means = [float(np.mean([nominal[t]["per_seed"][s] for t in tasks])) for s in seeds]
    payload = {
        "tasks": tasks,
        "state": args.state,
        "cameras": list(cameras),
        "demos_per_task": args.demos,
        "eval_only": bool(args.eval_only),
        "eval_temperature": args.eval_temperature,
        "demos_successful": len(ok),
        "train_seeds": seeds,
        "eval_seeds": [1000, 1000 + args.episodes - 1],
        "config": config.to_dict(),
        "train": {str(k): v for k, v in train_stats.items()},
        "success": nominal,
        "success_mean_over_tasks": float(np.mean([nominal[t]["success"] for t in tasks])),
        "success_mean_per_seed": seed_means,
        "success_held_out_paraphrase": table.get("held_out", {}),
        "success_other_tasks_instruction": table.get("swapped", {}),
        "rollout": per_task,
        "checkpoints": ckpts,
        "device": args.device,
        "cuda": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else None,
        "seconds": {
            "demos": t_demos,
            "train_and_eval": t_total - t_demos,
            "total": t_total,
            "eval_after_last_training": t_total - (t_train_done - t_start),
        },  # fmt: skip
        "load_average": os.getloadavg(),
        "note": f"state={args.state}, cameras={list(cameras) or 'none'}; imitation only",
    }
    from bench.common import command_line, write_result

    write_result(
        args.name,
        payload,
        command_line("bench_vla", argv),
    )
    for t in tasks:
        s = nominal[t]
        print(f"{t:28s} {s['success']:.2f} [{s['ci_low']:.2f}, {s['ci_high']:.2f}] n={s['n']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
