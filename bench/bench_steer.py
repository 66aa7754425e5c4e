"""Steering benchmark: speed of steered sampling and success lift under shifts.

Part 1 (``speed``): ms per chunk of the default CPU-sized diffusion policy (3 views, 64 px,
SO-101 state) — unsteered (1 sample x 10 DDIM steps) vs SMC (8 particles x 10 steps, guided
proposals, repulsion, FK path cost) vs best-of-8 — with NFE and the ratio to unsteered, same
process, same threads. Part 2 (``success``, needs ``--ckpt task=dir`` pairs): closed-loop
success (Wilson 95% CI) of a frozen policy per shift x steering method, same seeds.

Usage::

    python -m bench.bench_steer [--quick] [--threads 2]
        [--ckpt so101/reach=outputs/policies/so101-reach ...] [--episodes 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from bench.common import write_result

STEER = {
    "none": {"method": "none"},
    "guidance": {"method": "guidance", "scale": 0.3, "inner_steps": 2, "eta": 0.0},
    "smc": {
        "method": "smc", "particles": 8, "beta": 50.0, "guidance_scale": 0.3, "inner_steps": 2,
        "repulsion_scale": 0.1, "eta": 1.0,
    },
    "best_of_n": {"method": "best_of_n", "num_samples": 8, "eta": 1.0},
}  # fmt: skip
COST = "10 * avoid_box(obstacle, obstacle_half, margin=0.03) + reach(goal)"


def speed(threads: int, repeats: int) -> dict:
    import torch

    from robo.policy import DiffusionConfig, DiffusionPolicy
    from robo.steer import BestOfN, FKPathMap, KinematicChain, ParticleSteering, compile_cost
    from sims.so101.assets import arm_xml

    torch.set_num_threads(threads)
    policy = DiffusionPolicy(DiffusionConfig(action_dim=6, state_dim=12)).eval()
    rng = np.random.default_rng(0)
    obs = {
        "images": {c: rng.integers(0, 255, (96, 96, 3), dtype=np.uint8) for c in ("front", "side", "wrist")},
        "state": np.zeros(12, np.float32), "instruction": "reach", "timestamp": np.float64(0),
    }  # fmt: skip
    scene = {
        "goal": [0.25, 0.05, 0.1],
        "obstacle": [0.2, 0.02, 0.11],
        "obstacle_half": [0.015, 0.015, 0.11],
    }
    cost = compile_cost(
        COST, FKPathMap(KinematicChain.from_mjcf(arm_xml(), "tip"), range(5), range(5)),
        gripper_dim=5, keypoints=lambda o: scene,
    )  # fmt: skip
    methods = {
        "unsteered": None,
        "smc_8x10": ParticleSteering(
            cost, particles=8, beta=50.0, guidance_scale=0.3, inner_steps=2, repulsion_scale=0.1
        ),
        "best_of_8": BestOfN(cost, num_samples=8, eta=1.0),
    }
    out = {}
    for name, steer in methods.items():
        for _ in range(3):
            policy.sample(obs, steer=steer)
        ms = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            policy.sample(obs, steer=steer)
            ms.append(1000 * (time.perf_counter() - t0))
        out[name] = {
            "ms_p50": float(np.percentile(ms, 50)), "ms_p99": float(np.percentile(ms, 99)),
            "nfe_per_chunk": policy.last_info["nfe"], "network_calls": policy.last_info["calls"],
        }  # fmt: skip
        print(name, out[name], flush=True)
    base = out["unsteered"]["ms_p50"]
    for name in out:
        out[name]["ratio_to_unsteered"] = out[name]["ms_p50"] / base
    out["threads"] = threads
    out["load_average_1min"] = os.getloadavg()[0]
    return out


def success(ckpts: dict[str, str], episodes: int, shifts: list[str], methods: list[str]) -> dict:
    from robo.cli.cmd_eval_policy import evaluate
    from robo.policy import load_policy

    table = {}
    for task, path in ckpts.items():
        policy = load_policy(path)
        for shift in shifts:
            for method in methods:
                cfg = {**STEER[method], **({"cost": COST} if method != "none" else {})}
                m = evaluate(
                    policy, task, None if shift == "none" else shift, cfg, episodes, seed=1000
                )
                key = f"{task}|{shift}|{method}"
                table[key] = {
                    k: m[k]
                    for k in ("success", "ci_low", "ci_high", "n", "nfe_per_chunk", "ms_per_chunk")
                }
                print(key, table[key], flush=True)
    return table


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats / episodes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ckpt", nargs="*", default=[], help="task=checkpoint_dir pairs")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--shifts", nargs="*", default=["none", "obstacle"])
    parser.add_argument("--methods", nargs="*", default=list(STEER))
    args = parser.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    payload = {"speed": speed(args.threads, 10 if args.quick else 50)}
    if args.ckpt:
        ckpts = dict(pair.split("=", 1) for pair in args.ckpt)
        episodes = min(args.episodes, 5) if args.quick else args.episodes
        payload["success"] = success(ckpts, episodes, args.shifts, args.methods)
    payload["cost"] = COST
    payload["steer"] = STEER
    write_result("steer", payload, "python -m bench.bench_steer " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
