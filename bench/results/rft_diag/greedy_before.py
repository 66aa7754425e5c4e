"""Greedy (T = 0) success of the imitation checkpoints with the lockstep evaluator, per episode,
and paired before/after counts against a bench_rft run's greedy "after" outcomes.

    PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 python bench/results/rft_diag/greedy_before.py \
        --seeds 0,1,2 --run rft_fbc

Writes ``bench/results/<run>_greedy_paired.json``. Greedy decoding is deterministic, so the
same checkpoint on the same initial states gives the same episodes: the paired counts (episodes
that only the "before" / only the "after" policy solved) show what changed, episode by episode.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from bench.common import RESULTS, write_result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--run", default="rft_fbc", help="bench_rft --name of the 'after' run")
    ap.add_argument("--policy", default="outputs/policies/vla-metaworld4-d20-s{seed}")
    a = ap.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    from robo.cli.vla_envs import load_token_policy, policy_env
    from robo.eval.stats import success_summary
    from robo.rft.evaluate import success_rate_lockstep

    torch.set_num_threads(1)
    t0, load0 = time.time(), os.getloadavg()
    out: dict = {"per_seed": {}, "pooled": {}}
    pooled: dict[str, dict[str, list[bool]]] = {}
    for seed in [int(s) for s in a.seeds.split(",")]:
        part = json.loads((RESULTS / f"{a.run}_seed{seed}.partial.json").read_text())
        args, after = part["args"], part["per_seed"]["after_greedy"]
        policy = load_token_policy(a.policy.format(seed=seed), "cpu", "greedy_before")
        seeds = list(range(1000, 1000 + args["eval_episodes"]))
        res = {}
        for task in args["tasks"]:
            envs = [policy_env(task, policy) for _ in range(args["lockstep"])]
            before = success_rate_lockstep(envs, policy, seeds, 0.0)["per_seed"]
            for env in envs:
                env.close()
            b, f = np.array(before), np.array(after[task])
            res[task] = {
                "before": [bool(x) for x in b],
                "after": [bool(x) for x in f],
                "only_before": int((b & ~f).sum()),
                "only_after": int((~b & f).sum()),
                "both": int((b & f).sum()),
            }
            for k, v in (("before", b), ("after", f)):
                pooled.setdefault(task, {}).setdefault(k, []).extend(bool(x) for x in v)
            print(seed, task, {k: v for k, v in res[task].items() if k[0] in "ob"}, flush=True)
        out["per_seed"][str(seed)] = res
    for task, d in pooled.items():
        b, f = np.array(d["before"]), np.array(d["after"])
        out["pooled"][task] = {
            "before": success_summary(list(b)),
            "after": success_summary(list(f)),
            "only_before": int((b & ~f).sum()),
            "only_after": int((~b & f).sum()),
        }
    means = {
        k: float(np.mean([np.mean(d[k]) for d in pooled.values()])) for k in ("before", "after")
    }
    out["mean"] = {**means, "lift_points": 100 * (means["after"] - means["before"])}
    out["seconds"] = time.time() - t0
    out["load_average_start"], out["load_average_end"] = load0, os.getloadavg()
    cmd = "PYTHONPATH=. python bench/results/rft_diag/greedy_before.py " + " ".join(
        f"--{k} {v}" for k, v in vars(a).items()
    )
    write_result(f"{a.run}_greedy_paired", out, cmd)


if __name__ == "__main__":
    main()
