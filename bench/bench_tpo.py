"""TPO benchmark: imitation-only token VLA vs trajectory DPO (success and safety objectives).

Per seed: scripted-expert demos (expert + ``noisy`` kinds) of every task -> a small state-only
:class:`robo.policy.vla.VLAPolicy` trained by behaviour cloning (token cross-entropy; privileged
low-dimensional state: hand xyz, gripper, object xyz, goal xyz) -> ``robo.tpo.run_tpo`` for
``--rounds`` rounds with the ``success`` objective on all tasks; held-out initial states are
evaluated before round 1 (= the imitation-only policy) and after every round.

Safety part (``--safety-task``, obstacle shift): demos mix the obstacle-avoiding expert with
the one that ignores the obstacle, so the BC policy collides part of the time; TPO with the
``safety`` objective (success first, then collision steps measured from MuJoCo contacts) is
compared with the BC policy on success and collision steps per episode.

Usage::

    python -m bench.bench_tpo [--tasks metaworld/reach,...] [--seeds 3] [--rounds 3]
        [--demos 10] [--bc-steps 300] [--train-seeds 4] [--eval-seeds 5]
        [--ckpt-prefix outputs/policies/vla-metaworld4-d20-s]  # trained VLA per seed instead of BC
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np

from bench.common import command_line, write_result

TASKS = "metaworld/reach,metaworld/push,metaworld/button-press-topdown,metaworld/drawer-open"


def priv_env(task: str, shift: str | None, max_steps: int) -> Any:
    """Meta-World task whose ``obs["state"]`` is float32[10]: hand xyz [m], gripper opening,
    object xyz [m], goal xyz [m] (privileged; the policy sees no images)."""
    import gymnasium as gym

    import sims

    class PrivState(gym.ObservationWrapper):
        def observation(self, obs: dict) -> dict:
            raw = self.env.unwrapped.raw_observation
            state = np.concatenate([raw[:7], raw[-3:]]).astype(np.float32)
            return {**obs, "state": state}

    return PrivState(sims.make(task, shift=shift, render=False, max_episode_steps=max_steps))


def demos(task: str, n: int, seed: int, shift: str | None, max_steps: int, avoid_mix: bool):
    """(obs list, actions float32[T, 4]) per successful demo episode; experts through the
    task's action space only. ``avoid_mix``: odd episodes ignore the obstacle."""
    from sims.experts.kinds import make_expert

    env = priv_env(task, shift, max_steps)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        kind = "noisy" if i % 2 else "expert"
        params = {"noise": 0.3} if kind == "noisy" else {}
        ex = make_expert(env, kind, rng, **params)
        if avoid_mix and hasattr(ex, "base") and hasattr(ex.base, "avoid_obstacle"):
            ex.base.avoid_obstacle = i % 2 == 0
        obs, info = env.reset(seed=10_000 * (seed + 1) + i)
        ex.reset(env, obs, info)
        seq_o, seq_a, ok = [], [], False
        for _ in range(max_steps):
            a = np.asarray(ex.act(env, obs, info), np.float32)
            seq_o.append(obs)
            seq_a.append(a)
            obs, _, term, trunc, info = env.step(a)
            ok |= bool(info["success"])
            if term or trunc:
                break
        if ok:
            out.append((seq_o, np.asarray(seq_a, np.float32)))
    env.close()
    return out


