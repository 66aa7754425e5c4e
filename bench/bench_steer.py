"""Steering benchmark: success lift of a frozen diffusion policy under shifts, and speed.

Part ``success``: for each task, a state-only diffusion policy (privileged goal in the state)
trained by ``robo train-policy`` with :data:`TRAIN` (``--train`` trains missing checkpoints;
the exact command is stored in the JSON), evaluated closed loop per shift x steering method on
the same seeds (Wilson 95% CI, NFE per chunk). Costs are the task family's defaults
(``robo.cli.cmd_eval_policy.DEFAULT_COSTS``: whole-arm obstacle clearance by FK, table
clearance, reach the goal).

Part ``speed``: ms per chunk of unsteered sampling vs SMC (8 particles x 10 DDIM steps, guided
proposals, repulsion, whole-arm FK cost) vs best-of-8 vs guidance, same process and threads,
for the CPU-sized image policy (3 views at 64 px) and the state-only policy of the success
table; NFE, the ratio to unsteered, and the load average are recorded. The fast sampling path
(``policy.fast``, default) and the eager network are timed in the same run.

Usage::

    python -m bench.bench_steer --speed-only [--threads 2]            # ~1 min idle
    python -m bench.bench_steer --tasks so101/reach metaworld/reach --train --episodes 10
    python -m bench.bench_steer --tasks so101/reach --shifts none surface --methods none smc
    python -m bench.bench_steer --policy image --tasks so101/reach --shifts none --train

``--policy image`` evaluates (and with ``--train`` trains) the camera-conditioned policy: the
default network of ``configs/policy/diffusion.yaml`` (all cameras + state) on the same demos
and optimiser settings, checkpoints in ``outputs/policies/<task>-img``.

Writes ``bench/results/steer_speed.json`` (``--speed-only``) or ``bench/results/steer.json``
(or ``--name``) and, with success rows, ``bench/results/<name>.png`` (success per shift x method).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import RESULTS, command_line, write_result

STEER = {
    "none": {"method": "none"},
    "guidance": {"method": "guidance", "scale": 0.3, "inner_steps": 2, "eta": 0.0},
    "smc": {
        "method": "smc", "particles": 8, "beta": 50.0, "guidance_scale": 0.3, "inner_steps": 2,
        "repulsion_scale": 0.1, "eta": 1.0,
    },
    "best_of_n": {"method": "best_of_n", "num_samples": 8, "eta": 1.0},
}  # fmt: skip
FAMILY_STEER = {
    # Meta-World's box sits in a free-space path: stronger guidance (found on seed 1000 of the
    # obstacle shift: at scale 0.3 the hand parks in front of the box) and a softer tilt, so
    # the particles do not all collapse onto one after the first resampling.
    "metaworld": {
        "guidance": {"scale": 1.5, "inner_steps": 3},
        "smc": {"guidance_scale": 1.5, "inner_steps": 3, "beta": 10.0},
    },
}
"""Per-family overrides of :data:`STEER` (the success part only; speed uses :data:`STEER`)."""


OVERRIDES: dict[str, dict] = {}
"""``--set method.key=value`` overrides, applied after :data:`FAMILY_STEER`."""


def steer_config(task: str, method: str) -> dict:
    """:data:`STEER` ``[method]`` with the task family's :data:`FAMILY_STEER` overrides."""
    family = task.split("/", 1)[0]
    family_cfg = FAMILY_STEER.get(family, {}).get(method, {})
    return {**STEER[method], **family_cfg, **OVERRIDES.get(method, {})}


def parse_set(items: list[str]) -> dict[str, dict]:
    """``["smc.beta=10", ...]`` -> ``{"smc": {"beta": 10.0}}`` (numbers parsed as float/int)."""
    out: dict[str, dict] = {}
    for item in items:
        key, _, value = item.partition("=")
        method, _, name = key.partition(".")
        if method not in STEER or not name or not value:
            raise SystemExit(
                f"--set {item!r}: expected method.key=value with method in {list(STEER)}"
            )
        try:
            parsed: object = int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            parsed = value
        out.setdefault(method, {})[name] = parsed
    return out


