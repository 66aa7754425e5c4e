"""The demo pipeline behind ``make demo`` / ``robo demo``: one stage per part of the stack.

Each stage reads what earlier stages wrote under ``out`` and writes its own artefacts, so a
stage can be re-run alone (``robo demo stages=[report]``). Stages:

* ``collect``: a few labelled episodes of the default SO-101 task (LeRobotDataset v3).
* ``report``: a per-camera contact sheet PNG and an mp4 of one episode (all views side by side).
* ``reward``: train a small progress reward model on those episodes, evaluate it on a held-out
  episode (progress curve under a filmstrip, mp4 with the trace).
* ``rl``: a short sparse-vs-PBRS SAC run (privileged progress potential) and its comparison plot.
* ``steer``: a small state-only diffusion policy, unsteered vs SMC-steered under an obstacle.
* ``rft``: a tiny state-only VLA on metaworld/reach, then ``robo rft`` (offline chunk-level
  GRPO with CTAR/FCR on its demos); prints success before/after.
* ``deploy``: that policy through ``robo deploy --dry-run``: on the SO-101 sim twin, then on
  the real SO-101 driver over the wire-level mock bus (safety shield on, loop stats, recording).

The learning stages call the ``robo`` commands themselves, so they exercise the same code path
a user runs; each stage's budget is tiny (minutes on 2 CPU cores), so the numbers it prints
show the pipeline working, not the benchmark results (docs/BENCHMARKS.md has those).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class DemoConfig:
    """Attributes:
    task: the demo task.
    out: folder for everything the demo writes.
    episodes: expert episodes collected (plus three failure episodes).
    image_size: camera image side [px].
    seed: first seed.
    """

    task: str = "so101/pick-cube"
    out: Path = Path("outputs/demo")
    episodes: int = 8
    image_size: int = 96
    seed: int = 0

    @property
    def data_dir(self) -> Path:
        return self.out / "data" / self.task.replace("/", "-")

    @property
    def failure_dir(self) -> Path:
        return self.out / "data" / (self.task.replace("/", "-") + "-failure")


def stage_collect(cfg: DemoConfig) -> dict:
    """Collect ``cfg.episodes`` expert episodes and one failure episode."""
    from robo.data.collect import collect

    overrides = {"image_size": cfg.image_size}
    experts = collect(cfg.task, cfg.episodes, cfg.data_dir, "expert", cfg.seed, overrides=overrides)
    failures = collect(
        cfg.task, 1, cfg.failure_dir, "failure", cfg.seed + 1000, overrides=overrides
    )
    return {
        "expert_success_rate": experts.success_rate,
        "failure_success_rate": failures.success_rate,
        "episodes_per_min": experts.episodes_per_min,
        "dataset": str(cfg.data_dir),
    }


def stage_report(cfg: DemoConfig) -> dict:
    """Contact sheet per camera + mp4 (all cameras side by side) of episode 0."""
    from robo.data import EpisodeReader
    from robo.eval.media import contact_sheet, label, save_png, tile_views, write_mp4

    reader = EpisodeReader(cfg.data_dir)
    ep = reader.read(0)
    cams = list(ep.images)
    sheets = [contact_sheet(ep.images[c], n=8, title=f"{ep.task} / {c}", scale=2) for c in cams]
    sheet = np.concatenate(sheets, axis=0)
    png = save_png(sheet, cfg.out / "contact_sheet.png")
    frames = []
    for t in range(len(ep)):
        row = tile_views([ep.images[c][t] for c in cams])
        text = f"t={t} success={bool(ep.success[t])} progress_gt={ep.progress_gt[t]:.2f}"
        frames.append(label(row, text, scale=2))
    mp4 = write_mp4(frames, cfg.out / "episode0.mp4", fps=20)
    return {"contact_sheet": str(png), "video": str(mp4), "cameras": cams, "frames": len(ep)}


def _robo(*args: str) -> None:
    """Run a ``robo`` command in-process; a non-zero exit stops the demo with its message."""
    from robo.cli.main import main

    rc = main(list(args))
    if rc != 0:
        raise RuntimeError(f"`robo {' '.join(args)}` exited with {rc}")


def _json(path: Path) -> dict:
    import json

    return json.loads(path.read_text()) if path.exists() else {}


def stage_reward(cfg: DemoConfig) -> dict:
    """Train a small GRM on the demo episodes; evaluate on a held-out episode."""
    from robo.data.collect import collect

    heldout = cfg.out / "data" / (cfg.task.replace("/", "-") + "-heldout")
    collect(
        cfg.task, 1, heldout, "expert", cfg.seed + 500, overrides={"image_size": cfg.image_size}
    )
    ckpt = cfg.out / "reward"
    data = f"{cfg.data_dir},{cfg.failure_dir}"
    _robo(
        "train-reward",
        f'data="{data}"',
        f"out={ckpt}",
        "train.steps=3000",
        "train.time_limit_s=180",
        "threads=1",
        "train.eval_every=100",
        "val_frac=0.0",
    )
    _robo(
        "eval-reward",
        f"ckpt={ckpt}",
        f'data="{heldout},{cfg.failure_dir}"',
        f"out={ckpt / 'eval'}",
        "split=all",
        "videos=1",
        "figures=2",
    )
    metrics = _json(ckpt / "eval" / "metrics.json")
    return {
        "checkpoint": str(ckpt),
        "eval": str(ckpt / "eval"),
        "overall": metrics.get("overall", metrics),
    }


def stage_rl(cfg: DemoConfig) -> dict:
    """Sparse vs PBRS (privileged progress potential) on metaworld/reach, one seed each."""
    root = cfg.out / "rl"
    common = [
        "task=metaworld/reach",
        "seeds=1",
        "steps=2000",
        "demos=2",
        "max_episode_steps=60",
        "eval_every=500",
        "eval_episodes=5",
        "final_episodes=10",
        "overwrite=true",
    ]
    _robo("rl", "scheme=sparse", f"out={root / 'sparse'}", *common)
    _robo("rl", "scheme=pbrs", "progress=gt", f"out={root / 'pbrs'}", *common)
    _robo("rl-compare", f"runs=[{root / 'sparse'},{root / 'pbrs'}]", f"out={root / 'compare'}")
    return {
        scheme: _json(root / scheme / "metrics.json").get("summary", {})
        for scheme in ("sparse", "pbrs")
    } | {"plot": str(root / "compare")}


def stage_steer(cfg: DemoConfig) -> dict:
    """Train a small state-only diffusion policy on so101/reach; unsteered vs SMC, obstacle."""
    ckpt = cfg.out / "policy"
    _robo(
        "train-policy",
        "task=so101/reach",
        "goal_in_state=true",
        "episodes=40",
        "policy.model.cameras=[]",
        "policy.model.unet_dims=[32,64]",
        "policy.train.batch_size=32",
        "policy.train.steps=400",
        "policy.train.lr=2e-3",
        f"out={ckpt}",
    )
    out = {}
    for steer in ("none", "smc"):
        dest = cfg.out / "steer" / steer
        _robo(
            "eval-policy",
            f"ckpt={ckpt}",
            "shift=obstacle",
            f"steer={steer}",
            "episodes=3",
            "videos=1",
            f"out={dest}",
        )
        out[steer] = _json(dest / "metrics.json").get("success", None)
    return {"policy": str(ckpt), "success_under_obstacle": out}


def stage_deploy(cfg: DemoConfig) -> dict:
    """`robo deploy --dry-run` of the steer stage's diffusion policy: first on the SO-101 sim
    twin, then through the real SO-101 driver (lerobot's Feetech bus) on the wire-level mock
    arm, recorded as a LeRobotDataset; the goal is a held-out so101/reach target."""
    import shutil

    from sims.so101.kinematics import HOME_Q
    from sims.so101.layout import sample_layout

    ckpt = cfg.out / "policy"
    if not (ckpt / "config.json").exists():
        raise RuntimeError(f"no policy at {ckpt} (hint: run the steer stage first)")
    goal = [round(float(v), 3) for v in sample_layout("reach", cfg.seed + 900).target]
    home = [round(float(v), 3) for v in HOME_Q]
    dest = cfg.out / "deploy"
    shutil.rmtree(dest, ignore_errors=True)
    _robo(
        "deploy",
        "robot=mock",
        f"policy={ckpt}",
        f"goal=[{','.join(map(str, goal))}]",
        f"robot.home=[{','.join(map(str, home))}]",
        "--dry-run",
        "duration=8",
        "dry_run_duration=8",
        f"record={dest / 'recording'}",
        "keyboard=false",
        f"out={dest}",
    )
    keys = (
        "achieved_hz",
        "period_error_ms",
        "inference_ms",
        "safety_interventions",
        "watchdog_trips",
        "commands_outside_limits",
        "final_tip_to_goal_m",
    )
    out: dict = {"goal": goal}
    for label, name in (("dry_run_twin", "loop_stats_dry_run.json"), ("mock", "loop_stats.json")):
        stats = _json(dest / name)
        out[label] = {k: stats.get(k) for k in keys}
    return out | {"recording": str(dest / "recording")}


def stage_rft(cfg: DemoConfig) -> dict:
    """A tiny state-only VLA on metaworld/reach (reused if ``<out>/vla`` exists), then a short
    offline ``robo rft``; success before/after on 10 held-out seeds (pipeline check, not a
    benchmark: bench/bench_rft.py measures)."""
    ckpt = cfg.out / "vla"
    if not (ckpt / "config.json").exists():
        _robo(
            "train-policy", "policy=vla", "tasks=[metaworld/reach]", "episodes=5",
            "policy.model.horizon=4", "policy.model.executed=4", "policy.model.bins=32",
            "policy.model.d_model=32", "policy.model.layers=1", "policy.train.steps=300",
            "policy.train.batch_size=32", f"out={ckpt}",
        )  # fmt: skip
    dest = cfg.out / "rft"
    _robo(
        "rft", f"policy={ckpt}", "tasks=[metaworld/reach]", "steps=8", "demos=3",
        "eval_episodes=10", "max_episode_steps=100", "rft.obs_per_step=16", f"out={dest}",
    )  # fmt: skip
    m = _json(dest / "metrics.json")
    before, after = m["success_before_mean"], m["success_after_mean"]
    print(f"rft: success {before:.2f} -> {after:.2f} (metaworld/reach, 10 seeds)")
    return {"success_before": before, "success_after": after, "plot": str(dest / "rft.png")}


STAGES: dict[str, Callable[[DemoConfig], dict]] = {
    "collect": stage_collect,
    "report": stage_report,
    "reward": stage_reward,
    "rl": stage_rl,
    "steer": stage_steer,
    "rft": stage_rft,
    "deploy": stage_deploy,
}