def train_bc(
    episodes: list, horizon: int, executed: int, steps: int, seed: int, d_model: int, layers: int
) -> Any:
    """A small state-only VLA behaviour-cloned on chunks (windows) of the demos."""
    import torch

    from robo.policy.vla import VLAConfig, VLAPolicy

    torch.manual_seed(seed)
    obs, chunks = [], []
    for seq_o, acts in episodes:
        for t in range(len(acts)):
            idx = np.minimum(np.arange(t, t + horizon), len(acts) - 1)
            obs.append(seq_o[t])
            chunks.append(acts[idx])
    chunks_t = torch.as_tensor(np.stack(chunks))
    states = torch.as_tensor(np.stack([o["state"] for o in obs]))
    cfg = VLAConfig(action_dim=4, state_dim=10, horizon=horizon, executed=executed, bins=32,
                    d_model=d_model, heads=4, layers=layers, text_backend="hash")  # fmt: skip
    policy = VLAPolicy(cfg)
    policy.fit_normalizer(chunks_t.reshape(-1, 4), states)
    tokens = policy.tokenizer.encode(chunks_t)
    opt = torch.optim.AdamW(policy.parameters(), lr=2e-3, weight_decay=1e-4)
    gen = np.random.default_rng(seed)
    policy.train()
    for _ in range(steps):
        idx = gen.integers(0, len(obs), 64)
        lp = policy.token_log_probs_batch([obs[i] for i in idx], tokens[idx])
        loss = -lp.sum(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    policy.eval()
    policy.meta = {"bc_windows": len(obs), "bc_final_nll": float(loss.detach())}
    return policy


def run_part(tasks, shift, objective_name, args, seed, avoid_mix) -> dict:
    import torch

    from robo.cli.cmd_tpo import make_probe, scene_or_empty
    from robo.tpo import TPOConfig, make_objective, run_tpo

    t0 = time.perf_counter()
    eps: list = []
    make_env = lambda t: priv_env(t, shift, args.max_steps)  # noqa: E731
    if args.ckpt_prefix:  # a trained VLA checkpoint per seed instead of the small BC one
        from robo.cli.cmd_tpo import env_factory
        from robo.policy import load_policy

        policy = load_policy(f"{args.ckpt_prefix}{seed}")
        policy.meta = {**policy.meta, "bc_final_nll": None}
        make_env = env_factory(policy, shift, (), args.max_steps)
    else:
        for k, task in enumerate(tasks):
            eps += demos(task, args.demos, 100 * seed + k, shift, args.max_steps, avoid_mix)
        if not eps:
            raise SystemExit(
                f"bench_tpo: no successful demo of {tasks} (seed {seed}, shift {shift}) to clone "
                "(hint: more --demos, or a task whose expert handles the shift)"
            )
        policy = train_bc(
            eps, args.horizon, args.executed, args.bc_steps, seed, args.d_model, args.layers
        )
    bc_s = time.perf_counter() - t0
    probes = {t: make_probe(t) for t in tasks}
    train0 = 1000 * seed + args.seed_offset
    eval0 = 500_000 + 1000 * seed + args.seed_offset
    cfg = TPOConfig(
        rounds=args.rounds,
        train_seeds=list(range(train0, train0 + args.train_seeds)),
        eval_seeds=list(range(eval0, eval0 + args.eval_seeds)),
        samples_per_init=args.samples, temperature=1.0, eval_temperature=args.eval_temperature,
        beta=args.beta, lr=args.lr, epochs=args.epochs, pair_batch=8, reference=args.reference,
        max_pairs_per_group=args.max_pairs, sft_weight=args.sft_weight, seed=seed,
        replay_weight=args.replay_weight, fresh_states=args.fresh_states,
        length_normalize=args.length_normalize, lanes=args.lanes,
    )  # fmt: skip
    torch.manual_seed(seed)
    _, hist = run_tpo(
        policy, make_env, tasks,
        make_objective(objective_name), cfg,
        probe=lambda env: probes[env.unwrapped.task_name](env), scene=scene_or_empty,
        gripper_dim=3, progress=False,
        on_round=lambda h: print(
            seed, objective_name, h["round"], h["eval"]["mean"], "pairs", h.get("pairs"),
            "dpo", {k: round(v, 3) for k, v in h.get("dpo", {}).items()},
            f"{h['seconds']:.0f}s", flush=True,
        ),
    )  # fmt: skip
    return {
        "seed": seed,
        "demos_kept": len(eps),
        "bc_seconds": bc_s,
        "bc_final_nll": policy.meta.get("bc_final_nll"),
        "rounds": hist,
        "seconds": time.perf_counter() - t0,
    }


def summary(runs: list[dict]) -> dict:
    """Mean over seeds of the first (imitation) and last round's held-out evaluation, and the
    paired success change (:func:`paired_delta`) after every round."""
    first = [r["rounds"][0]["eval"]["mean"] for r in runs]
    last = [r["rounds"][-1]["eval"]["mean"] for r in runs]
    res = {}
    for k in ("success", "collisions", "length"):
        a, b = float(np.mean([f[k] for f in first])), float(np.mean([x[k] for x in last]))
        res[k] = {"bc": a, "tpo": b, "delta": b - a,
                  "per_seed_bc": [f[k] for f in first], "per_seed_tpo": [x[k] for x in last]}  # fmt: skip
    per_round = [
        float(np.mean([r["rounds"][i]["eval"]["mean"]["success"] for r in runs]))
        for i in range(min(len(r["rounds"]) for r in runs))
    ]
    res["success_per_round"] = per_round
    # paired over (seed, task, initial state, sample): gained / lost rollouts and a 95% CI
    res["success_delta_paired"] = paired_delta(runs, "success")
    res["success_delta_paired_per_round"] = [
        paired_delta(runs, "success", at=i) for i in range(1, len(per_round))
    ]
    return res


def _paired(runs: list[dict], key: str, at: int = -1) -> tuple[np.ndarray, np.ndarray] | None:
    """``key`` of each rollout at round 0 and at round ``at`` (default: the last), paired by
    (seed, task, initial state, sample): two float[N]; None if the runs hold no per-episode
    records (before session 10)."""
    pairs = []
    for r in runs:
        first, last = r["rounds"][0]["eval"], r["rounds"][at]["eval"]
        if "episodes" not in first or "episodes" not in last:
            return None
        ids = lambda e: (e["task"], e["init_seed"], e["sample"])  # noqa: E731
        after = {ids(e): e[key] for e in last["episodes"]}
        pairs += [(e[key], after[ids(e)]) for e in first["episodes"] if ids(e) in after]
    a, b = np.array(pairs, float).T
    return a, b


def _boot_index(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, (n_boot, n))


def paired_ci(
    runs: list[dict], key: str, n_boot: int = 2000, seed: int = 0, at: int = -1
) -> dict | None:
    """Relative change of the mean ``key`` from round 0 to round ``at`` (default: the last), with
    a 95% bootstrap CI over paired rollouts (:func:`_paired`); None without per-episode records."""
    pair = _paired(runs, key, at)
    if pair is None:
        return None
    a, b = pair
    idx = _boot_index(len(a), n_boot, seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = 1.0 - b[idx].mean(1) / a[idx].mean(1)
    lo, hi = np.nanpercentile(boot, [2.5, 97.5])
    return {"reduction": float(1.0 - b.mean() / a.mean()) if a.mean() > 0 else None,
            "ci95": [float(lo), float(hi)], "n_pairs": len(a)}  # fmt: skip


def paired_delta(
    runs: list[dict], key: str, n_boot: int = 2000, seed: int = 0, at: int = -1
) -> dict | None:
    """Absolute change of the mean ``key`` (e.g. success) from round 0 to round ``at`` (default:
    the last), its 95% bootstrap CI over paired rollouts, and for 0/1 keys the rollouts gained
    and lost."""
    pair = _paired(runs, key, at)
    if pair is None:
        return None
    a, b = pair
    boot = (b - a)[_boot_index(len(a), n_boot, seed)].mean(1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return {"delta": float((b - a).mean()), "ci95": [float(lo), float(hi)], "n_pairs": len(a),
            "gained": int(((a == 0) & (b == 1)).sum()), "lost": int(((a == 1) & (b == 0)).sum())}  # fmt: skip


def add_paired(summary_: dict, runs: list[dict]) -> dict:
    """The safety summary's paired fields: collision reduction and success change after the last
    round, and ``per_round`` (the same two after each round 1..R, so a longer run also shows what
    fewer rounds gave)."""
    summary_["collision_reduction_paired"] = paired_ci(runs, "collisions")
    if "success_delta_paired" not in summary_:  # :func:`summary` sets it; older files lack it
        summary_["success_delta_paired"] = paired_delta(runs, "success")
    n = min(len(r["rounds"]) for r in runs)
    summary_["per_round"] = [
        {"round": i, "collision_reduction": paired_ci(runs, "collisions", at=i),
         "success_delta": paired_delta(runs, "success", at=i)}
        for i in range(1, n)
    ]  # fmt: skip
    return summary_


def per_task(runs: list[dict], tasks: list[str]) -> dict:
    """Per task: mean success over seeds before (round 0) and after the last round."""
    out = {}
    for t in tasks:
        a = [r["rounds"][0]["eval"]["per_task"][t]["success"] for r in runs]
        b = [r["rounds"][-1]["eval"]["per_task"][t]["success"] for r in runs]
        out[t] = {"bc": float(np.mean(a)), "tpo": float(np.mean(b))}
    return out


def combine(names: list[str], name: str) -> dict:
    """Merge the success-objective runs of per-seed results (``--seed-list`` runs in separate
    processes) into ``bench/results/<name>.json`` with the pooled summary."""
    import json

    from bench.common import RESULTS

    parts = [json.loads((RESULTS / f"{n}.json").read_text()) for n in names]
    runs = [r for p in parts for r in p["success_objective"]["runs"]]
    tasks = parts[0]["tasks"]
    out = {
        "tasks": tasks,
        "parts": {n: {"command": p["command"], "machine": p.get("machine")} for n, p in zip(names, parts)},
        "success_objective": {
            "runs": runs, "summary": summary(runs), "per_task": per_task(runs, tasks),
            "partial": any(p["success_objective"].get("partial") for p in parts),
        },
    }  # fmt: skip
    write_result(name, out, command_line("bench_tpo", None))
    return out


def plot_result(name: str) -> list[str]:
    """Per-seed round plots of ``bench/results/<name>.json`` -> ``outputs/bench/tpo/``."""
    import json
    from pathlib import Path

    from bench.common import RESULTS
    from robo.tpo import plot_rounds

    data = json.loads((RESULTS / f"{name}.json").read_text())
    out = []
    for part in ("success_objective", "safety_objective"):
        for run in data.get(part, {}).get("runs", []):
            path = Path("outputs/bench/tpo") / f"{name}_{part}_seed{run['seed']}.png"
            plot_rounds(path, run["rounds"], f"{name}: {part}, seed {run['seed']}")
            out.append(str(path))
    return out


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--tasks", default=TASKS)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--demos", type=int, default=10, help="demo episodes per task")
    p.add_argument("--bc-steps", type=int, default=300)
    p.add_argument("--horizon", type=int, default=4)
    p.add_argument("--executed", type=int, default=4)
    p.add_argument(
        "--ckpt-prefix", default="",
        help="use checkpoints <prefix><seed> (e.g. outputs/policies/vla-metaworld4-d20-s) instead of BC",
    )  # fmt: skip
    p.add_argument("--d-model", type=int, default=32, help="VLA trunk width")
    p.add_argument("--layers", type=int, default=1, help="VLA transformer layers")
    p.add_argument("--max-steps", type=int, default=100)
    p.add_argument("--train-seeds", type=int, default=4, help="initial states per task per round")
    p.add_argument("--samples", type=int, default=4, help="rollouts per initial state")
    p.add_argument("--eval-seeds", type=int, default=5, help="held-out initial states per task")
    p.add_argument("--beta", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--sft-weight", type=float, default=0.0, help="NLL on chosen (0 = pure DPO)")
    p.add_argument(
        "--replay-weight", type=float, default=0.0,
        help="NLL on successes of states that formed no pair (0 = off)",
    )  # fmt: skip
    p.add_argument("--reference", default="initial", choices=["initial", "previous"])
    p.add_argument(
        "--fresh-states", action="store_true",
        help="new training initial states every round (else the same --train-seeds each round)",
    )  # fmt: skip
    p.add_argument(
        "--length-normalize", action="store_true",
        help="mean log-prob per executed token (use --beta ~1)",
    )  # fmt: skip
    p.add_argument("--max-pairs", type=int, default=4, help="pairs per (task, initial state)")
    p.add_argument("--eval-temperature", type=float, default=1.0, help="0 = greedy")
    p.add_argument("--lanes", type=int, default=1, help="rollouts per task in lockstep")
    p.add_argument(
        "--seed-list", default="",
        help="comma-separated seeds to run instead of 0..--seeds-1 (one process per seed)",
    )  # fmt: skip
    p.add_argument(
        "--seed-offset", type=int, default=0,
        help="shift train/eval initial states (pilots: keep them off the reported ones)",
    )  # fmt: skip
    p.add_argument("--safety-task", default="metaworld/reach", help="'' skips the safety part")
    p.add_argument("--skip-success", action="store_true")
    p.add_argument("--name", default="tpo")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--plot-only", action="store_true", help="plot bench/results/<name>.json")
    p.add_argument(
        "--resummarize", action="store_true",
        help="recompute the paired safety fields of bench/results/<name>.json in place",
    )  # fmt: skip
    p.add_argument(
        "--combine", default="",
        help="comma-separated result names (per-seed runs) to merge into --name",
    )  # fmt: skip
    args = p.parse_args()
    if args.combine:
        res = combine([n for n in args.combine.split(",") if n], args.name)
        print(res["success_objective"]["summary"]["success"], res["success_objective"]["per_task"])
        return 0
    if args.resummarize:
        import json

        from bench.common import RESULTS

        path = RESULTS / f"{args.name}.json"
        data = json.loads(path.read_text())
        so = data["safety_objective"]
        add_paired(so["summary"], so["runs"])
        path.write_text(json.dumps(data, indent=2))
        print(so["summary"]["collision_reduction_paired"], so["summary"]["success_delta_paired"])
        return 0
    if args.plot_only:
        print("\n".join(plot_result(args.name)))
        return 0
    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("MUJOCO_GL", "egl")
    tasks = [t for t in args.tasks.split(",") if t]
    seeds = [int(x) for x in args.seed_list.split(",") if x] or list(range(args.seeds))
    load = [os.getloadavg()[0]]
    out: dict[str, Any] = {"args": vars(args), "tasks": tasks}

    command = command_line("bench_tpo", None)
    if not args.skip_success:
        runs = []
        for s in seeds:  # a partial JSON after every seed survives a killed run
            runs.append(run_part(tasks, None, "success", args, s, False))
            out["success_objective"] = {"runs": runs, "partial": len(runs) < len(seeds)}
            write_result(args.name, {**out, "load_average_1min": load}, command)
        load.append(os.getloadavg()[0])
        out["success_objective"] = {
            "runs": runs, "summary": summary(runs), "partial": False,
            "per_task": per_task(runs, tasks),
        }  # fmt: skip
        print("success objective:", out["success_objective"]["summary"], flush=True)
    if args.safety_task:
        runs = []
        for s in seeds:
            runs.append(run_part([args.safety_task], "obstacle", "safety", args, s, True))
            out["safety_objective"] = {"runs": runs, "partial": len(runs) < len(seeds)}
            write_result(args.name, {**out, "load_average_1min": load}, command)
        load.append(os.getloadavg()[0])
        s = summary(runs)
        c0, c1 = s["collisions"]["bc"], s["collisions"]["tpo"]
        s["collision_reduction"] = (c0 - c1) / c0 if c0 > 0 else None
        add_paired(s, runs)
        out["safety_objective"] = {
            "task": args.safety_task,
            "shift": "obstacle",
            "runs": runs,
            "summary": s,
        }
        print("safety objective:", s, flush=True)
    out["load_average_1min"] = load
    write_result(args.name, out, command)
    plot_result(args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
