"""Does the GRM steer? A chunk critic distilled from GRM progress vs one from the sim's
privileged progress, steering a weak frozen policy with no hand-written cost (issue 5).

Two stages (the setup commands that made the GRM, the policy and the critics are passed with
``--setup`` and stored in the JSON, with the GRM's and the critics' held-out metrics):

``--stage rollouts`` records episodes of the frozen policy (kind ``policy``, cameras on, so the
GRM can score them) into a dataset the critics are distilled from::

    python -m bench.bench_steer_critic --stage rollouts --policy <ckpt> --seed 500
        --episodes 40 --out outputs/critic_s5/data/so101-reach-policy

``--stage cells`` evaluates ``steer=none`` and every method x critic with ``steer.cost=none``
(the critic alone: -critic_weight * Q) on the same seeds; ``--weights`` gives each critic's
weight (chosen on seeds 2000-2009, never on the evaluation seeds)::

    python -m bench.bench_steer_critic --stage cells --policy <ckpt> --critic grm=<dir>
        --critic gt=<dir> --methods best_of_n smc --seed 1000 --episodes 20 --name steer_critic
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import command_line, write_result

STEER_DIR = Path(__file__).resolve().parent.parent / "configs" / "steer"
SCALE_FREE = ("best_of_n", "guidance")
"""Methods a positive critic weight cannot change (argmin; unit-normalised gradient steps): only
the first weight of a grid is run for them."""
CELL_KEYS = (
    "success", "ci_low", "ci_high", "n", "successes", "nfe_per_chunk", "ms_per_chunk",
    "per_episode_success", "episode_steps_mean", "seeds",
)  # fmt: skip


def steer_config(method: str, **overrides: Any) -> dict[str, Any]:
    """``configs/steer/<method>.yaml`` with the critic alone as cost (``cost: none``)."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(OmegaConf.load(STEER_DIR / f"{method}.yaml"), resolve=True)
    if method != "none":
        cfg["cost"] = "none"
    cfg.update(overrides)
    return cfg


class PolicyActor:
    """A frozen chunk policy as a ``robo.data.collect.rollout`` expert (kind ``policy``): samples
    a chunk every ``policy.executed`` steps from the observation with the privileged goal
    appended (what a ``goal_in_state=true`` policy reads); the episode records the env's own
    state."""

    def __init__(self, policy: Any, generator: Any):
        self.policy, self.generator = policy, generator
        self.queue: list[np.ndarray] = []

    def reset(self, env: Any, obs: dict, info: dict) -> None:
        self.queue = []

    def act(self, env: Any, obs: dict, info: dict) -> np.ndarray:
        from sims.keypoints import sim_scene

        if not self.queue:
            goal = sim_scene(env)["goal"].astype(np.float32)
            pobs = {**obs, "state": np.concatenate([obs["state"], goal])}
            chunk = self.policy.sample(pobs, n=1, generator=self.generator)
            self.queue = list(chunk[0, : self.policy.executed].numpy())
        return self.queue.pop(0)

    def subtask_names(self) -> tuple[str, ...]:
        return ("reach",)

    def metadata(self) -> dict[str, Any]:
        return {"kind": "policy", "params": {}, "rewinds": [], "pauses": []}


