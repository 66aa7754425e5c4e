"""How much signal a GRM potential gives RL: Φ along expert and random episodes vs progress_gt.

The anchored GRM potential (:class:`robo.rl.progress.AnchoredGRMProgress`, anchors from one
expert episode exactly as ``robo rl`` builds them) is evaluated along ``--episodes`` expert
episodes and one random-action episode; reports Φ at start/end, its range, and its Pearson
correlation with the privileged ``progress_gt``. A compressed range means PBRS with scale 1 is
close to sparse. Result: ``bench/results/rl_potential.json``.

Usage::

    python -m bench.bench_rl_potential --ckpt outputs/reward/rl-reach --task metaworld/reach
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch
import torch._dynamo  # noqa: F401  (before any EGL context; see robo.cli.cmd_rl)

from bench.common import write_result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--ckpt", required=True, help="GRM checkpoint dir")
    p.add_argument("--task", default="metaworld/reach")
    p.add_argument("--episodes", type=int, default=3)
    p.add_argument("--image-size", type=int, default=96)
    p.add_argument("--max-steps", type=int, default=100)
    args = p.parse_args()
    torch.set_num_threads(1)
    import sims
    from robo.reward.checkpoint import load_checkpoint
    from robo.rl.progress import AnchoredGRMProgress, reference_frames

    spec = sims.get_spec(args.task)
    env = sims.make(args.task, render=True, image_size=args.image_size)
    start, goal, _ = reference_frames(env, spec.expert(), seed=99_999)  # as `robo rl` does
    pot = AnchoredGRMProgress(load_checkpoint(args.ckpt, device="cpu"), start, goal)

    def rollout(seed: int, expert: bool) -> dict:
        obs, info = env.reset(seed=seed)
        ex = spec.expert()
        ex.reset(env, obs, info)
        phi, gt, success = [], [], False
        for _ in range(args.max_steps):
            phi.append(float(pot([obs]).phi[0]))
            gt.append(float(info.get("progress_gt", np.nan)))
            act = ex.act(env, obs, info) if expert else env.action_space.sample()
            obs, _, terminated, truncated, info = env.step(act)
            success = success or bool(info.get("success"))
            if terminated or truncated:
                break
        phi.append(float(pot([obs]).phi[0]))
        gt.append(float(info.get("progress_gt", np.nan)))
        corr = float(np.corrcoef(phi, gt)[0, 1]) if np.std(phi) > 0 and np.std(gt) > 0 else None
        return {
            "seed": seed, "steps": len(phi) - 1, "success": success,
            "phi_start": phi[0], "phi_end": phi[-1], "phi_min": min(phi), "phi_max": max(phi),
            "gt_start": gt[0], "gt_end": gt[-1], "pearson_phi_gt": corr,
        }  # fmt: skip

    env.action_space.seed(0)
    expert = [rollout(10_000 + k, True) for k in range(args.episodes)]  # demo seeds of robo rl
    random = [rollout(20_000, False)]
    env.close()
    for row in expert + random:
        print(row)
    write_result(
        "rl_potential",
        {
            "settings": vars(args),
            "expert": expert,
            "random": random,
            "phi_range_expert_mean": float(
                np.mean([r["phi_end"] - r["phi_start"] for r in expert])
            ),
            "gt_range_expert_mean": float(np.mean([r["gt_end"] - r["gt_start"] for r in expert])),
            "loadavg": os.getloadavg(),
        },
        command="python -m bench.bench_rl_potential " + " ".join(sys.argv[1:]),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
