"""The RFT run: stages of GRPO updates over tasks, success measured before and after each.

A run is a list of stages (one stage with every task by default; one stage per task for
continual learning). Each stage runs ``steps`` updates of one shared :class:`GRPOTrainer`
(the KL reference stays the starting policy throughout, which anchors old skills) on rows from
the stage's tasks — offline (demo observations, QACR/CTAR/FCR) or online (rollouts, GRM gain
+ success + FCR) — plus, in continual runs, a ``replay`` share of demo observations of tasks
already learned. After every stage the success of *every* task is measured, giving the matrix
``R[stage][task]`` from which forgetting and transfer are read (:func:`transfer_metrics`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from robo.rft.evaluate import success_rate, success_rate_lockstep
from robo.rft.online import ProgressFn, online_rows
from robo.rft.trainer import DemoSample, GRPOTrainer
from robo.rft.visited import ChunkLabeler, visited_samples


@dataclass
class TaskHooks:
    """What the run needs from the world, per task name: ``make_env(task)`` (a gym env in the
    policy's observation format), ``demos(task)`` (demo samples for offline rewards and replay;
    may be empty online), ``progress(task)`` (a GRM :data:`ProgressFn` or ``None``) and, for
    mode ``visited``, ``labeler(task)`` (a :data:`~robo.rft.visited.ChunkLabeler`: the expert's
    chunk at a visited state)."""

    make_env: Callable[[str], Any]
    demos: Callable[[str], list[DemoSample]]
    progress: Callable[[str], ProgressFn | None]
    labeler: Callable[[str], ChunkLabeler] | None = None


@dataclass
class RunConfig:
    """mode: ``offline`` | ``online`` | ``visited`` (rollouts of the policy, groups sampled at
    visited states scored against the expert's chunk there, :mod:`robo.rft.visited`). steps: GRPO updates per stage. continual: one stage per
    task (else one stage for all). replay: share of each offline batch drawn from earlier
    stages' tasks (continual only). eval_seeds: seeds of the success evaluation (kept apart from
    demo seeds). online_seeds_per_step, online_group: initial states and rollouts per state
    per online update. max_chunks: cap on chunks per online rollout (None = episode length).
    stages: explicit task groups per stage (overrides ``continual``), e.g. ``[[a, b], [c], [d]]``
    fine-tunes a and b, then c, then d. eval_stages: stages after which success is measured
    (None = all; the last stage is always measured). lockstep_envs: envs per task run in
    lockstep (one batched policy call per chunk step) for evaluation and online rollouts; 1 =
    one episode at a time. eval_temperature: sampling temperature of the success evaluation
    (None = the policy's own; 0 = greedy). label_prob: mode ``visited``: probability that a
    visited chunk-start state is labelled (labels cost ``horizon`` expert steps each); each
    update then scores ``obs_per_step`` of the labelled states drawn at random."""

    mode: str = "offline"
    steps: int = 40
    continual: bool = False
    replay: float = 0.25
    eval_seeds: Sequence[int] = tuple(range(1000, 1010))
    online_seeds_per_step: int = 1
    online_group: int = 4
    max_chunks: int | None = None
    stages: list[list[str]] | None = None
    eval_stages: Sequence[int] | None = None
    seed: int = 0
    lockstep_envs: int = 1
    eval_temperature: float | None = None
    label_prob: float = 0.25

    def __post_init__(self) -> None:
        if self.lockstep_envs < 1:
            raise ValueError(f"lockstep_envs={self.lockstep_envs} must be >= 1")
        if self.mode not in ("offline", "online", "visited"):
            raise ValueError(f"mode={self.mode!r}; use offline, online or visited")
        if not 0.0 <= self.replay < 1.0:
            raise ValueError(f"replay={self.replay} must be in [0, 1)")


def task_envs(task: str, hooks: TaskHooks, envs: dict, n: int) -> list[Any]:
    """``n`` envs of ``task`` (cached in ``envs``; made on first use)."""
    if task not in envs:
        envs[task] = [hooks.make_env(task) for _ in range(n)]
    return envs[task]


def close_envs(envs: dict[str, list[Any]]) -> None:
    """Close every env of the pools made by :func:`task_envs`."""
    for pool in envs.values():
        for env in pool:
            env.close()


def evaluate_all(
    policy: Any,
    tasks: Sequence[str],
    hooks: TaskHooks,
    seeds: Sequence[int],
    envs: dict,
    lockstep: int = 1,
    temperature: float | None = None,
    episodes: dict[str, list[bool]] | None = None,
) -> dict[str, float]:
    """Success rate per task (``lockstep`` envs per task, cached in ``envs``); ``episodes``
    (when given) receives each task's per-episode outcomes."""
    out = {}
    for task in tasks:
        pool = task_envs(task, hooks, envs, lockstep)
        if len(pool) > 1 or temperature is not None:
            res = success_rate_lockstep(pool, policy, seeds, temperature)
        else:
            res = success_rate(pool[0], policy, seeds)
        out[task] = res["success"]
        if episodes is not None:
            episodes[task] = [bool(x) for x in res["per_seed"]]
    return out


def transfer_metrics(
    success: dict[str, dict[str, float]], stages: list[list[str]]
) -> dict[str, Any]:
    """Forgetting and transfer from ``success[stage_label][task]`` (labels ``before``, then
    ``after_<k>``), with ``stages[k]`` the tasks trained in stage ``k``:

    * backward transfer BWT = mean over tasks of stages < last of R[last, i] − R[own stage, i]
      (negative = forgetting); ``old_drop`` = mean R[own stage, i] − R[last, i] in points;
    * forward transfer FWT = mean over tasks of stages > 0 of R[previous stage, i] − R[before, i]
      (what earlier stages did for a task not yet trained on).

    Stages that were not evaluated (missing labels) are left out of the means.
    """
    labels = ["before"] + [f"after_{k}" for k in range(len(stages))]
    last = labels[-1]
    own = {t: labels[k + 1] for k, ts in enumerate(stages) for t in ts}
    prev = {t: labels[k] for k, ts in enumerate(stages) for t in ts}
    old = [t for ts in stages[:-1] for t in ts]
    new = [t for ts in stages[1:] for t in ts]
    bwt = [success[last][t] - success[own[t]][t] for t in old if own[t] in success]
    fwt = [
        success[prev[t]][t] - success["before"][t]
        for t in new
        if prev[t] in success and t in success.get("before", {})
    ]
    return {
        "bwt": float(np.mean(bwt)) if bwt else None,
        "old_drop_points": float(-100 * np.mean(bwt)) if bwt else None,
        "fwt": float(np.mean(fwt)) if fwt else None,
        "old_tasks": old,
    }


def run_rft(
    trainer: GRPOTrainer,
    tasks: Sequence[str],
    hooks: TaskHooks,
    config: RunConfig,
    log: Callable[[str], None] = print,
    before: dict[str, float] | None = None,
    envs: dict[str, list[Any]] | None = None,
) -> dict[str, Any]:
    """Fine-tune ``trainer.policy`` in place; returns the ``metrics.json`` payload.

    ``before`` (success per task of this same policy on ``config.eval_seeds``) skips the first
    evaluation when it was already measured. ``envs`` (task -> list of envs) shares the
    caller's env pools; the caller then closes them (otherwise they are closed at the end).
    """
    rng = random.Random(config.seed)
    if config.mode == "visited" and hooks.labeler is None:
        raise ValueError("mode=visited needs an expert labeler (hint: TaskHooks(labeler=...))")
    if config.stages:
        stages = [list(s) for s in config.stages]
        unknown = sorted({t for s in stages for t in s} - set(tasks))
        if unknown:
            raise ValueError(f"stages name tasks {unknown} that are not in tasks={list(tasks)}")
    else:
        stages = [[t] for t in tasks] if config.continual else [list(tasks)]
    own_envs = envs is None
    envs = {} if envs is None else envs
    t0 = time.time()
    episodes: dict[str, dict[str, list[bool]]] = {}
    if before is None:
        episodes["before"] = {}
        before = evaluate_all(
            trainer.policy, tasks, hooks, config.eval_seeds, envs, config.lockstep_envs,
            config.eval_temperature, episodes["before"],
        )  # fmt: skip
    success = {"before": dict(before)}
    log(f"success before: {success['before']}")
    demos = {t: hooks.demos(t) for t in tasks} if config.mode == "offline" else {}
    if config.mode == "offline":
        empty = [t for t, d in demos.items() if not d]
        if empty:
            raise ValueError(f"offline RFT needs demos; none for {empty}")
    curves: list[dict[str, Any]] = []
    train_seed = 10_000 * (config.seed + 1)
    for k, stage in enumerate(stages):
        learned = [t for ts in stages[:k] for t in ts]
        bar = tqdm(range(config.steps), desc=f"rft stage {k} {','.join(stage)}", mininterval=5)
        for step in bar:
            if config.mode == "offline":
                n = trainer.config.obs_per_step
                n_old = round(n * config.replay) if learned else 0
                batch = [rng.choice(demos[rng.choice(stage)]) for _ in range(n - n_old)]
                batch += [rng.choice(demos[rng.choice(learned)]) for _ in range(n_old)]
                rows, means = trainer.offline_rows(batch)
                anchor: list[DemoSample] = []
            elif config.mode == "visited":
                rows, means = _visited_rows(trainer, stage[step % len(stage)], hooks, envs,
                                            config, train_seed, rng)  # fmt: skip
                train_seed += config.lockstep_envs
                anchor = []
            else:
                task = stage[step % len(stage)]
                pool = task_envs(task, hooks, envs, config.lockstep_envs)
                seeds = [train_seed + i for i in range(config.online_seeds_per_step)]
                train_seed += config.online_seeds_per_step
                rows, means = online_rows(
                    pool, trainer, seeds, config.online_group, trainer.weights,
                    hooks.progress(task), config.max_chunks,
                )  # fmt: skip
                for t in learned:  # replay of old tasks online: a BC anchor on their demos
                    if t not in demos:
                        demos[t] = hooks.demos(t)
                pool = [d for t in learned for d in demos[t]]
                anchor = rng.sample(pool, min(len(pool), trainer.config.minibatch))
            stats = trainer.update(rows, anchor) if len(rows) else {}
            curves.append({"stage": k, "step": step, **means, **stats, "rows": len(rows)})
            bar.set_postfix(
                reward=f"{means.get('reward', float('nan')):.3f}", kl=f"{stats.get('kl', 0):.4f}"
            )
        last_stage = k == len(stages) - 1
        if config.eval_stages is None or k in config.eval_stages or last_stage:
            episodes[f"after_{k}"] = {}
            res = evaluate_all(
                trainer.policy, tasks, hooks, config.eval_seeds, envs, config.lockstep_envs,
                config.eval_temperature, episodes[f"after_{k}"],
            )  # fmt: skip
            success[f"after_{k}"] = res
            log(f"success after stage {k} ({','.join(stage)}): {res}")
    if own_envs:
        close_envs(envs)
    last = f"after_{len(stages) - 1}"
    return {
        "tasks": list(tasks),
        "stages": stages,
        "mode": config.mode,
        "success": success,
        "success_before_mean": float(np.mean(list(success["before"].values())))
        if success["before"]
        else None,
        "success_after_mean": float(np.mean(list(success[last].values()))),
        "transfer": transfer_metrics(success, stages) if len(stages) > 1 else None,
        "success_episodes": episodes,
        "curves": curves,
        "seconds": time.time() - t0,
        "eval_seeds": list(config.eval_seeds),
    }


def _visited_rows(
    trainer: GRPOTrainer, task: str, hooks: TaskHooks, envs: dict, config: RunConfig,
    seed: int, rng: random.Random,
) -> tuple[Any, dict[str, float]]:  # fmt: skip
    """One lockstep batch of rollouts (the policy's own temperature, like the evaluator) from
    seeds ``seed..``; GRPO rows at ``obs_per_step`` of its expert-labelled visited states
    (rewards ``expert_*`` + ``fcr``)."""
    assert hooks.labeler is not None
    pool = task_envs(task, hooks, envs, config.lockstep_envs)
    samples, stats = visited_samples(
        pool, trainer.policy, [seed + i for i in range(len(pool))], hooks.labeler(task),
        config.label_prob, np.random.default_rng([config.seed, seed]),
    )  # fmt: skip
    batch = rng.sample(samples, min(len(samples), trainer.config.obs_per_step))
    rows, means = trainer.offline_rows(batch, term_prefix="expert_")
    return rows, {**means, **stats}
