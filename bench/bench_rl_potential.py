"""How much signal a GRM potential gives RL: Φ along expert and random episodes vs progress_gt.

The anchored GRM potential (:class:`robo.rl.progress.AnchoredGRMProgress`, anchors from one
expert episode exactly as ``robo rl`` builds them) is evaluated along ``--episodes`` expert
episodes and one random-action episode; reports Φ at start/end, its range, and its Pearson
correlation with the privileged ``progress_gt``. A compressed range means PBRS with scale 1 is
close to sparse. With ``--calibrate N`` (as ``robo rl calibrate=N``), the affine calibration
Φ_cal = clip((Φ − Φ_start) / (Φ_goal − Φ_start), 0, 1) is measured once on N expert episodes
(seeds apart from the ones reported) and the same numbers are reported for Φ_cal, plus how often
random-action states get Φ_cal > 0.8 (false "almost done" states). Random actions on reach
barely move toward the goal (progress_gt stays within 0-0.05), so a per-episode Pearson there
correlates with near-constant noise; ``--noisy-episodes N --noise X`` adds N expert episodes
with heavy action noise (RL-like states off the demo path whose progress_gt does vary, seeds
30 000+k), and every group also gets a Pearson pooled over all its frames. Result:
``bench/results/<--name>.json``.

Usage::

    python -m bench.bench_rl_potential --ckpt outputs/reward/rl-reach --task metaworld/reach \
        --calibrate 3 --random-episodes 3 --name rl_potential_cal
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch._dynamo  # noqa: F401  (before any EGL context; see robo.cli.cmd_rl)

from bench.common import command_line, write_result

if TYPE_CHECKING:
    from robo.reward.shaping import AffineCalibration


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--ckpt", required=True, help="GRM checkpoint dir")
    p.add_argument("--task", default="metaworld/reach")
    p.add_argument("--episodes", type=int, default=3)
    p.add_argument("--image-size", type=int, default=96)
    p.add_argument("--max-steps", type=int, default=100)
    p.add_argument("--calibrate", type=int, default=0, help="calibration episodes (0 = off)")
    p.add_argument("--random-episodes", type=int, default=1)
    p.add_argument("--noisy-episodes", type=int, default=0, help="heavy-noise expert episodes")
    p.add_argument("--noise", type=float, default=1.0, help="noisy: fraction of the half-range")
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
    from sims.experts import make_expert

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

    def rollout(seed: int, expert: bool, noise: float = 0.0) -> dict:
        obs, info = env.reset(seed=seed)
        ex = (
            make_expert(env, "noisy", np.random.default_rng(seed), noise=noise)
            if noise
            else spec.expert()
        )
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
        row = {"seed": seed, "steps": len(phi) - 1, "success": success, "phi": phi, "gt": gt,
               "gt_start": gt[0], "gt_end": gt[-1], **stats(phi, gt, "phi_")}  # fmt: skip
        if args.calibrate > 0:
            row.update(stats(cal.apply(np.array(phi)).tolist(), gt, "phi_cal_"))
        return row

    env.action_space.seed(0)
    expert = [rollout(10_000 + k, True) for k in range(args.episodes)]  # demo seeds of robo rl
    random = [rollout(20_000 + k, False) for k in range(args.random_episodes)]
    noisy = [rollout(30_000 + k, True, args.noise) for k in range(args.noisy_episodes)]
    env.close()
    for row in expert + random + noisy:
        print({k: v for k, v in row.items() if k not in ("phi", "gt")})

    def mean(rows: list[dict], key: str) -> float | None:
        vals = [r[key] for r in rows if r.get(key) is not None]
        return float(np.mean(vals)) if vals else None

    summary = {
        "gt_max_random_mean": mean([{"v": max(r["gt"])} for r in random], "v"),
        "phi_range_expert_mean": mean(expert, "phi_end") - mean(expert, "phi_start"),
        "gt_range_expert_mean": mean(expert, "gt_end") - mean(expert, "gt_start"),
    }

    def pooled(rows: list[dict], cal_: bool) -> float | None:
        if not rows:
            return None
        phi = np.concatenate([r["phi"] for r in rows])
        phi = cal.apply(phi) if cal_ else phi
        gt = np.concatenate([r["gt"] for r in rows])
        return float(np.corrcoef(phi, gt)[0, 1]) if np.std(phi) > 0 and np.std(gt) > 0 else None

    for prefix in ("phi_", "phi_cal_") if args.calibrate > 0 else ("phi_",):
        summary[f"{prefix}pearson_expert_mean"] = mean(expert, f"pearson_{prefix}gt")
        summary[f"{prefix}pearson_random_mean"] = mean(random, f"pearson_{prefix}gt")
        summary[f"{prefix}pearson_random_pooled"] = pooled(random, prefix == "phi_cal_")
        summary[f"{prefix}pearson_expert_pooled"] = pooled(expert, prefix == "phi_cal_")
        if noisy:
            summary[f"{prefix}pearson_noisy_mean"] = mean(noisy, f"pearson_{prefix}gt")
            summary[f"{prefix}pearson_noisy_pooled"] = pooled(noisy, prefix == "phi_cal_")
            summary[f"{prefix}false_high_noisy"] = _false_high(noisy, cal, prefix)
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
            "noisy": noisy,
            **summary,
            "loadavg": os.getloadavg(),
        },
        command=command_line("bench_rl_potential", None),
    )
    return 0


def _false_high(rows: list[dict], cal: AffineCalibration, prefix: str) -> float | None:
    """Share of frames with Φ > 0.8 while progress_gt <= 0.5 (far from done), over ``rows``."""
    phi = np.concatenate([r["phi"] for r in rows])
    phi = cal.apply(phi) if prefix == "phi_cal_" else phi
    gt = np.concatenate([r["gt"] for r in rows])
    far = gt <= 0.5
    return float(np.mean(phi[far] > 0.8)) if far.any() else None


if __name__ == "__main__":
    sys.exit(main())
