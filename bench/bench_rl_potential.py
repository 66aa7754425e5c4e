"""How much signal a GRM potential gives RL: Φ along expert and random episodes vs progress_gt.

The anchored GRM potential (:class:`robo.rl.progress.AnchoredGRMProgress`, anchors from one
expert episode exactly as ``robo rl`` builds them) is evaluated along ``--episodes`` expert
episodes and one random-action episode; reports Φ at start/end, its range, and its Pearson
correlation with the privileged ``progress_gt``. A compressed range means PBRS with scale 1 is
close to sparse. With ``--calibrate N`` (as ``robo rl calibrate=N``), the affine calibration
Φ_cal = clip((Φ − Φ_start) / (Φ_goal − Φ_start), 0, 1) is measured once on N expert episodes
(seeds apart from the ones reported) and the same numbers are reported for Φ_cal, plus how often
random-action states get Φ_cal > 0.8 (false "almost done" states). Result:
``bench/results/<--name>.json``.

Usage::

    python -m bench.bench_rl_potential --ckpt outputs/reward/rl-reach --task metaworld/reach \
        --calibrate 3 --random-episodes 3 --name rl_potential_cal
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
    p.add_argument("--calibrate", type=int, default=0, help="calibration episodes (0 = off)")
    p.add_argument("--random-episodes", type=int, default=1)
    p.add_argument("--name", default="rl_potential", help="bench/results/<name>.json")
    args = p.parse_args()
    torch.set_num_threads(1)
    import sims
    from robo.reward.checkpoint import load_checkpoint
    from robo.reward.shaping import AffineCalibration
    from robo.rl.progress import (
        AnchoredGRMProgress,
        expert_calibration_frames,
        measure_calibration,
        reference_frames,
    )

    spec = sims.get_spec(args.task)
    env = sims.make(args.task, render=True, image_size=args.image_size)
    start, goal, _ = reference_frames(env, spec.expert(), seed=99_999)  # as `robo rl` does
    pot = AnchoredGRMProgress(load_checkpoint(args.ckpt, device="cpu"), start, goal)
    cal, cal_details = AffineCalibration(), None
    if args.calibrate > 0:
        frames = expert_calibration_frames(env, spec.expert, args.calibrate)
        cal, cal_details = measure_calibration(pot, frames, env.instruction)
        print("calibration:", cal_details)

    def stats(phi: list[float], gt: list[float], prefix: str) -> dict:
        ok = np.std(phi) > 0 and np.std(gt) > 0
        return {
            f"{prefix}start": phi[0], f"{prefix}end": phi[-1], f"{prefix}min": min(phi),
            f"{prefix}max": max(phi),
            f"pearson_{prefix}gt": float(np.corrcoef(phi, gt)[0, 1]) if ok else None,
            f"{prefix}mae_vs_gt": float(np.mean(np.abs(np.asarray(phi) - np.asarray(gt)))),
            f"{prefix}frac_above_0.8": float(np.mean(np.asarray(phi) > 0.8)),
        }  # fmt: skip

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
        row = {"seed": seed, "steps": len(phi) - 1, "success": success,
               "gt_start": gt[0], "gt_end": gt[-1], **stats(phi, gt, "phi_")}  # fmt: skip
        if args.calibrate > 0:
            row.update(stats(cal.apply(np.array(phi)).tolist(), gt, "phi_cal_"))
        return row

    env.action_space.seed(0)
    expert = [rollout(10_000 + k, True) for k in range(args.episodes)]  # demo seeds of robo rl
    random = [rollout(20_000 + k, False) for k in range(args.random_episodes)]
    env.close()
    for row in expert + random:
        print(row)

    def mean(rows: list[dict], key: str) -> float | None:
        vals = [r[key] for r in rows if r.get(key) is not None]
        return float(np.mean(vals)) if vals else None

    summary = {
        "phi_range_expert_mean": mean(expert, "phi_end") - mean(expert, "phi_start"),
        "gt_range_expert_mean": mean(expert, "gt_end") - mean(expert, "gt_start"),
    }
    for prefix in ("phi_", "phi_cal_") if args.calibrate > 0 else ("phi_",):
        summary[f"{prefix}pearson_expert_mean"] = mean(expert, f"pearson_{prefix}gt")
        summary[f"{prefix}pearson_random_mean"] = mean(random, f"pearson_{prefix}gt")
        summary[f"{prefix}mae_random_mean"] = mean(random, f"{prefix}mae_vs_gt")
        summary[f"{prefix}frac_above_0.8_random_mean"] = mean(random, f"{prefix}frac_above_0.8")
    if args.calibrate > 0:
        summary["phi_cal_range_expert_mean"] = mean(expert, "phi_cal_end") - mean(
            expert, "phi_cal_start"
        )
    print(summary)
    write_result(
        args.name,
        {
            "settings": vars(args),
            "calibration": cal_details,
            "expert": expert,
            "random": random,
            **summary,
            "loadavg": os.getloadavg(),
        },
        command="python -m bench.bench_rl_potential " + " ".join(sys.argv[1:]),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