def record_rollouts(
    policy_dir: str, task: str, seed: int, episodes: int, out: str, gen_seed: int | None = None
) -> dict:
    """Roll the frozen policy out on seeds ``seed ..`` and write them to the dataset ``out``;
    ``gen_seed`` seeds its sampling noise (default ``seed``): datasets of the same seeds with
    other ``gen_seed`` hold other rollouts from the same initial states (counterfactual chunks)."""
    import torch

    import sims
    from robo.data.collect import dataset_spec, rollout
    from robo.data.writer import EpisodeWriter
    from robo.policy import load_policy

    torch.set_num_threads(1)
    policy = load_policy(policy_dir)
    if not (getattr(policy, "meta", {}) or {}).get("goal_in_state"):
        raise SystemExit("the rollout stage expects a goal_in_state=true policy")
    env = sims.make(task)
    gen = torch.Generator().manual_seed(seed if gen_seed is None else gen_seed)
    writer = EpisodeWriter.open(out, dataset_spec(env))
    done = writer.done_seeds()
    successes = []
    try:
        for s in range(seed, seed + episodes):
            if s in done:
                continue
            ep = rollout(env, PolicyActor(policy, gen), s)
            writer.write(ep)
            successes.append(bool(ep.success.any()))
    finally:
        env.close()
        writer.close()
    rate = float(np.mean(successes)) if successes else float("nan")
    print(f"recorded {len(successes)} policy episodes, success {rate:.2f} -> {out}")
    return {"recorded": len(successes), "success": rate, "out": out}