TRAIN = [
    "goal_in_state=true", "episodes=60", "policy.model.cameras=[]",
    "policy.model.unet_dims=[32,64]", "policy.train.batch_size=64", "policy.train.steps=1200",
    "policy.train.lr=1e-3",
]  # fmt: skip
"""``robo train-policy`` overrides of the benchmarked state-only policies."""
TASK_TRAIN: dict[str, dict[str, str]] = {
    # 60 demos of ~10 steps (625 windows) left so101/reach at 0.7 in-distribution
    "so101/reach": {"episodes": "200", "policy.train.steps": "3000"},
}
"""Per-task changes to :data:`TRAIN` (checkpoints of these tasks go to ``<task>-v2``)."""
SHIFTS = {
    "so101": ("none", "obstacle", "surface"), "metaworld": ("none", "obstacle", "surface"),
}  # fmt: skip


POLICIES = ("state", "image")
"""``--policy``: ``state`` = the state-only networks of :data:`TRAIN`; ``image`` = the same
demos and optimiser settings with the default network of ``configs/policy/diffusion.yaml``
(every camera of the task + state, its U-Net widths), checkpoints in ``<task>-img``."""
IMAGE_DROPS = ("policy.model.cameras", "policy.model.unet_dims")
"""Keys of :data:`TRAIN` the ``image`` policy leaves at the config's defaults."""
IMAGE_TASK_TRAIN: dict[str, dict[str, str]] = {
    # 3000 steps of the 3-view network ran at ~2.5 s/step on the shared 2-core machine (load
    # ~10, nice 19): ~2 h; 1000 steps fit the session (log_every only changes the log)
    "so101/reach": {"policy.train.steps": "1000", "policy.train.log_every": "50"},
}
"""Per-task changes of the ``image`` policy on top of :data:`TASK_TRAIN`."""


def ckpt_dir(task: str, policy: str = "state") -> Path:
    if policy == "image":
        suffix = "-img"
    else:
        suffix = "-v2" if task in TASK_TRAIN else ""
    return Path("outputs") / "policies" / (task.replace("/", "-") + suffix)


def train_command(task: str, policy: str = "state") -> list[str]:
    if policy not in POLICIES:
        raise ValueError(f"policy={policy!r}; use one of {POLICIES}")
    changes = dict(TASK_TRAIN.get(task, {}))
    if policy == "image":
        changes.update(IMAGE_TASK_TRAIN.get(task, {}))
    args = [
        f"{key}={changes.pop(key)}" if key in changes else arg
        for arg in TRAIN
        for key in [arg.split("=", 1)[0]]
        if not (policy == "image" and key in IMAGE_DROPS)
    ]
    args += [f"{k}={v}" for k, v in changes.items()]
    return [
        sys.executable, "-m", "robo.cli.main", "train-policy", f"task={task}", *args,
        f"out={ckpt_dir(task, policy)}",
    ]  # fmt: skip


