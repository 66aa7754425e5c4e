"""Label-level ablation: automatic subtask segmentation vs labels linear in time.

No model is trained: both label makers (:func:`robo.reward.labels.progress_labels` with
``mode="segments"`` and ``mode="time"``) are compared with the simulator's privileged
``progress_gt`` on every successful expert episode of the given tasks (Pearson r, ECE as in
:mod:`robo.reward.metrics`), so the table says how much closer to the real progress the
training targets get with segmentation. Images are not decoded.

Usage: ``python -m bench.bench_reward_labels [--tasks a,b] [--data-root outputs/data]``
-> ``bench/results/reward_labels.json``.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.common import command_line, write_result
from robo.reward.data import DEFAULT_TRAIN_TASKS, resolve_sources
from robo.reward.labels import first_success, progress_labels
from robo.reward.metrics import ece, pearson


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tasks", default=",".join(DEFAULT_TRAIN_TASKS))
    ap.add_argument("--data-root", default="outputs/data")
    ap.add_argument("--name", default="reward_labels")
    args = ap.parse_args()
    from robo.data import EpisodeReader

    rows: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for task in [t for t in args.tasks.split(",") if t]:
        for src in resolve_sources([task], args.data_root):
            if not isinstance(src, Path) or not src.name.endswith("-expert"):
                continue
            reader = EpisodeReader(src)
            for i in range(len(reader)):
                ep = reader.read(i, images=False)
                gt = np.asarray(ep.progress_gt, np.float64)
                if first_success(ep) is None or not np.isfinite(gt).all():
                    continue
                for mode in ("segments", "time"):
                    lab = progress_labels(ep, mode)
                    rows[task][f"{mode}_pearson"].append(pearson(lab, gt) or 0.0)
                    rows[task][f"{mode}_ece"].append(ece(lab, gt))
    per_task = {t: {k: round(float(np.mean(v)), 3) for k, v in r.items()} for t, r in rows.items()}
    keys = ("segments_pearson", "time_pearson", "segments_ece", "time_ece")
    overall = {k: round(float(np.mean([r[k] for r in per_task.values()])), 3) for k in keys}
    overall["tasks_with_gt"] = len(per_task)
    overall["segments_better_pearson_tasks"] = sum(
        r["segments_pearson"] > r["time_pearson"] for r in per_task.values()
    )
    cmd = command_line("bench_reward_labels", None)
    write_result(args.name, {"overall": overall, "per_task": per_task}, cmd)
    print(overall)
    return 0


if __name__ == "__main__":
    sys.exit(main())