def cells(
    policy_dir: str, critics: dict[str, str], weights: dict[str, list[float]],
    methods: list[str], episodes: int, seed: int, task: str, set_: dict[str, Any],
    dsl: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """``none`` plus every method x critic x weight on the same seeds (and, with ``dsl``, every
    method with the task's default hand-written cost, e.g. ``reach(goal)``, as a reference)."""
    import torch

    from robo.cli.cmd_eval_policy import evaluate
    from robo.policy import load_policy
    from robo.steer import ChunkCritic, CriticCost

    torch.set_num_threads(1)
    policy = load_policy(policy_dir)
    out: dict[str, Any] = {}

    def run(key: str, steer: dict, critic: Any) -> None:
        t0 = time.time()
        m = evaluate(policy, task, None, steer, episodes, seed, critic=critic)
        out[key] = {k: m[k] for k in CELL_KEYS if k in m}
        out[key].update(steer=steer, wall_s=round(time.time() - t0, 1))
        if critic is not None:
            out[key]["critic_weight"] = critic.weight
        print(key, {k: out[key][k] for k in ("success", "ci_low", "ci_high")}, flush=True)

    run("none", {"method": "none"}, None)
    for method in methods if dsl else []:  # reference: the task's hand-written cost, no critic
        run(f"{method}|dsl", {**steer_config(method, **set_.get(method, {})), "cost": None}, None)
    for method in methods:
        for name, path in critics.items():
            grid = weights.get(name, [1.0])
            for w in grid[:1] if method in SCALE_FREE else grid:
                critic = CriticCost(ChunkCritic.load(path), w)
                run(
                    f"{method}|{name}|w={w:g}", steer_config(method, **set_.get(method, {})), critic
                )
    return out


def diagnostics(critics: dict[str, str], grm_dir: str | None) -> dict[str, Any]:
    """Rank agreement with the sim's privileged progress on each critic's held-out episodes
    (the split ``robo distill-critic`` made): Spearman of Q(state, chunk) against the true
    progress after the chunk, and (``grm_dir``) of the GRM's own labels against it."""
    import torch
    from scipy import stats

    from robo.cli.cmd_distill_critic import split_episodes, with_goal_in_state
    from robo.reward.data import load_episodes
    from robo.steer import ChunkCritic
    from robo.steer.critic import critic_windows, progress_from_gt

    torch.set_num_threads(1)
    out: dict[str, Any] = {}
    grm_phi: dict[int, np.ndarray] = {}  # by id(): branch datasets repeat (kind, seed)
    loaded: dict[tuple[str, ...], list] = {}
    for name, path in critics.items():
        m = json.loads((Path(path) / "metrics.json").read_text())
        opts = m["options"]
        key = tuple(m["sources"])
        if key not in loaded:
            cams = [] if not grm_dir else None
            loaded[key] = [
                e for e in load_episodes(list(key), opts["data_root"], cameras=cams) if len(e)
            ]
        eps = loaded[key]
        if opts.get("goal_in_state"):
            eps = with_goal_in_state(eps)
        _, test = split_episodes(len(eps), float(opts["held_out"]), int(opts["seed"]))
        held = [eps[i] for i in test]
        critic = ChunkCritic.load(path)
        s, a, y = critic_windows(held, progress_from_gt, critic.config.horizon)
        with torch.no_grad():
            q = critic(torch.from_numpy(s).float(), torch.from_numpy(a).float()).numpy()
        row: dict[str, Any] = {
            "progress": m["progress"], "goal_in_state": bool(opts.get("goal_in_state")),
            "held_out_episodes": len(held), "windows": int(len(y)),
            "spearman_q_vs_gt": float(stats.spearmanr(q, y).statistic),
        }  # fmt: skip
        if grm_dir and m["progress"] != "gt":
            from robo.reward.checkpoint import load_checkpoint
            from robo.reward.scoring import score_episode

            grm = load_checkpoint(grm_dir)
            for e in held:
                if id(e) not in grm_phi:
                    with torch.no_grad():
                        grm_phi[id(e)] = np.asarray(score_episode(grm, e).phi)
            _, _, g = critic_windows(held, lambda e: grm_phi[id(e)], critic.config.horizon)
            row["spearman_grm_label_vs_gt"] = float(stats.spearmanr(g, y).statistic)
            row["spearman_q_vs_grm_label"] = float(stats.spearmanr(q, g).statistic)
        out[name] = row
        print(name, row, flush=True)
    return out


def rank_agreement(
    policy_dir: str, critics: dict[str, str], task: str, seed: int, episodes: int, n: int
) -> dict[str, Any]:
    """Within-state ranking, what best-of-N and SMC rely on: at the first state of each seed and
    at the state after the first executed (unsteered) chunk, ``n`` chunks of the frozen policy
    are scored by each critic's Q and by the privileged oracle ``-reach(goal)`` (the DSL's
    tip-to-goal path cost through FK); per state, Spearman(Q, -reach) and whether the critic's
    best chunk is among the oracle's best quarter."""
    import torch
    from scipy import stats

    from robo.cli.cmd_eval_policy import make_eval_env, sim_path_map
    from robo.policy import load_policy
    from robo.steer import ChunkCritic, CriticCost, compile_cost
    from sims.keypoints import sim_scene

    torch.set_num_threads(1)
    policy = load_policy(policy_dir)
    env = make_eval_env(task, None, policy, False)
    oracle = compile_cost(
        "reach(goal)", sim_path_map(env), keypoints=lambda obs: sim_scene(env)
    )  # fmt: skip
    costs = {k: CriticCost(ChunkCritic.load(v), 1.0) for k, v in critics.items()}
    gen = torch.Generator().manual_seed(seed)
    rows: dict[str, list] = {k: [] for k in critics}
    top: dict[str, list] = {k: [] for k in critics}
    for s in range(seed, seed + episodes):
        obs, _ = env.reset(seed=s)
        for _ in range(2):
            chunks = policy.sample(obs, n=n, generator=gen)
            with torch.no_grad():
                o = -oracle(chunks, {"obs": obs}).numpy()
                good = o >= np.quantile(o, 0.75)
                for k, c in costs.items():
                    q = -c(chunks, {"obs": obs}).numpy()
                    rows[k].append(float(stats.spearmanr(q, o).statistic))
                    top[k].append(bool(good[int(np.argmax(q))]))
            for a in chunks[0, : policy.executed].numpy():
                obs, _, term, trunc, _ = env.step(a)
                if term or trunc:
                    break
            if term or trunc:
                break
    env.close()
    return {
        k: {
            "states": len(rows[k]),
            "samples_per_state": n,
            "mean_spearman_q_vs_oracle": float(np.nanmean(rows[k])),
            "per_state_spearman": rows[k],
            "argmax_in_oracle_top_quarter": float(np.mean(top[k])),
        }  # fmt: skip
        for k in critics
    }


def critic_metrics(path: str) -> dict[str, Any]:
    m = json.loads((Path(path) / "metrics.json").read_text())
    return {k: m.get(k) for k in ("progress", "sources", "kinds", "episodes", "train", "held_out")}


def parse_pairs(items: list[str]) -> dict[str, str]:
    pairs = dict(item.split("=", 1) for item in items)
    if any(not k or not v for k, v in pairs.items()):
        raise SystemExit(f"expected name=value, got {items}")
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", choices=["rollouts", "cells", "diag", "rank"], required=True)
    parser.add_argument("--policy", default=None, help="frozen policy checkpoint folder")
    parser.add_argument("--task", default="so101/reach")
    parser.add_argument("--seed", type=int, default=1000, help="first seed")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--out", default=None, help="rollouts: dataset folder")
    parser.add_argument("--critic", nargs="*", default=[], help="name=<critic folder>")
    parser.add_argument(
        "--weights", nargs="*", default=[], help="name=w1,w2 critic weights (default 1)"
    )
    parser.add_argument("--methods", nargs="*", default=["best_of_n", "smc"])
    parser.add_argument("--set", nargs="*", default=[], help="method.key=value (steer options)")
    parser.add_argument(
        "--dsl", action="store_true", help="also each method with the task's default DSL cost"
    )
    parser.add_argument("--gen-seed", type=int, default=None, help="rollouts: noise seed")
    parser.add_argument("--samples", type=int, default=32, help="rank: chunks per state")
    parser.add_argument("--grm", default=None, help="diag: the GRM checkpoint (scores labels)")
    parser.add_argument("--grm-eval", default=None, help="the GRM's eval-reward metrics.json")
    parser.add_argument("--setup", default=None, help="JSON file: the setup commands, in order")
    parser.add_argument("--name", default="steer_critic")
    args = parser.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    command = command_line("bench_steer_critic", None)
    if args.stage != "diag" and not args.policy:  # diag needs no policy
        raise SystemExit(f"--policy <checkpoint folder> is required for --stage {args.stage}")
    if args.stage == "rollouts":
        if not args.out:
            raise SystemExit("--out <dataset folder> is required for --stage rollouts")
        record_rollouts(args.policy, args.task, args.seed, args.episodes, args.out, args.gen_seed)
        return 0
    critics = parse_pairs(args.critic)
    if args.stage == "rank":
        payload = {
            "rank": rank_agreement(
                args.policy, critics, args.task, args.seed, args.episodes, args.samples
            ),
            "critics": critics, "policy": args.policy,
            "seeds": [args.seed, args.seed + args.episodes - 1],
        }  # fmt: skip
        write_result(args.name, payload, command)
        return 0
    if args.stage == "diag":
        payload = {"diagnostics": diagnostics(critics, args.grm), "critics": critics}
        write_result(args.name, payload, command)
        return 0
    weights = {k: [float(w) for w in v.split(",")] for k, v in parse_pairs(args.weights).items()}
    set_: dict[str, dict[str, Any]] = {}
    for item in args.set:
        key, value = item.split("=", 1)
        method, opt = key.split(".", 1)
        set_.setdefault(method, {})[opt] = json.loads(value)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    policy_cfg = json.loads((Path(args.policy) / "config.json").read_text())
    payload: dict[str, Any] = {
        "task": args.task, "policy": args.policy, "policy_meta": policy_cfg.get("meta", {}),
        "seeds": [args.seed, args.seed + args.episodes - 1], "critics": critics,
        "critic_metrics": {k: critic_metrics(v) for k, v in critics.items()},
        "git_commit": commit.strip(),
        "setup": json.loads(Path(args.setup).read_text()) if args.setup else None,
        "load_average_before": os.getloadavg(),
    }  # fmt: skip
    if args.grm_eval:
        grm = json.loads(Path(args.grm_eval).read_text())
        payload["grm_eval"] = {"path": args.grm_eval, "overall": grm.get("overall", grm)}
    payload["cells"] = cells(
        args.policy, critics, weights, args.methods, args.episodes, args.seed, args.task, set_,
        args.dsl,
    )  # fmt: skip
    payload["load_average_after"] = os.getloadavg()
    write_result(args.name, payload, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
