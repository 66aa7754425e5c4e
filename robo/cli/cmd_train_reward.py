"""`robo train-reward`: train the multi-view progress reward model on recorded datasets."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

HELP = "train the multi-view progress reward model (data=<datasets> out=<dir>)"


def episode_key(ep) -> list:
    """Identifies an episode across runs: [task, kind, seed] (JSON form of ``episode_id``)."""
    from robo.reward.evaluate import episode_id

    return list(episode_id(ep))


def _has_seeds(dataset: Path, seed: int, n: int) -> bool:
    """Whether ``dataset`` already holds episodes of seeds ``seed .. seed + n - 1``."""
    if not (dataset / "meta" / "info.json").exists():
        return False
    from robo.data import EpisodeReader

    done = {int(e["seed"]) for e in EpisodeReader(dataset).entries if e.get("seed") is not None}
    return all(s in done for s in range(seed, seed + n))


def collect_missing(tasks: list[str], root: str, cfg: DictConfig) -> None:
    """Record the ``collect.episodes.<kind>`` episodes of every task that its datasets still lack.

    ``collect.params.<kind>`` (optional) are that kind's expert parameters
    (:data:`sims.experts.kinds.PARAMS`), e.g. ``rewind: {trigger_progress: [0.3, 0.85]}``.

    ``collect`` resumes a dataset (seeds already committed are skipped), so an interrupted run
    picks up where it stopped; a complete dataset is skipped without building its env.
    """
    from robo.data.collect import collect

    for task in tasks:
        if "/" not in task or task.startswith("synthetic"):
            continue
        for kind, n in cfg.collect.episodes.items():
            out = Path(root) / f"{task.replace('/', '-')}-{kind}"
            seed = {"expert": 0, "failure": 100, "rewind": 200}.get(kind, 300)
            if int(n) <= 0 or _has_seeds(out, seed, int(n)):
                continue
            over = (
                {"max_episode_steps": int(cfg.collect.failure_steps)} if kind == "failure" else {}
            )
            params = cfg.collect.get("params", {}).get(kind) or {}
            res = collect(
                task,
                int(n),
                out,
                kind=kind,
                seed=seed,
                workers=int(cfg.collect.workers),
                overrides=over,
                params=OmegaConf.to_container(params, resolve=True) if params else None,
            )
            if res.recorded:
                print(
                    f"collect {task} {kind}: {res.recorded} episodes in {res.seconds:.0f}s",
                    flush=True,
                )


def _initial_model(cfg: DictConfig, model_cfg, held_out: list[list]):
    """A fresh model, or (``init=<ckpt>``) that checkpoint's weights to continue training.

    Continuing is refused when the checkpoint's held-out episodes differ from this run's split:
    the new run would train on episodes the old one was scored on.
    """
    from robo.reward.checkpoint import load_checkpoint, read_meta
    from robo.reward.model import ProgressRewardModel

    init = cfg.get("init")
    if not init:
        return ProgressRewardModel(model_cfg)
    model = load_checkpoint(init)
    if model.config.to_dict() | {"extra": {}} != model_cfg.to_dict() | {"extra": {}}:
        raise ValueError(f"init={init} has another model config (hint: pass reward=<its group>)")
    old = sorted(map(tuple, read_meta(init).get("held_out", [])))
    if old and old != sorted(map(tuple, held_out)):
        raise ValueError(
            f"init={init} was validated on other held-out episodes than this split "
            "(hint: use its data, val_frac and train.seed)"
        )
    model.config.extra.pop("std_scale", None)  # refitted after training
    return model


def run(cfg: DictConfig) -> int:
    import torch

    from robo.reward.checkpoint import save_checkpoint
    from robo.reward.data import DEFAULT_TRAIN_TASKS, load_episodes, split_episodes
    from robo.reward.evaluate import pick_demos
    from robo.reward.model import RewardModelConfig
    from robo.reward.pairs import EpisodeStore
    from robo.reward.train import TrainConfig, train

    torch.set_num_threads(int(cfg.threads))
    sources = list(DEFAULT_TRAIN_TASKS) if cfg.data == "default" else str(cfg.data).split(",")
    model_cfg = RewardModelConfig.from_dict(OmegaConf.to_container(cfg.reward, resolve=True))
    train_cfg = TrainConfig(**OmegaConf.to_container(cfg.train, resolve=True), device=cfg.device)
    if cfg.labels not in ("segments", "time"):
        raise ValueError(f"labels={cfg.labels!r} must be segments or time")
    if cfg.collect.enabled:
        collect_missing(sources, str(cfg.data_root), cfg)
    episodes = load_episodes(
        sources, cfg.data_root, max_per_dataset=cfg.max_episodes, image_size=model_cfg.image_size
    )
    missing = [c for c in model_cfg.views if any(c not in ep.images for ep in episodes)]
    if missing:
        raise ValueError(f"some episodes lack camera {missing[0]!r} (hint: reward.views=[...])")
    train_eps, val_eps = split_episodes(episodes, float(cfg.val_frac), seed=train_cfg.seed)
    print(
        f"train-reward: {len(train_eps)} train / {len(val_eps)} held-out episodes "
        f"from {len(sources)} sources, {len({e.task for e in episodes})} tasks"
    )
    store = EpisodeStore(
        train_eps, model_cfg.views, model_cfg.image_size, cfg.labels, int(cfg.max_frames),
        model_cfg.text_backend,
    )  # fmt: skip
    # Goal frames for the held-out evaluation: one training demo per task (never the held-out
    # episode's own last frame).
    goal_demos = pick_demos(train_eps, per_task=1)
    del episodes, train_eps  # frames now live (subsampled) in the store
    model = _initial_model(cfg, model_cfg, [episode_key(e) for e in val_eps])
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    hist = train(
        model, store, train_cfg, val_eps[:64], out / "tb", bool(cfg.progress),
        val_demos=goal_demos,
    )  # fmt: skip
    meta = {
        "train_data": sources,
        "data_root": str(cfg.data_root),
        "labels": cfg.labels,
        "tasks": sorted(set(store.tasks)),
        "held_out": [episode_key(e) for e in val_eps],
        "init": cfg.get("init"),
        "steps": hist["steps"],
        "seconds": round(hist["seconds"], 1),
        "final_val": hist["val"][-1] if hist["val"] else None,
        "parameters": model.num_parameters(),
    }
    save_checkpoint(model, out, meta)
    (out / "history.json").write_text(json.dumps(hist, indent=1, default=str))
    val = meta["final_val"] or {}
    print(
        f"train-reward: {hist['steps']} steps in {hist['seconds']:.0f}s; held-out voc_s="
        f"{val.get('voc_s')} auroc={val.get('auroc')}; checkpoint -> {out}"
    )
    return 0
