"""Which rewinds does a reward model miss? ``regress_recall`` segment by segment.

``regress_recall`` (issue 3) is the share of regress segments (recorded rewinds over which the
privileged progress_gt drops by more than 0.02, :func:`robo.reward.evaluate.regress_segments`)
where Φ at the segment's end is more than 0.02 below Φ at its start. This scores the ``rewind``
episodes of a test split with a checkpoint (or an ensemble: ``a,b``), goal frames from the
training demos as ``bench_reward_testset`` does, and lists every segment: its length, progress_gt
and Φ at start and end, Φ's minimum inside, whether it counts as detected, and which of the three
perspectives (incremental, forward, backward) drop on their own. The summary splits the misses by
the size of progress_gt's drop, so a miss on a 1-cm regress is told apart from one on a real
undo, and gives each perspective's recall and that of "any perspective drops" (how much a
different fusion of the same estimates could recover, roughly). Result: ``bench/results/<--name>.json``.

Usage::

    python -m bench.bench_reward_regress --ckpt checkpoints/reward/default-s8 --name reward_regress_s12
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import command_line, write_result

BIG_DROP = 0.1
"""progress_gt drop [progress units] above which a regress segment counts as a real undo in the
summary's split (the metric itself counts every segment over 0.02)."""


def segment_rows(ckpt: str, root: Path, goal_root: Path, process_std: float | None) -> list[dict]:
    """One row per regress segment of the ``*-rewind`` datasets under ``root``."""
    import torch

    from robo.reward.data import load_episodes
    from robo.reward.ensemble import load_ensemble, split_ckpts
    from robo.reward.evaluate import goal_demos, score_for_metrics
    from robo.reward.metrics import REGRESS_DROP

    torch.set_num_threads(1)
    models = load_ensemble(split_ckpts(ckpt))
    if process_std is not None:
        for m in models:
            m.config.extra["process_std"] = float(process_std)
    sources = sorted(p.name for p in root.iterdir() if p.name.endswith("-rewind"))
    if not sources:
        raise SystemExit(f"no *-rewind datasets under {root} (hint: --root <test split>)")
    eps = load_episodes(sources, str(root), image_size=models[0].config.image_size)
    demos = goal_demos(sorted({e.task for e in eps}), str(goal_root))
    scored, traces = score_for_metrics(models, eps, demos, True, reverse=False)
    rows = []
    for ep, e, tr in zip(eps, scored, traces):
        per = {k: np.asarray(v) for k, v in tr.perspectives.items()}
        for a, b in e.rewind_segments:
            a, b = int(a), min(int(b), len(e.phi) - 1)
            rows.append(
                {"task": e.task, "seed": int(ep.seed), "start": a, "end": b, "frames": b - a,
                 "gt_start": float(e.progress_gt[a]), "gt_end": float(e.progress_gt[b]),
                 "phi_start": float(e.phi[a]), "phi_end": float(e.phi[b]),
                 "phi_min": float(e.phi[a : b + 1].min()),
                 "detected": bool(e.phi[b] < e.phi[a] - REGRESS_DROP),
                 "perspectives": {k: [float(v[a]), float(v[b])] for k, v in per.items()},
                 "detected_by": sorted(k for k, v in per.items() if v[b] < v[a] - REGRESS_DROP)}
            )  # fmt: skip
    return rows


def summarise(rows: list[dict]) -> dict:
    """Recall over all segments, split by the size of progress_gt's drop, and per perspective
    (each perspective's own estimate at the segment's start and end; the incremental one is
    rebuilt on the fused Φ, so it is not an incremental-only trace)."""
    from robo.reward.scoring import PERSPECTIVES

    def share(hits: list[bool]) -> float | None:
        return float(np.mean(hits)) if hits else None

    def recall(rs: list[dict]) -> float | None:
        return share([r["detected"] for r in rs])

    big = [r for r in rows if r["gt_start"] - r["gt_end"] > BIG_DROP]
    small = [r for r in rows if r["gt_start"] - r["gt_end"] <= BIG_DROP]
    return {
        "regress_recall": recall(rows),
        "n": len(rows),
        f"recall_gt_drop_over_{BIG_DROP}": recall(big),
        f"n_gt_drop_over_{BIG_DROP}": len(big),
        f"recall_gt_drop_upto_{BIG_DROP}": recall(small),
        f"n_gt_drop_upto_{BIG_DROP}": len(small),
        "recall_by_perspective": {
            k: share([k in r["detected_by"] for r in rows]) for k in PERSPECTIVES
        },
        "recall_any_perspective": share([bool(r["detected_by"]) for r in rows]),
        "missed": [f"{r['task']} [{r['start']}, {r['end']})" for r in rows if not r["detected"]],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--ckpt", default="checkpoints/reward/default-s8", help="checkpoint(s), a,b")
    p.add_argument("--root", default="outputs/data_test", help="the test split's datasets")
    p.add_argument("--goal-root", default="outputs/data", help="training demos (goal frames)")
    p.add_argument("--process-std", type=float, default=None, help="override the checkpoint's")
    p.add_argument("--name", default="reward_regress")
    args = p.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    load_start, t0 = os.getloadavg(), time.time()
    rows = segment_rows(args.ckpt, Path(args.root), Path(args.goal_root), args.process_std)
    for r in rows:
        print(
            f"{r['task']:32s} {r['frames']:3d} frames  progress_gt {r['gt_start']:.2f} -> "
            f"{r['gt_end']:.2f}  Φ {r['phi_start']:.2f} -> {r['phi_end']:.2f} "
            f"(min {r['phi_min']:.2f})  {'detected' if r['detected'] else 'MISSED'}"
        )
    summary = summarise(rows)
    print({k: v for k, v in summary.items() if k != "missed"})
    write_result(
        args.name,
        {"settings": vars(args), "summary": summary, "segments": rows,
         "wall_s": round(time.time() - t0, 1),
         "loadavg": {"start": load_start, "end": os.getloadavg()}},
        command=command_line("bench_reward_regress", None),
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
