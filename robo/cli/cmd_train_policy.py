"""`robo train-policy`: behaviour-clone a diffusion chunk policy on demonstrations.

``data=<dataset>`` reads a LeRobotDataset written by ``robo collect``; with ``data=null`` the
command rolls out ``episodes`` expert demos in memory (no rendering when the policy is
state-only, which is what makes CPU-only runs of minutes possible). Writes a checkpoint folder
``<out>/`` (model.safetensors + config.json with the task and training stats in ``meta``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

HELP = (
    "train a diffusion chunk policy by BC (policy=diffusion task=<name> data=<dataset> out=<dir>)"
)


def rollout_demos(
    task: str, episodes: int, seed: int, cameras: tuple[str, ...], goal: bool, **overrides: Any
):
    """``episodes`` expert episodes of ``task`` collected in memory (list of Episode)."""
    import sims
    from robo.cli.cmd_eval_policy import goal_in_state
    from robo.data.collect import run_seed

    env = sims.make(task, render=bool(cameras), cameras=cameras or ("front",), **overrides)
    if goal:
        env = goal_in_state(env)
    demos = [run_seed(env, "expert", seed + i, {}) for i in range(episodes)]
    env.close()
    return demos


def run(cfg: DictConfig) -> int:
    import torch

    from robo.policy import DiffusionConfig, save_policy
    from robo.policy.train import TrainConfig, train_diffusion

    torch.set_num_threads(int(cfg.threads))
    if cfg.policy.name != "diffusion":
        raise ValueError(f"unknown policy {cfg.policy.name!r}; available: diffusion")
    if not cfg.task:
        raise ValueError("task=<family/task> is required (`robo tasks` lists them)")
    task = str(cfg.task)
    arch = OmegaConf.to_container(cfg.policy.model, resolve=True)
    cameras = tuple(arch.pop("cameras"))
    goal = bool(cfg.goal_in_state)
    if cfg.data:
        from robo.data import read_episodes

        if goal:
            raise ValueError(
                "goal_in_state needs in-memory demos (data=null): datasets store no goal"
            )
        episodes = read_episodes(cfg.data, cameras=cameras or None, images=bool(cameras))
    else:
        overrides = (
            {"max_episode_steps": int(cfg.max_episode_steps)} if cfg.max_episode_steps else {}
        )
        episodes = rollout_demos(task, int(cfg.episodes), int(cfg.seed), cameras, goal, **overrides)
    ok = [ep for ep in episodes if ep.success.any()]
    print(f"{len(episodes)} demos ({len(ok)} successful); training on the successful ones")
    if not ok:
        raise ValueError("no successful demonstrations to clone (hint: check the task's expert)")
    ep0 = ok[0]
    config = DiffusionConfig(
        action_dim=int(ep0.action.shape[1]),
        state_dim=int(ep0.state.shape[1]),
        cameras=cameras,
        **arch,
    )
    train = TrainConfig(**OmegaConf.to_container(cfg.policy.train, resolve=True))
    policy, stats = train_diffusion(ok, config, train)
    out = Path(cfg.out) if cfg.out else Path("outputs") / "policies" / task.replace("/", "-")
    meta = {"task": task, "goal_in_state": goal, "data": cfg.data, "demos": len(ok), "train": stats}
    save_policy(policy, out, meta=meta)
    print(f"saved {out} ({json.dumps({k: round(v, 4) for k, v in stats.items()})})")
    return 0
