"""DAgger rounds for a token policy: roll out, label visited states with the expert, clone.

Each round rolls the policy out (lockstep, sampled, exactly like the success evaluator) on
``rollouts`` fresh initial states per task, labels a random ``label_prob`` share of the visited
chunk-start states with the scripted expert's chunk there (:func:`robo.rft.visited.
visited_samples`), adds them to the labels of earlier rounds (aggregated, as in DAgger) and
fine-tunes the policy on all labels so far mixed with expert demos
(:func:`robo.rft.visited.finetune_on_samples`), continuing from the previous round's weights.

This is the fine-tuning that lifts the imitation VLA most on this stack (docs/BENCHMARKS.md,
"Chunk-level reinforcement fine-tuning"); ``robo rft mode=dagger`` and ``bench/bench_rft.py
--mode dagger`` both run it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from robo.rft.loop import TaskHooks, task_envs
from robo.rft.trainer import DemoSample
from robo.rft.visited import DaggerConfig, finetune_on_samples, visited_samples


@dataclass
class DaggerRounds:
    """rounds: DAgger rounds. rollouts: on-policy episodes per task and round (initial-state
    seeds ``10000 (seed + 1) + round * rollouts + i``, never the evaluation seeds 1000..).
    label_prob: share of visited chunk-start states labelled by the expert.
    min_disagreement / disagreement_quantile: label only where the policy's own chunk departs
    from the expert's (see :func:`robo.rft.visited.visited_samples`; 0 = all drawn states).
    lockstep: envs per task rolled out together. finetune: the per-round fine-tune (steps, lr,
    EMA, demo share of each minibatch). The defaults are the recipe that met the +15 RFT target
    (docs/BENCHMARKS.md, session 21): 3 rounds, 30 rollouts, label_prob 0.5, 1200 steps."""

    rounds: int = 3
    rollouts: int = 30
    label_prob: float = 0.5
    min_disagreement: float = 0.0
    disagreement_quantile: float = 0.0
    lockstep: int = 8
    finetune: DaggerConfig = field(default_factory=lambda: DaggerConfig(steps=1200))

    def __post_init__(self) -> None:
        if self.rounds < 1 or self.rollouts < 1 or self.lockstep < 1:
            raise ValueError(
                f"rounds={self.rounds}, rollouts={self.rollouts}, lockstep={self.lockstep} "
                "must be >= 1"
            )
        if not 0.0 < self.label_prob <= 1.0:
            raise ValueError(f"label_prob={self.label_prob} must be in (0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_dagger(
    policy: Any,
    tasks: Sequence[str],
    hooks: TaskHooks,
    demos: Sequence[DemoSample],
    config: DaggerRounds,
    seed: int = 0,
    envs: dict[str, list[Any]] | None = None,
    after_round: Callable[[int], None] | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Run ``config.rounds`` DAgger rounds on ``tasks``, updating ``policy`` in place.

    ``demos`` are mixed into every fine-tune (typically the demos of every task the policy
    should keep, not only ``tasks``). ``envs`` (task -> env pool) shares the caller's envs.
    ``after_round(k)`` (1-based) runs after each round's fine-tune, e.g. an evaluation.

    Returns one dict per round: the fine-tune's ``demo_samples``, ``labelled_samples`` (all
    rounds so far), ``nll_first`` / ``nll_last`` [nats/token], ``seconds``, the per-task
    rollout statistics under ``visited`` and ``collect_seconds``.

    Raises:
        ValueError: no labeler in ``hooks``.
    """
    if hooks.labeler is None:
        raise ValueError("DAgger needs an expert labeler (hint: TaskHooks(labeler=...))")
    envs = {} if envs is None else envs
    ft = DaggerConfig(**{**config.finetune.to_dict(), "seed": seed})
    rng = np.random.default_rng([seed, 7])
    labelled: list[DemoSample] = []
    per_round: list[dict[str, Any]] = []
    for k in range(config.rounds):
        stats = {}
        t_collect = time.time()
        for task in tasks:
            pool = task_envs(task, hooks, envs, config.lockstep)
            seeds = [10_000 * (seed + 1) + k * config.rollouts + i for i in range(config.rollouts)]
            got, st = visited_samples(
                pool, policy, seeds, hooks.labeler(task), config.label_prob, rng,
                min_disagreement=config.min_disagreement,
                disagreement_quantile=config.disagreement_quantile,
            )  # fmt: skip
            labelled += got
            stats[task] = st
            log(f"round {k}: {task}: {st}")
        t_collect = time.time() - t_collect
        fit = finetune_on_samples(policy, demos, labelled, ft)
        log(f"dagger round {k}: {fit}")
        per_round.append({**fit, "visited": stats, "collect_seconds": t_collect})
        if after_round is not None:
            after_round(k + 1)
    return per_round
