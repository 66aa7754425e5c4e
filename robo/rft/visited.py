"""Rows from the states the policy itself visits, labelled with the expert's chunk there.

The diagnostics of ``docs/BENCHMARKS.md`` showed that success-based signals are flat at the
states where the imitation VLA fails (its own samples almost never recover), and that
demo-matching rewards only score demo states, where the policy is already good. Here the
policy rolls out (lockstep, sampled, exactly like the success evaluator) and a *labeler* —
e.g. :class:`sims.experts.lookahead.ExpertLookahead`, the scripted expert acting from a
private copy of the simulator state — gives the chunk the expert would execute at a random
subset of the visited states. Two uses:

* **chunk-level GRPO** (mode ``visited``): a group of G chunks is sampled at each labelled
  state and scored by ``expert_ctar`` / ``expert_qacr`` (+ ``fcr``) against the expert chunk
  (:meth:`robo.rft.trainer.GRPOTrainer.offline_rows` with ``term_prefix="expert_"``);
* **DAgger** (the obvious alternative): token cross-entropy on (visited state, expert chunk)
  pairs mixed with the demos (:func:`finetune_on_samples`).

The policy alone acts in the env; the labeler only reads state (privileged, expert-side).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from robo.policy.token_base import mean_token_nll
from robo.rft.ema_finetune import TokenFinetuneConfig, ema_finetune
from robo.rft.trainer import DemoSample

ChunkLabeler = Callable[[Any], np.ndarray]
"""``labeler(env)`` -> float32[H, A]: the expert's chunk from ``env``'s current state."""


@torch.no_grad()
def visited_samples(
    envs: Sequence[Any],
    policy: Any,
    seeds: Sequence[int],
    labeler: ChunkLabeler,
    label_prob: float = 1.0,
    rng: np.random.Generator | None = None,
    temperature: float | None = None,
    min_disagreement: float = 0.0,
    disagreement_quantile: float = 0.0,
) -> tuple[list[DemoSample], dict[str, float]]:
    """Roll ``policy`` out once per seed (``len(envs)`` episodes of one task in lockstep, one
    ``policy.sample_many`` call per chunk step, episodes end at termination/truncation or
    first success) and label each visited chunk-start state with probability ``label_prob``.

    ``min_disagreement`` > 0 labels selectively: a drawn state is kept only if the chunk the
    policy sampled there departs from the expert's by at least that much (mean absolute
    difference over the executed prefix, action units), so states where the policy already
    acts like the expert add no labels. ``disagreement_quantile`` q > 0 keeps, of the drawn
    states of this call, those at or above the q-quantile of their disagreements (a per-task
    scale: with ``label_prob`` 1 and q 0.5, the same number of labels as ``label_prob`` 0.5,
    chosen where the policy departs most).

    Returns the :class:`DemoSample` s (observation, expert chunk float32[H, A], task) and
    ``{"rollout_success", "visited", "labelled", "disagreement_median"}`` (the median over
    the drawn states, NaN if none).
    """
    if not 0.0 < label_prob <= 1.0:
        raise ValueError(f"label_prob={label_prob} must be in (0, 1]")
    if min_disagreement < 0:
        raise ValueError(f"min_disagreement={min_disagreement} must be >= 0")
    if not 0.0 <= disagreement_quantile < 1.0:
        raise ValueError(f"disagreement_quantile={disagreement_quantile} must be in [0, 1)")
    rng = rng or np.random.default_rng(0)
    wins: list[bool] = []
    gaps: list[float] = []
    drawn: list[DemoSample] = []
    visited = 0
    for start in range(0, len(seeds), len(envs)):
        part = [int(s) for s in seeds[start : start + len(envs)]]
        obs, live, ok = [], [], []
        for env, s in zip(envs, part):
            o, info = env.reset(seed=s)
            obs.append(o)
            live.append(True)
            ok.append(bool(info.get("success", False)))
        while any(live):
            idx = [i for i, on in enumerate(live) if on]
            chunks = _sample_each(policy, [obs[i] for i in idx], temperature)
            for j, i in enumerate(idx):
                visited += 1
                if rng.random() < label_prob:
                    chunk = torch.from_numpy(np.asarray(labeler(envs[i]), dtype=np.float32))
                    n = min(policy.executed, len(chunk))
                    gaps.append(float((chunks[j, :n] - chunk[:n]).abs().mean()))
                    drawn.append(DemoSample(obs[i], chunk, envs[i].unwrapped.task_name))
            for j, i in enumerate(idx):
                for action in chunks[j, : policy.executed].numpy():
                    obs[i], _, terminated, truncated, info = envs[i].step(action)
                    ok[i] = ok[i] or bool(info.get("success", False))
                    if bool(terminated or truncated) or ok[i]:
                        live[i] = False
                        break
        wins += ok
    cut = min_disagreement
    if disagreement_quantile > 0 and gaps:
        cut = max(cut, float(np.quantile(gaps, disagreement_quantile)))
    out = [d for d, g in zip(drawn, gaps) if g >= cut]
    stats = {
        "rollout_success": float(np.mean(wins)) if wins else float("nan"),
        "visited": float(visited),
        "labelled": float(len(out)),
        "disagreement_median": float(np.median(gaps)) if gaps else float("nan"),
    }
    return out, stats


def _sample_each(policy: Any, obs: list[Any], temperature: float | None) -> torch.Tensor:
    """One chunk per observation, float32[n, H, A]: ``policy.sample_many`` when it has one
    (the evaluator's batched path), else ``policy.sample`` per observation."""
    if hasattr(policy, "sample_many"):
        return policy.sample_many(obs, temperature=temperature)
    kw = {} if temperature is None else {"temperature": temperature}
    return torch.cat([policy.sample(o, n=1, **kw) for o in obs])


@dataclass
class DaggerConfig(TokenFinetuneConfig):
    """The DAgger fine-tune's options (:class:`robo.rft.ema_finetune.TokenFinetuneConfig`);
    ``demo_fraction`` of every minibatch comes from the demos, the rest from the labelled
    visited states."""


def finetune_on_samples(
    policy: Any,
    demos: Sequence[DemoSample],
    labelled: Sequence[DemoSample],
    config: DaggerConfig,
) -> dict[str, Any]:
    """DAgger step: fine-tune ``policy`` (a token policy, in place, EMA weights) by token
    cross-entropy on the expert chunks of ``labelled`` visited states mixed with ``demos``.

    Returns ``{"demo_samples", "labelled_samples", "nll_first", "nll_last", "seconds"}``
    (mean token NLL [nats] of the first / last 10% of steps).

    Raises:
        ValueError: no samples at all.
    """
    if not demos and not labelled:
        raise ValueError("nothing to clone: no demo samples and no labelled states")
    frac = config.mix(bool(demos), bool(labelled))
    sets = [(list(s), share) for s, share in ((demos, frac), (labelled, 1 - frac)) if share > 0]
    student = copy.deepcopy(policy).train()
    for p in student.parameters():
        p.requires_grad_(True)

    def loss_fn(student: Any, g: torch.Generator) -> torch.Tensor:
        rows: list[DemoSample] = []
        for data, share in sets:
            n = max(1, round(config.batch_size * share))
            rows += [data[i] for i in torch.randint(0, len(data), (n,), generator=g).tolist()]
        tokens = student.tokenizer.encode(torch.stack([r.chunk for r in rows]).float())
        return mean_token_nll(student, [r.obs for r in rows], tokens)

    fit = ema_finetune(policy, student, loss_fn, config)
    return {
        "demo_samples": len(demos),
        "labelled_samples": len(labelled),
        "demo_fraction": frac,
        **fit,
    }
