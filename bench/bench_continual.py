"""Summary of a continual fine-tuning run (``bench/continual_dagger.sh``): forgetting and transfer.

Reads ``bench/results/<prefix>_stage{1,2}_s<seed>.json`` (two `bench_rft` runs per seed: the
imitation VLA fine-tuned on new task A, then that checkpoint on new task B; every evaluation
uses the same held-out initial states 1000+ and the same sampling stream) and writes
``bench/results/<name>.json``:

* ``old_drop``: mean sampled success of the policy's original tasks before stage 1 minus after
  stage 2, in points (the issue's continual target: <= 5);
* ``backward_A``: task A after stage 2 minus after stage 1 (what learning B did to A);
* ``new``: success of each new task before and after its own stage (it starts near 0);
* the same with greedy decoding where both ends were measured.

Usage::

    python -m bench.bench_continual --seeds 0,1,2 [--prefix rft_continual] [--name rft_continual_s9]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy.stats import binomtest

from bench.common import RESULTS, command_line, write_result


def _mean(evals: dict[str, list[bool]], tasks: list[str]) -> float:
    return float(np.mean([np.mean(evals[t]) for t in tasks]))


def seed_summary(stage1: dict, stage2: dict) -> dict:
    """Forgetting/transfer of one seed from its two per-seed result rows."""
    orig = _original(stage1)
    tasks1, tasks2 = list(stage1["before"]), list(stage2["before"])
    a = [t for t in tasks1 if t not in orig]
    b = [t for t in tasks2 if t not in tasks1]
    out = {
        "seed": stage1["seed"],
        "old_tasks": orig,
        "task_a": a,
        "task_b": b,
        "old_before": _mean(stage1["before"], orig),
        "old_after_stage1": _mean(stage1["after"], orig),
        "old_after_stage2": _mean(stage2["after"], orig),
        "a_after_stage1": _mean(stage1["after"], a),
        "a_after_stage2": _mean(stage2["after"], a),
        "new": {
            t: {"before": float(np.mean(s["before"][t])), "after": float(np.mean(s["after"][t]))}
            for t, s in [*((t, stage1) for t in a), *((t, stage2) for t in b)]
        },
        "old_after_stage1_greedy": _mean(stage1["after_greedy"], orig),
        "old_after_stage2_greedy": _mean(stage2["after_greedy"], orig),
        "per_task_old": {
            t: [float(np.mean(x[t])) for x in (stage1["before"], stage1["after"], stage2["after"])]
            for t in orig
        },
    }
    pairs = [(b, a) for t in orig for b, a in zip(stage1["before"][t], stage2["after"][t])]
    out["old_paired"] = {
        "n": len(pairs),
        "gained": sum(1 for b, a in pairs if a and not b),
        "lost": sum(1 for b, a in pairs if b and not a),
    }
    out["old_drop_points"] = 100 * (out["old_before"] - out["old_after_stage2"])
    out["backward_a_points"] = 100 * (out["a_after_stage2"] - out["a_after_stage1"])
    return out


def _original(stage1: dict) -> list[str]:
    """The policy's original tasks: stage 1 evaluates them plus the one task it trains."""
    trained = set(stage1.get("train_tasks") or [])
    return [t for t in stage1["before"] if t not in trained]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--prefix", default="rft_continual")
    ap.add_argument("--name", default="rft_continual_s9")
    args = ap.parse_args()
    rows = []
    for s in [int(x) for x in args.seeds.split(",") if x]:
        parts = []
        for k in (1, 2):
            d = json.loads((RESULTS / f"{args.prefix}_stage{k}_s{s}.json").read_text())
            row = d["per_seed"][0]
            row["train_tasks"] = d["args"]["train_tasks"]
            parts.append(row)
        rows.append(seed_summary(*parts))
    keys = ("old_drop_points", "backward_a_points", "old_before", "old_after_stage2")
    summary = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    summary["old_drop_points_per_seed"] = [r["old_drop_points"] for r in rows]
    new_tasks = list(rows[0]["new"])
    summary["new_after"] = {
        t: float(np.mean([r["new"][t]["after"] for r in rows])) for t in new_tasks
    }
    summary["target_old_drop_le_5"] = summary["old_drop_points"] <= 5.0
    gained = sum(r["old_paired"]["gained"] for r in rows)
    lost = sum(r["old_paired"]["lost"] for r in rows)
    n = sum(r["old_paired"]["n"] for r in rows)
    # normal approximation of the paired difference (lost - gained) / n, in points
    drop = (lost - gained) / n
    half = 1.96 * np.sqrt(gained + lost - (lost - gained) ** 2 / n) / n
    summary["old_paired"] = {
        "n": n, "gained": gained, "lost": lost,
        "mcnemar_p": float(binomtest(gained, gained + lost, 0.5).pvalue) if gained + lost else 1.0,
        "drop_ci95_points": [100 * (drop - half), 100 * (drop + half)],
    }  # fmt: skip
    write_result(
        args.name,
        {"summary": summary, "seeds": rows},
        command_line("bench_continual", None),
    )
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