def speed(threads: int, repeats: int, paths: tuple[str, ...] = ("fast", "eager")) -> dict:
    """ms per chunk (p50/p99 wall clock, p50 CPU time of this process), NFE and ratio to
    unsteered for two policy sizes. Every SO-101 cost term is active: the scene has the
    obstacle block and the raised step (surface shift) at once, a superset of any eval cell.

    ``paths``: ``fast`` (the defaults: ``policy.fast`` and ``cost.fast`` True, traced U-Net
    trunk and traced cost) is written under ``state_only`` / ``image_3x64px`` as before;
    ``eager`` (both False: the plain network and the eager cost code) under ``<policy>_eager``,
    timed in the same run with the chunks interleaved, and each fast row gets
    ``speedup_vs_eager`` (eager p50 / fast p50)."""
    import torch

    from robo.cli.cmd_eval_policy import DEFAULT_COSTS
    from robo.policy import DiffusionConfig, DiffusionPolicy
    from robo.steer import FKPathMap, KinematicChain, build_steer, compile_cost
    from sims.so101.assets import arm_xml

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    scene = {
        "goal": [0.25, 0.05, 0.1], "obstacle": [0.2, 0.02, 0.11],
        "obstacle_half": [0.015, 0.015, 0.015], "table": [0.0, 0.0, 0.0],
        "step": [0.24, -0.045, 0.02], "step_half": [0.12, 0.06, 0.05],
    }  # fmt: skip
    expr = DEFAULT_COSTS["so101"] + " + reach(goal)"
    cost = compile_cost(
        expr, FKPathMap(KinematicChain.from_mjcf(arm_xml(), "tip")), gripper_dim=5,
        keypoints=lambda o: scene, optional=tuple(k for k in scene if k != "goal"),
    )  # fmt: skip
    policies = {
        "image_3x64px": (
            DiffusionConfig(action_dim=6, state_dim=12),
            {c: rng.integers(0, 255, (96, 96, 3), dtype=np.uint8) for c in ("front", "side", "wrist")},
            12,
        ),
        "state_only": (
            DiffusionConfig(action_dim=6, state_dim=15, cameras=(), unet_dims=(32, 64)), {}, 15,
        ),
    }  # fmt: skip
    # --set overrides apply here too (speed of non-default settings); recorded in the JSON
    settings = {name: {**cfg, **OVERRIDES.get(name, {})} for name, cfg in STEER.items()}
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    out: dict = {
        "threads": threads, "cost": expr, "scene": scene, "settings": settings,
        "git_commit": commit, "paths": list(paths),
        "load_average_before": os.getloadavg(),
    }  # fmt: skip
    for pname, (config, images, state_dim) in policies.items():
        torch.manual_seed(0)
        policy = DiffusionPolicy(config).eval()
        obs = {
            "images": images, "state": np.zeros(state_dim, np.float32), "instruction": "reach",
            "timestamp": np.float64(0),
        }  # fmt: skip
        methods = {name: build_steer(cfg, cost) for name, cfg in settings.items()}
        rows: dict = {path: {} for path in paths}
        for name, steer in methods.items():
            for path in paths:  # warm-up (the fast path builds and checks its traces here)
                policy.fast = cost.fast = path == "fast"
                for _ in range(2):
                    policy.sample(obs, steer=steer)
            ms: dict = {path: [] for path in paths}
            cpu: dict = {path: [] for path in paths}
            for _ in range(repeats):
                for path in paths:  # interleaved: both paths see the same machine load
                    policy.fast = cost.fast = path == "fast"
                    t0, c0 = time.perf_counter(), time.process_time()
                    policy.sample(obs, steer=steer)
                    ms[path].append(1000 * (time.perf_counter() - t0))
                    cpu[path].append(1000 * (time.process_time() - c0))
            for path in paths:
                rows[path][name] = {
                    "ms_p50": float(np.percentile(ms[path], 50)),
                    "ms_p99": float(np.percentile(ms[path], 99)),
                    "cpu_ms_p50": float(np.percentile(cpu[path], 50)),
                    "nfe_per_chunk": policy.last_info["nfe"],
                    "network_calls": policy.last_info["calls"], "fast": path == "fast",
                }  # fmt: skip
                print(pname, path, name, rows[path][name], flush=True)
        for path in paths:
            for name, row in rows[path].items():
                row["ratio_to_unsteered"] = row["ms_p50"] / rows[path]["none"]["ms_p50"]
                if path == "fast" and "eager" in rows:
                    row["speedup_vs_eager"] = rows["eager"][name]["ms_p50"] / row["ms_p50"]
            out[pname if path == "fast" else f"{pname}_{path}"] = rows[path]
    out["load_average_after"] = os.getloadavg()
    return out


def success(
    tasks: list[str],
    shifts: list[str] | None,
    methods: list[str],
    episodes: int,
    seed: int,
    fast: bool = True,
    policy_kind: str = "state",
) -> dict:
    """Closed-loop success per task x shift x method (same seeds for every cell); ``fast``
    False samples with the eager network (``policy.fast = False``); ``policy_kind`` picks the
    checkpoint (:func:`ckpt_dir`)."""
    import json

    import torch

    from robo.cli.cmd_eval_policy import default_cost, evaluate
    from robo.policy import load_policy

    torch.set_num_threads(1)
    table: dict = {}
    for task in tasks:
        path = ckpt_dir(task, policy_kind)
        policy = load_policy(path)
        policy.fast = fast
        meta = json.loads((path / "config.json").read_text()).get("meta", {})
        family = task.split("/", 1)[0]
        cells: dict = {
            "ckpt": str(path), "train_meta": meta, "cost": default_cost(task), "fast": fast,
            "cameras": list(policy.config.cameras),
        }  # fmt: skip
        for shift in shifts or SHIFTS.get(family, ("none", "obstacle")):
            for method in methods:
                t0 = time.time()
                m = evaluate(
                    policy, task, None if shift == "none" else shift, steer_config(task, method),
                    episodes, seed,
                )  # fmt: skip
                key = f"{shift}|{method}"
                cells[key] = {
                    k: m[k]
                    for k in (
                        "success", "ci_low", "ci_high", "n", "nfe_per_chunk", "ms_per_chunk",
                        "per_episode_success", "collision_free", "collision_rate",
                        "per_episode_collision", "seeds",
                    )
                }  # fmt: skip
                cells[key]["wall_s"] = time.time() - t0
                cells[key]["steer"] = steer_config(task, method)
                clean = cells[key]["collision_free"]
                print(
                    task, key, {k: cells[key][k] for k in ("success", "ci_low", "ci_high")},
                    "collision-free", {k: clean[k] for k in ("success", "ci_low", "ci_high")},
                    flush=True,
                )  # fmt: skip
        table[task] = cells
    return table


