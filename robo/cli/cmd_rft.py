"""`robo rft`: fine-tuning of a token policy: chunk-level GRPO (offline on demos, online, at
visited states) or DAgger rounds (``mode=dagger``).

Wires the sims to :mod:`robo.rft`: the env each task runs in (the policy's state mode and
cameras, plus the GRM's views online), expert demos as (observation, demo chunk) samples for
QACR/CTAR/FCR, and a GRM checkpoint as the progress reward. Writes ``<out>/metrics.json``
(success per task before/after every stage, forgetting/transfer for continual runs, reward
curves), ``<out>/rft.png`` and the fine-tuned checkpoint ``<out>/policy`` (same format,
``load_policy`` reads it).
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

HELP = (
    "fine-tune a token policy with chunk-level GRPO or DAgger (policy=<ckpt> tasks=[..] "
    "mode=offline|online|visited|dagger rewards.<name>=<w> steps= dagger.rounds= out=)"
)


def task_env(task: str, state: str, cams: tuple[str, ...] = (), **overrides: Any) -> Any:
    """``task`` rendering ``cams`` with ``obs["state"]`` in mode ``state`` (see
    :func:`robo.cli.vla_envs.vla_env`)."""
    from robo.cli.vla_envs import vla_env

    return vla_env(task, state, cams, **overrides)


def demo_samples(env: Any, task: str, episodes: int, seed: int, horizon: int) -> list[Any]:
    """(observation, demo chunk float32[H, A]) at every step of ``episodes`` successful expert
    demos (chunks running past the end repeat the last action)."""
    from robo.data.collect import run_seed

    eps = [run_seed(env, "expert", seed + i, {}) for i in range(episodes)]
    return samples_from_episodes(eps, horizon)


def samples_from_episodes(episodes: list[Any], horizon: int) -> list[Any]:
    """:class:`robo.rft.trainer.DemoSample` at every step of the successful ``episodes``."""
    import torch

    from robo.policy.windows import chunk_index
    from robo.rft.trainer import DemoSample

    out = []
    for ep in episodes:
        if not ep.success.any():
            continue
        task = ep.task
        t_len = len(ep)
        chunks = torch.from_numpy(ep.action[chunk_index(t_len, horizon)].astype(np.float32))
        for t in range(t_len):
            obs = {
                "images": {c: v[t] for c, v in ep.images.items()},
                "state": ep.state[t].astype(np.float32),
                "instruction": ep.instruction,
                "timestamp": np.asarray(ep.timestamp[t], dtype=np.float64),
            }
            out.append(DemoSample(obs, chunks[t], task))
    return out


MODES = ("offline", "online", "visited", "dagger")


def reward_weights(cfg: DictConfig) -> Any:
    """The GRPO modes' :class:`robo.rft.RewardWeights`, checked against ``cfg.mode``.

    Raises:
        ValueError: no reward on, or rewards the mode cannot score (with a hint).
    """
    from robo.rft import RewardWeights

    weights = RewardWeights(**OmegaConf.to_container(cfg.rewards, resolve=True))
    if not weights.active():
        raise ValueError("every reward weight is 0 (hint: rewards.ctar=1)")
    online_only = [k for k in ("grm", "success") if getattr(weights, k) > 0]
    expert = [k for k in ("expert_qacr", "expert_ctar") if getattr(weights, k) > 0]
    if (cfg.mode == "visited") != bool(expert) or (cfg.mode == "visited" and online_only):
        raise ValueError(
            "mode=visited scores rewards.expert_qacr/expert_ctar (+ fcr) only, and those need "
            "mode=visited (hint: mode=visited rewards.ctar=0 rewards.expert_ctar=1)"
        )
    if cfg.mode == "offline" and online_only:
        raise ValueError(
            f"rewards {online_only} need rollouts but mode=offline scores demo chunks (hint: "
            f"mode=online, or rewards.{online_only[0]}=0 rewards.ctar=1)"
        )
    return weights


def run(cfg: DictConfig) -> int:
    import torch

    from robo.cli.vla_envs import load_token_policy, policy_env, policy_tasks
    from robo.rft.loop import TaskHooks
    from robo.rft.online import GRMProgress
    from robo.rft.plots import plot_run

    torch.set_num_threads(int(cfg.threads))
    torch.manual_seed(int(cfg.seed))
    if not cfg.policy:
        raise ValueError("policy=<checkpoint folder> is required (a token policy, e.g. the VLA)")
    if cfg.mode not in MODES:
        raise ValueError(f"mode={cfg.mode!r} is not a mode (hint: mode={'|'.join(MODES)})")
    dagger = cfg.mode == "dagger"
    if dagger and (cfg.continual or cfg.get("stages")):
        raise ValueError(
            "mode=dagger runs one stage over all tasks (hint: drop continual/stages, or run "
            "bench/bench_rft.py --mode dagger --train-tasks ... for new tasks with replay)"
        )
    weights = None if dagger else reward_weights(cfg)  # DAgger clones labels: no rewards
    grm_model = None
    if weights is not None and weights.grm > 0:
        if not cfg.grm:
            raise ValueError(
                "rewards.grm > 0 needs a GRM checkpoint (hint: grm=<dir from `robo train-reward`>"
                " or rewards.grm=0)"
            )
        from robo.reward.ensemble import load_ensemble

        # Several checkpoints (grm=[a,b]) = an ensemble: the mean of the members' progress.
        grm_model = load_ensemble(cfg.grm, device=str(cfg.device))
    policy = load_token_policy(str(cfg.policy), str(cfg.device), "RFT")
    tasks = policy_tasks(cfg.tasks, policy)
    overrides = {"max_episode_steps": int(cfg.max_episode_steps)} if cfg.max_episode_steps else {}
    views = tuple(grm_model[0].config.views) if grm_model is not None else ()

    def make_env(task: str) -> Any:
        return policy_env(task, policy, views, **overrides)

    def demos(task: str) -> list[Any]:
        env = policy_env(task, policy)  # full-length episodes: demos must reach success
        try:
            return demo_samples(env, task, int(cfg.demos), int(cfg.seed), policy.horizon)
        finally:
            env.close()

    labelers: dict[str, Any] = {}

    def labeler(task: str) -> Any:  # the scripted expert's chunk, from a private sim copy
        from sims.experts.lookahead import ExpertLookahead

        if task not in labelers:
            labelers[task] = ExpertLookahead(lambda: policy_env(task, policy), policy.horizon)
        return labelers[task]

    hooks = TaskHooks(
        make_env=make_env,
        demos=demos,
        progress=lambda task: GRMProgress(grm_model) if grm_model is not None else None,
        labeler=labeler,
    )
    out = Path(cfg.out) if cfg.out else Path("outputs") / "rft" / Path(str(cfg.policy)).name
    out.mkdir(parents=True, exist_ok=True)
    run_mode = dagger_run if dagger else partial(grpo_run, weights=weights)
    metrics, settings = run_mode(policy, tasks, hooks, cfg)
    for lab in labelers.values():
        lab.close()
    metrics["config"] = {"policy": str(cfg.policy), **settings}
    policy.meta = {**(getattr(policy, "meta", {}) or {}), "rft": {
        "from": str(cfg.policy), "mode": str(cfg.mode), "tasks": tasks,
        "success_before": metrics["success"]["before"],
        "success_after": metrics["success"][f"after_{len(metrics['stages']) - 1}"],
    }}  # fmt: skip
    policy.save(out / "policy")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    plot_run(metrics, out / "rft.png")
    before, after = metrics["success_before_mean"], metrics["success_after_mean"]
    print(f"success {before:.2f} -> {after:.2f}; wrote {out}/metrics.json, rft.png, policy/")
    return 0


def grpo_run(
    policy: Any, tasks: list[str], hooks: Any, cfg: DictConfig, weights: Any
) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """Chunk-level GRPO (:func:`robo.rft.loop.run_rft`): (metrics, the settings used)."""
    from robo.rft import GRPOTrainer, RFTConfig
    from robo.rft.loop import RunConfig, run_rft

    run_cfg = RunConfig(
        mode=str(cfg.mode),
        steps=int(cfg.steps),
        continual=bool(cfg.continual),
        replay=float(cfg.replay),
        eval_seeds=tuple(range(1000, 1000 + int(cfg.eval_episodes))),
        online_seeds_per_step=int(cfg.online.seeds_per_step),
        online_group=int(cfg.online.group),
        max_chunks=int(cfg.online.max_chunks) if cfg.online.max_chunks else None,
        stages=OmegaConf.to_container(cfg.stages) if cfg.get("stages") else None,
        seed=int(cfg.seed),
        lockstep_envs=int(cfg.get("lockstep_envs", 1)),
        eval_temperature=(
            float(cfg.eval_temperature) if cfg.get("eval_temperature") is not None else None
        ),
        label_prob=float(cfg.get("visited", {}).get("label_prob", 0.25)),
    )
    rft_cfg = RFTConfig(**OmegaConf.to_container(cfg.rft, resolve=True))
    metrics = run_rft(GRPOTrainer(policy, rft_cfg, weights), tasks, hooks, run_cfg)
    return metrics, {
        "rewards": weights.active(), "rft": rft_cfg.to_dict(),
        "run": {k: v for k, v in vars(run_cfg).items() if k != "eval_seeds"},
    }  # fmt: skip


def dagger_run(
    policy: Any, tasks: list[str], hooks: Any, cfg: DictConfig
) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """DAgger rounds (:func:`robo.rft.dagger.run_dagger`) on every task, demos of every task
    mixed in, success before and after on the evaluation seeds: (metrics in ``run_rft``'s
    format, one stage, ``curves`` = one entry per round, plus ``dagger`` = per-round stats;
    the settings used)."""
    import time

    from robo.rft.dagger import DaggerRounds, run_dagger
    from robo.rft.loop import close_envs, evaluate_all
    from robo.rft.visited import DaggerConfig

    d = dict(OmegaConf.to_container(cfg.dagger, resolve=True))
    tune = {k: d.pop(k) for k in list(d) if k in DaggerConfig.__dataclass_fields__}
    unknown = sorted(set(d) - (set(DaggerRounds.__dataclass_fields__) - {"lockstep", "finetune"}))
    if unknown:
        raise ValueError(f"dagger.{unknown[0]} is not an option (hint: see configs/rft.yaml)")
    lockstep = int(cfg.get("lockstep_envs", 1))
    conf = DaggerRounds(**d, lockstep=lockstep, finetune=DaggerConfig(**tune))
    seeds = tuple(range(1000, 1000 + int(cfg.eval_episodes)))
    temp = float(cfg.eval_temperature) if cfg.get("eval_temperature") is not None else None
    t0, envs, episodes = time.time(), {}, {"before": {}, "after_0": {}}
    before = evaluate_all(policy, tasks, hooks, seeds, envs, lockstep, temp, episodes["before"])
    print(f"success before: {before}")
    demos = [s for t in tasks for s in hooks.demos(t)]
    rounds = run_dagger(policy, tasks, hooks, demos, conf, int(cfg.seed), envs)
    after = evaluate_all(policy, tasks, hooks, seeds, envs, lockstep, temp, episodes["after_0"])
    close_envs(envs)
    keep = ("nll_first", "nll_last", "labelled_samples", "demo_samples", "seconds")
    return {
        "tasks": list(tasks), "stages": [list(tasks)], "mode": "dagger",
        "success": {"before": before, "after_0": after},
        "success_before_mean": float(np.mean(list(before.values()))),
        "success_after_mean": float(np.mean(list(after.values()))),
        "transfer": None, "success_episodes": episodes,
        "curves": [{"stage": 0, "step": k, **{x: r[x] for x in keep}} for k, r in enumerate(rounds)],
        "dagger": rounds, "seconds": time.time() - t0, "eval_seeds": list(seeds),
    }, {"dagger": conf.to_dict()}  # fmt: skip
