"""Uncertainty calibration of the GRM's std: none vs RMS z-score vs coverage fit.

Episodes of the given tasks are split by seed parity: the even half fits ``std_scale`` against
the automatic training labels (what :func:`robo.reward.scoring.calibrate_std` does after
training; RMS of z is the previous method), the odd half measures the calibration of each
scale against the privileged ``progress_gt``: ``unc_ece`` (mean |coverage(q) - q|) and the
coverage of ±1 std (0.68 when calibrated). Each episode is scored once; the scales are applied
to the same traces.

Usage: ``python -m bench.bench_reward_calib --ckpt <dir> --tasks a,b --roots r1,r2``
-> ``bench/results/reward_calib.json``.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

from bench.common import command_line, write_result
from robo.reward.checkpoint import load_checkpoint
from robo.reward.data import load_episodes
from robo.reward.evaluate import pick_demos, score_for_metrics
from robo.reward.metrics import COVERAGE_LEVELS, coverage_curve, uncertainty_ece


def _fit(err: np.ndarray, std: np.ndarray) -> dict[str, float]:
    grid = np.geomspace(0.05, 20.0, 121)
    cost = [uncertainty_ece(err, g * std) for g in grid]
    return {
        "none": 1.0,
        "rms_z": float(np.sqrt(np.mean((err / std) ** 2))),
        "coverage_fit": float(grid[int(np.argmin(cost))]),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--tasks", required=True)
    ap.add_argument("--roots", default="outputs/data_heldout")
    ap.add_argument("--name", default="reward_calib")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = load_checkpoint(args.ckpt)
    base_scale = float(model.config.extra.get("std_scale", 1.0))
    model.config.extra["std_scale"] = 1.0  # raw fused std; scales are applied below
    tasks = [t for t in args.tasks.split(",") if t]
    eps = []
    for root in [r for r in args.roots.split(",") if r]:
        present = [
            t
            for t in tasks
            if any(
                os.path.isdir(f"{root}/{t.replace('/', '-')}-{k}") for k in ("expert", "failure")
            )
        ]
        eps += load_episodes(present, root) if present else []
    demos = pick_demos(eps)
    scored, _ = score_for_metrics(model, eps, demos, reverse=False)
    fit_half = [s for s, e in zip(scored, eps) if e.seed % 2 == 0 and s.label is not None]
    test_half = [s for s, e in zip(scored, eps) if e.seed % 2 == 1 and s.progress_gt is not None]
    err_fit = np.concatenate([s.phi - s.label for s in fit_half])
    std_fit = np.maximum(np.concatenate([s.std for s in fit_half]), 1e-3)
    err = np.concatenate([s.phi - s.progress_gt for s in test_half])
    std = np.maximum(np.concatenate([s.std for s in test_half]), 1e-3)
    ok = np.isfinite(err)
    err, std = err[ok], std[ok]
    res: dict = {
        "ckpt": args.ckpt,
        "checkpoint_std_scale": base_scale,
        "episodes": {"fit": len(fit_half), "test": len(test_half)},
        "load": os.getloadavg(),
        "levels": COVERAGE_LEVELS.tolist(),
    }
    for name, scale in _fit(err_fit, std_fit).items():
        cov = coverage_curve(err, scale * std)
        res[name] = {
            "scale": round(scale, 3),
            "unc_ece": round(uncertainty_ece(err, scale * std), 3),
            "coverage_1std": round(float(np.mean(np.abs(err) <= scale * std)), 3),
            "coverage": [round(float(c), 3) for c in cov],
        }
        print(name, res[name], flush=True)
    write_result(args.name, res, command_line("bench_reward_calib", None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
