"""RL with shaped rewards: sparse vs PBRS (GRM / gt) vs baselines, over seeds and tasks.

Each (task, reward) is one ``robo rl`` job writing ``<root>/<task>/<reward>/metrics.json``;
``robo rl-compare`` then draws the IQM comparison and table. Results:
``bench/results/rl.json`` (+ ``<root>/compare/table.md``, ``compare.png``).

Usage::

    python -m bench.bench_rl --quick                    # CPU-sized smoke of the comparison
    python -m bench.bench_rl --tasks metaworld/reach,metaworld/button-press,so101/reach \
        --rewards sparse,pbrs,naive,raw,oracle,gt --seeds 5 --steps 50000 --grm <ckpt dir>

``--grm`` gives a GRM checkpoint for the potential schemes (``progress=<ckpt>``); without it
they use the privileged ``progress_gt`` (labelled ``[gt]``), which tests the shaping, not the
reward model.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.common import RESULTS, command_line, write_result

POTENTIAL = {"pbrs", "naive", "raw", "clip", "delta"}


def _run_settings(run: str) -> dict:
    """Budget and seeds of a run directory, as its metrics.json says (reused runs may differ
    from this invocation's flags)."""
    m = json.loads((Path(run) / "metrics.json").read_text())
    c = m["config"]
    keys = ("steps", "demos", "max_episode_steps", "eval_every", "image_size", "progress")
    return {"seeds": len(m["runs"]), **{k: c.get(k) for k in keys}}


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small CPU budget (minutes)")
    p.add_argument("--tasks", default="metaworld/reach")
    p.add_argument("--rewards", default="sparse,gt,naive,raw,oracle")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--steps", type=int, default=30_000)
    p.add_argument("--demos", type=int, default=0)
    p.add_argument("--max-episode-steps", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=0, help="0 = steps / 10")
    p.add_argument("--grm", default="", help="GRM checkpoint dir for potential schemes")
    p.add_argument("--root", default=str(RESULTS / "rl"))
    p.add_argument("--extra", default="", help="extra `robo rl` overrides, space-separated")
    p.add_argument("--reuse", action="store_true", help="keep runs whose metrics.json exists")
    p.add_argument(
        "--extra-runs",
        default="",
        help="comma-separated run dirs to add to the comparison (e.g. more seeds of a method)",
    )
    p.add_argument(
        "--note", default="", help="how reused runs were produced (stored in the JSON as is)"
    )
    p.add_argument("--name", default="rl", help="result name: bench/results/<name>.json")
    args = p.parse_args()
    if args.quick:
        args.seeds, args.steps = min(args.seeds, 2), min(args.steps, 6000)
        args.max_episode_steps = args.max_episode_steps or 100
    eval_every = args.eval_every or max(args.steps // 10, 1)
    root = Path(args.root)
    load_start = os.getloadavg()
    runs, timings = [], {}
    for task in [t for t in args.tasks.split(",") if t]:
        for reward in [r for r in args.rewards.split(",") if r]:
            out = root / task.replace("/", "_") / reward
            if args.reuse and (out / "metrics.json").exists():
                runs.append(str(out))
                continue
            cmd = [
                sys.executable, "-m", "robo.cli.main", "rl", f"task={task}", f"scheme={reward}",
                f"seeds={args.seeds}", f"steps={args.steps}", f"demos={args.demos}",
                f"eval_every={eval_every}", f"out={out}", "overwrite=true",
                f"max_episode_steps={args.max_episode_steps}",
            ]  # fmt: skip
            if reward in POTENTIAL and args.grm:
                cmd.append(f"progress={args.grm}")
            cmd += [x for x in args.extra.split() if x]
            print("==", " ".join(cmd[2:]), flush=True)
            t0 = time.time()
            rc = subprocess.call(cmd)
            timings[f"{task}:{reward}"] = round(time.time() - t0, 1)
            if rc == 0:
                runs.append(str(out))
    runs += [r for r in args.extra_runs.split(",") if r]
    if not runs:
        print("no run finished", file=sys.stderr)
        return 1
    cmp_out = root / ("compare" if args.name == "rl" else f"compare_{args.name}")
    rc = subprocess.call(
        [sys.executable, "-m", "robo.cli.main", "rl-compare", f"runs=[{','.join(runs)}]",
         f"out={cmp_out}"]
    )  # fmt: skip
    if rc != 0:
        return rc
    result = json.loads((cmp_out / "compare.json").read_text())
    write_result(
        args.name,
        {
            "settings": vars(args) | {"eval_every": eval_every},
            "reused_runs": {r: _run_settings(r) for r in runs},
            "wall_s": timings,
            "loadavg": {"start": load_start, "end": os.getloadavg()},
            "git_commit": _git_commit(),
            "table_md": (cmp_out / "table.md").read_text(),
            **result,
        },
        command=command_line("bench_rl", None),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
