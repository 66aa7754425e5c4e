"""`robo distill-critic`: a chunk critic distilled from the GRM's progress on recorded episodes."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

HELP = "distill a chunk critic Q(state, chunk) from GRM progress (steers a policy: eval-policy critic=)"


def split_episodes(n: int, held_out: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, held-out) episode indices: a seeded shuffle, at least one episode in training
    and, when ``held_out`` > 0 and n > 1, at least one held out."""
    import numpy as np

    if not 0 <= held_out < 1:
        raise ValueError(f"held_out={held_out} must be in [0, 1)")
    order = np.random.default_rng(seed).permutation(n).tolist()
    k = 0 if held_out == 0 or n < 2 else min(n - 1, max(1, round(held_out * n)))
    return sorted(order[k:]), sorted(order[:k])


def with_goal_in_state(episodes: list) -> list:
    """``episodes`` with each step's state extended by the task's privileged goal [m] (3) at
    ``reset(seed=episode.seed)`` (shift from ``episode.meta``), the entries the
    ``goal_in_state`` wrapper appends in ``robo eval-policy``: a critic distilled on them reads
    proprio + goal, as a ``goal_in_state=true`` policy does. Datasets store no goal; a reset
    with the episode's seed rebuilds the same layout."""
    import dataclasses

    import numpy as np

    import sims
    from sims.keypoints import sim_scene

    envs: dict[tuple[str, str | None], object] = {}
    out = []
    for ep in episodes:
        shift = ep.meta.get("shift")
        key = (ep.task, None if shift in (None, "none", "") else str(shift))
        if key not in envs:
            envs[key] = sims.make(ep.task, shift=key[1], render=False)
        env = envs[key]
        env.reset(seed=int(ep.seed))
        goal = np.asarray(sim_scene(env)["goal"], np.float32)
        state = np.concatenate([ep.state, np.tile(goal, (len(ep), 1))], axis=1)
        out.append(dataclasses.replace(ep, state=state.astype(np.float32)))
    for env in envs.values():
        env.close()
    return out


def run(cfg: DictConfig) -> int:
    import numpy as np
    import torch
    from scipy import stats

    from robo.reward.data import load_episodes
    from robo.steer.critic import critic_windows, distill_critic, progress_from_gt

    torch.set_num_threads(int(cfg.threads))
    sources = [s for s in str(cfg.data).split(",") if s]
    use_gt = str(cfg.progress) == "gt"
    if use_gt:
        progress_fn, image_size, cameras = progress_from_gt, 96, []
    else:
        from robo.reward.checkpoint import load_checkpoint
        from robo.reward.scoring import score_episode

        if not (Path(str(cfg.progress)) / "config.json").exists():
            raise FileNotFoundError(
                f"no reward model at {cfg.progress} (hint: progress=<GRM folder from "
                "`robo train-reward`/`robo adapt-reward`>, or progress=gt)"
            )
        grm = load_checkpoint(cfg.progress)
        image_size, cameras = grm.config.image_size, None

        def progress_fn(ep):
            with torch.no_grad():
                return score_episode(grm, ep).phi

    episodes = load_episodes(
        sources, cfg.data_root, cameras=cameras, max_per_dataset=cfg.max_episodes,
        image_size=image_size,
    )  # fmt: skip
    episodes = [e for e in episodes if len(e) > 0]
    if not episodes:
        raise ValueError(
            f"no episodes in {sources} (hint: `robo collect task=<task>` records some)"
        )
    dims = {(e.state.shape[1], e.action.shape[1]) for e in episodes}
    if len(dims) > 1:
        raise ValueError(
            f"episodes mix state/action sizes {sorted(dims)} (hint: one task family per critic)"
        )
    if cfg.get("goal_in_state"):
        episodes = with_goal_in_state(episodes)
    train_idx, test_idx = split_episodes(len(episodes), float(cfg.held_out), int(cfg.seed))
    # score every episode once (the GRM pass is the expensive part)
    phis = {id(e): np.asarray(progress_fn(e), np.float32) for e in episodes}

    def cached(ep):
        return phis[id(ep)]

    horizon = int(cfg.horizon)
    critic = distill_critic(
        [episodes[i] for i in train_idx], cached, horizon=horizon, steps=int(cfg.steps),
        batch_size=int(cfg.batch_size), lr=float(cfg.lr), seed=int(cfg.seed),
        hidden=int(cfg.hidden), log=print,
    )  # fmt: skip

    def fit(idx: list[int]) -> dict[str, float | int | None]:
        if not idx:
            return {"windows": 0}
        s, a, y = critic_windows([episodes[i] for i in idx], cached, horizon)
        with torch.no_grad():
            q = critic(torch.from_numpy(s).float(), torch.from_numpy(a).float()).numpy()
        flat = np.ptp(y) == 0 or np.ptp(q) == 0
        return {
            "windows": int(len(y)),
            "mse": float(np.mean((q - y) ** 2)),
            "mse_predict_mean": float(np.mean((y - y.mean()) ** 2)),
            "spearman": None if flat else float(stats.spearmanr(q, y).statistic),
            "pearson": None if flat else float(stats.pearsonr(q, y).statistic),
        }

    task = episodes[0].task
    out = Path(cfg.out) if cfg.out else Path("outputs") / "critics" / task.replace("/", "-")
    critic.save(out)
    metrics = {
        "progress": "gt" if use_gt else str(cfg.progress), "sources": sources,
        "tasks": sorted({e.task for e in episodes}),
        "kinds": {k: sum(e.kind == k for e in episodes) for k in sorted({e.kind for e in episodes})},
        "episodes": {"train": len(train_idx), "held_out": len(test_idx)},
        "train": fit(train_idx), "held_out": fit(test_idx),
        "options": OmegaConf.to_container(cfg, resolve=True),
    }  # fmt: skip
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    h = metrics["held_out"]
    tail = (
        f"held-out mse {h['mse']:.4f} (predict-mean {h['mse_predict_mean']:.4f}), "
        f"spearman {h['spearman']}"
        if h.get("windows")
        else "no held-out episodes"
    )
    print(f"distill-critic: {len(train_idx)} training episodes, {tail} -> {out}")
    return 0