def plot(table: dict, path: Path) -> None:
    """Grouped bars: success [Wilson 95%] per shift, one bar per method, one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(table), figsize=(5 * len(table), 3.2), squeeze=False)
    for ax, (task, cells) in zip(axes[0], table.items()):
        keys = [k for k in cells if "|" in k]
        shifts = list(dict.fromkeys(k.split("|")[0] for k in keys))
        methods = list(dict.fromkeys(k.split("|")[1] for k in keys))
        width = 0.8 / len(methods)
        for j, method in enumerate(methods):
            xs, ys, lo, hi = [], [], [], []
            for i, shift in enumerate(shifts):
                c = cells.get(f"{shift}|{method}")
                if c:
                    xs.append(i + j * width)
                    ys.append(c["success"])
                    lo.append(c["success"] - c["ci_low"])
                    hi.append(c["ci_high"] - c["success"])
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=method)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(shifts))], shifts)
        ax.set_ylim(0, 1.05)
        ax.set_title(task)
        ax.set_ylabel("success")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--speed-only", action="store_true", help="only the speed part")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for speed")
    parser.add_argument("--repeats", type=int, default=20, help="timed chunks per method")
    parser.add_argument(
        "--paths", nargs="+", default=["fast", "eager"], choices=["fast", "eager"],
        help="sampling paths timed by the speed part (policy.fast on / off)",
    )  # fmt: skip
    parser.add_argument("--tasks", nargs="*", default=["so101/reach", "metaworld/reach"])
    parser.add_argument("--shifts", nargs="*", default=None, help="default: per family")
    parser.add_argument("--methods", nargs="*", default=list(STEER), choices=list(STEER))
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1000, help="first evaluation seed")
    parser.add_argument("--train", action="store_true", help="train missing checkpoints")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed part")
    parser.add_argument("--name", default=None, help="result name (default steer/steer_speed)")
    parser.add_argument("--set", nargs="*", default=[], help="method.key=value overrides")
    parser.add_argument(
        "--eager", action="store_true", help="success part: sample with policy.fast = False"
    )
    parser.add_argument(
        "--policy", default="state", choices=POLICIES,
        help="success part: state-only checkpoints or camera-conditioned ones (<task>-img)",
    )  # fmt: skip
    args = parser.parse_args()
    OVERRIDES.update(parse_set(args.set))
    os.environ.setdefault("MUJOCO_GL", "egl")
    command = command_line("bench_steer", None)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    payload: dict = {
        "steer": STEER, "family_steer": FAMILY_STEER, "overrides": OVERRIDES,
        "git_commit": commit.strip(), "git_dirty_files": subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
            text=True,
        ).stdout.split("\n")[:40],
    }  # fmt: skip
    if not args.no_speed:
        payload["speed"] = speed(args.threads, args.repeats, tuple(args.paths))
    name = args.name or ("steer_speed" if args.speed_only else "steer")
    if not args.speed_only:
        payload["train_commands"] = {}
        payload["policy"] = args.policy
        for task in args.tasks:
            cmd = train_command(task, args.policy)
            payload["train_commands"][task] = " ".join(shlex.quote(c) for c in cmd[1:])
            path = ckpt_dir(task, args.policy)
            if not (path / "config.json").exists():
                if not args.train:
                    raise SystemExit(f"no checkpoint at {path} (hint: add --train)")
                subprocess.run(cmd, check=True)
        payload["load_average_before"] = os.getloadavg()
        payload["success"] = success(
            args.tasks, args.shifts, args.methods, args.episodes, args.seed, not args.eager,
            args.policy,
        )  # fmt: skip
        payload["load_average_after"] = os.getloadavg()
        plot(payload["success"], RESULTS / f"{name}.png")
    write_result(name, payload, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
