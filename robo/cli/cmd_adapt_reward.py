"""`robo adapt-reward`: adapt a reward model to a new task from one demonstration."""

from __future__ import annotations

import json
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

HELP = "one-shot adapt a reward model to a new task (base=<ckpt> demo=<dataset> out=<dir>)"


def pick_demo(episodes: list, task: str | None, index: int):
    """The ``index``-th successful expert episode (of ``task`` if given)."""
    from robo.reward.labels import first_success

    cands = [
        e for e in episodes
        if e.kind == "expert" and first_success(e) is not None and (task is None or e.task == task)
    ]  # fmt: skip
    if not cands:
        raise ValueError(
            f"no successful expert episode{f' of {task}' if task else ''} in the demo source "
            "(hint: record one with `robo collect task=<task> kind=expert episodes=1`)"
        )
    if not 0 <= index < len(cands):
        raise ValueError(f"episode={index} out of range: the source has {len(cands)} demos")
    return cands[index]


def run(cfg: DictConfig) -> int:
    import torch

    from robo.reward.adapt import AdaptConfig, adapt_one_shot
    from robo.reward.checkpoint import load_checkpoint, read_meta, save_checkpoint
    from robo.reward.data import load_episodes
    from robo.reward.evaluate import episode_id, score_for_metrics
    from robo.reward.metrics import compute_metrics

    torch.set_num_threads(int(cfg.threads))
    model = load_checkpoint(cfg.base)
    meta = read_meta(cfg.base)
    size = model.config.image_size
    demo_eps = load_episodes(str(cfg.demo), cfg.data_root, image_size=size)
    picks = cfg.episode if OmegaConf.is_list(cfg.episode) else [cfg.episode]
    shots = [pick_demo(demo_eps, cfg.task, int(i)) for i in picks]  # few-shot: episode=[0,1]
    if len({id(d) for d in shots}) < len(shots):
        raise ValueError(f"episode={list(picks)} names a demo twice (hint: distinct indices)")
    demo = shots[0]
    replay: list = []
    if cfg.replay not in (None, "none", "None", ""):
        sources = (
            meta.get("train_data", []) if cfg.replay == "from_base" else str(cfg.replay).split(",")
        )
        root = meta.get("data_root", cfg.data_root) if cfg.replay == "from_base" else cfg.data_root
        replay = load_episodes(
            sources, root, max_per_dataset=int(cfg.replay_per_dataset), image_size=size
        )
        replay = [e for e in replay if e.task != demo.task]
    eval_eps = []
    if cfg.eval_data:
        eval_eps = load_episodes(str(cfg.eval_data), cfg.data_root, image_size=size)
        shot_ids = {episode_id(d) for d in shots}
        eval_eps = [e for e in eval_eps if e.task == demo.task and episode_id(e) not in shot_ids]
    demos = {demo.task: shots}
    result: dict = {
        "task": demo.task,
        "demo_seed": int(demo.seed),
        "demo_seeds": [int(d.seed) for d in shots],
        "replay_episodes": len(replay),
    }
    if eval_eps:
        result["zero_shot"] = compute_metrics(score_for_metrics(model, eval_eps, demos)[0])
    out = Path(cfg.out or f"outputs/reward/adapted-{demo.task.replace('/', '-')}")
    acfg = AdaptConfig(**OmegaConf.to_container(cfg.adapt, resolve=True))
    t0 = time.monotonic()
    hist = adapt_one_shot(model, shots, replay, acfg, str(out / "tb"), bool(cfg.progress))
    result["adapt_seconds"] = round(time.monotonic() - t0, 1)
    result["steps"] = hist["steps"]
    if eval_eps:
        result["adapted"] = compute_metrics(score_for_metrics(model, eval_eps, demos)[0])
    new_meta = dict(meta, adapted_from=str(cfg.base), adapted_task=demo.task, adapt=result)
    save_checkpoint(model, out, new_meta)
    (out / "adapt.json").write_text(json.dumps(result, indent=2))
    print(
        f"adapt-reward: {demo.task}, {hist['steps']} steps in {result['adapt_seconds']}s -> {out}"
    )
    for key in ("zero_shot", "adapted"):
        if key in result:
            r = result[key]
            print(f"  {key:9s} voc_s={r['voc_s']} auroc={r['auroc']} voc_fail={r['voc_fail']}")
    return 0
