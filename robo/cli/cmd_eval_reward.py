"""`robo eval-reward`: reward-model metrics (with the time-only baseline), plots and an mp4."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

HELP = "evaluate a reward model: metrics.json, progress plots, reliability diagram, mp4"


def run(cfg: DictConfig) -> int:
    import numpy as np
    import torch

    from robo.eval.report_reward import write_reward_report
    from robo.reward.checkpoint import read_meta
    from robo.reward.data import load_episodes
    from robo.reward.ensemble import load_ensemble, split_ckpts
    from robo.reward.evaluate import episode_id, goal_demos, pick_demos, score_for_metrics
    from robo.reward.metrics import (
        COVERAGE_LEVELS,
        coverage_curve,
        metrics_report,
        reliability,
    )

    q = cfg.get("process_std")
    if q is not None and (isinstance(q, bool) or not isinstance(q, int | float) or q < 0):
        raise ValueError(
            f"process_std={q!r} must be a number >= 0 (hint: process_std=0.1; null = the checkpoint's)"
        )
    torch.set_num_threads(int(cfg.threads))
    members = split_ckpts(cfg.ckpt)  # several checkpoints = an ensemble (robo.reward.ensemble)
    models = load_ensemble(members)
    model = models[0]
    if q is not None:
        for m in models:
            m.config.extra["process_std"] = float(q)
    meta = read_meta(members[0])
    sources = meta.get("train_data", []) if cfg.data == "default" else str(cfg.data).split(",")
    if not sources:
        raise ValueError("data=default but the checkpoint names no training data; pass data=")
    episodes = load_episodes(
        sources, cfg.data_root, max_per_dataset=cfg.max_episodes,
        image_size=model.config.image_size,
    )  # fmt: skip
    if cfg.split not in ("held_out", "all"):
        raise ValueError(f"split={cfg.split!r} must be held_out or all")
    rest: list = []  # episodes not scored (split=held_out: the training ones)
    if cfg.split == "held_out" and meta.get("held_out"):
        held = {tuple(k) for k in meta["held_out"]}
        picked = [e for e in episodes if episode_id(e) in held]
        if picked:
            rest = [e for e in episodes if episode_id(e) not in held]
            episodes = picked
    # Goal frames: another root's demos, else training demos (as a user scoring a new episode
    # would have), else other experts among the scored episodes.
    if cfg.get("goal_root"):
        demos = goal_demos(sorted({e.task for e in episodes}), str(cfg.goal_root))
    else:
        demos = pick_demos(rest, per_task=1) if rest else None
    views = list(cfg.views) if cfg.views else None
    persp = list(cfg.perspectives)
    scored, traces = score_for_metrics(models, episodes, demos, bool(cfg.use_goal), views, persp)
    report = metrics_report(scored)
    report["ckpt"], report["sources"] = str(cfg.ckpt), sources
    report["ensemble"] = members
    report["options"] = OmegaConf.to_container(cfg, resolve=True)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(report, indent=2))
    with_gt = [s for s in scored if s.progress_gt is not None]
    rel = ece = cov = None
    if with_gt:
        phi = np.concatenate([s.phi for s in with_gt])
        gt = np.concatenate([s.progress_gt for s in with_gt])
        rel, ece = reliability(phi, gt), report["overall"]["ece"]
        std = np.concatenate([s.std for s in with_gt])
        cov = (COVERAGE_LEVELS, coverage_curve(phi - gt, std), report["overall"]["unc_ece"])
    write_reward_report(
        out / "report", episodes, traces, rel, ece, int(cfg.figures), int(cfg.videos),
        coverage=cov,
    )  # fmt: skip
    o, b = report["overall"], report["baseline_time"]["overall"]
    g = report.get("baseline_gt", {}).get("overall", {})

    def fmt(v):
        return "n/a" if v is None else f"{v:.3f}"

    print(f"eval-reward: {len(episodes)} episodes -> {out / 'metrics.json'}")
    keys = ("voc_s", "voc_rev", "voc_p", "tau_a", "auroc", "ece", "regress_recall", "voc_fail")
    for k in (*keys, "tau_a_time", "regress_recall_all", "unc_ece", "ece_label"):
        print(
            f"  {k:15s} model {fmt(o[k]):>7s}   time-baseline {fmt(b[k]):>7s}"
            f"   progress_gt {fmt(g.get(k)):>7s}"
        )
    return 0
