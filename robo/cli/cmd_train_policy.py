"""`robo train-policy`: behaviour-clone a chunk policy (diffusion, or the multi-task VLA).

``data=<dataset>`` reads a LeRobotDataset written by ``robo collect``; with ``data=null`` the
command rolls out ``episodes`` expert demos in memory (no rendering when the policy is
state-only, which is what makes CPU-only runs of minutes possible). Writes a checkpoint folder
``<out>/`` (model.safetensors + config.json with the task and training stats in ``meta``).

``policy=vla tasks=[a,b,...]`` trains one instruction-conditioned token policy on every task
(``episodes`` demos each, paraphrased instructions); ``policy.state`` picks what a state-only
VLA sees (:func:`vla_env`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

HELP = (
    "train a chunk policy by BC (policy=diffusion task=<name> | policy=vla tasks=[a,b] "
    "data=<dataset> out=<dir>)"
)


def run_vla(cfg: DictConfig) -> int:
    """The ``policy=vla`` branch: multi-task demos -> :func:`robo.policy.vla.train.train_vla`."""
    from robo.cli.vla_envs import STATE_MODES, vla_demos
    from robo.policy import save_policy
    from robo.policy.vla import VLAConfig
    from robo.policy.vla.train import VLATrainConfig, train_vla

    tasks = [str(t) for t in (cfg.tasks or ([cfg.task] if cfg.task else []))]
    if not tasks:
        raise ValueError("tasks=[a,b,...] (or task=<name>) is required (`robo tasks` lists them)")
    arch = OmegaConf.to_container(cfg.policy.model, resolve=True)
    VLAConfig.from_dict({**arch, "action_dim": 1, "state_dim": 1})  # bad keys fail before demos
    train = VLATrainConfig(**OmegaConf.to_container(cfg.policy.train, resolve=True))
    cameras = tuple(arch.pop("cameras"))
    state = str(cfg.policy.get("state", "proprio"))
    if state not in STATE_MODES:
        raise ValueError(f"policy.state={state!r}; use one of {', '.join(STATE_MODES)}")
    if cfg.data:
        from robo.data import read_episodes

        if state != "proprio":
            raise ValueError(
                f"policy.state={state} needs in-memory demos (data=null): datasets store "
                "proprioception only (hint: policy.state=proprio with cameras)"
            )
        roots = list(cfg.data) if OmegaConf.is_list(cfg.data) else [cfg.data]
        episodes = [
            ep
            for r in roots
            for ep in read_episodes(r, cameras=cameras or None, images=bool(cameras))
        ]
    else:
        overrides = (
            {"max_episode_steps": int(cfg.max_episode_steps)} if cfg.max_episode_steps else {}
        )
        episodes = vla_demos(tasks, int(cfg.episodes), int(cfg.seed), state, cameras, **overrides)
    ok = [ep for ep in episodes if ep.success.any()]
    print(f"{len(episodes)} demos ({len(ok)} successful); training on the successful ones")
    if not ok:
        raise ValueError("no successful demonstrations to clone (hint: check the tasks' experts)")
    dims = {(int(ep.action.shape[1]), int(ep.state.shape[1])) for ep in ok}
    if len(dims) > 1:
        raise ValueError(
            f"tasks disagree on (action_dim, state_dim): {sorted(dims)} "
            "(hint: train one VLA per task family)"
        )
    ((action_dim, state_dim),) = dims
    config = VLAConfig(action_dim=action_dim, state_dim=state_dim, cameras=cameras, **arch)
    policy, stats = train_vla(ok, config, train, device=str(cfg.device))
    name = "vla-" + "-".join(t.split("/")[-1] for t in tasks) if len(tasks) < 4 else "vla"
    out = Path(cfg.out) if cfg.out else Path("outputs") / "policies" / name
    meta = {
        "task": tasks[0], "tasks": tasks, "state": state, "goal_in_state": state == "goal",
        "data": OmegaConf.to_container(cfg.data) if OmegaConf.is_list(cfg.data) else cfg.data,
        "demos": len(ok), "train": stats,
    }  # fmt: skip
    save_policy(policy.cpu(), out, meta=meta)
    scalars = {k: round(v, 4) for k, v in stats.items() if isinstance(v, float)}
    print(f"saved {out} ({json.dumps(scalars)})")
    return 0


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
    if cfg.policy.name == "vla":
        return run_vla(cfg)
    if cfg.policy.name != "diffusion":
        raise ValueError(f"unknown policy {cfg.policy.name!r}; available: diffusion, vla")
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
    policy, stats = train_diffusion(ok, config, train, device=str(cfg.device))
    out = Path(cfg.out) if cfg.out else Path("outputs") / "policies" / task.replace("/", "-")
    meta = {"task": task, "goal_in_state": goal, "data": cfg.data, "demos": len(ok), "train": stats}
    save_policy(policy, out, meta=meta)
    print(f"saved {out} ({json.dumps({k: round(v, 4) for k, v in stats.items()})})")
    return 0
