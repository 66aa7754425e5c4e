"""Filtered behaviour cloning on the policy's own successful rollouts (ReST / RAFT style).

One round: roll the current policy out from fresh initial states (lockstep, one batched
``sample_many`` call per chunk step, exactly like the success evaluator), keep the episodes that
succeeded, and fine-tune the policy by token cross-entropy on a mix of those episodes and the
expert demonstrations (``demo_fraction`` of every minibatch). This is the limit of
positive-only GRPO (only successes are reinforced, nothing is pushed down) with whole
trajectories as targets, many more gradient steps, a warm-up and EMA weights, instead of a few
clipped PPO steps on chunk-start tokens.

Targets are the *executed* actions: at every step t of a kept episode the window is
``action[t : t + H]`` (what the robot did next, chunks running past the end repeat the last
action), the same windows the demos give (:func:`robo.policy.windows.episode_windows`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from robo.policy.vla.train import TaskWindows
from robo.rft.ema_finetune import TokenFinetuneConfig, ema_finetune
from robo.types import Episode


@dataclass
class FilteredBCConfig(TokenFinetuneConfig):
    """One filtered-BC round: :class:`robo.rft.ema_finetune.TokenFinetuneConfig` (optimiser,
    EMA, ``demo_fraction`` of demo windows in every minibatch, the rest from the kept
    rollouts) plus rollouts: episodes per task per round (one fresh initial state each) and
    temperature: rollout sampling temperature (None = the policy's own)."""

    steps: int = 1000
    warmup: int = 100
    rollouts: int = 128
    temperature: float | None = None


@torch.no_grad()
def collect_lockstep(
    envs: Sequence[Any],
    policy: Any,
    seeds: Sequence[int],
    temperature: float | None = None,
) -> list[Episode]:
    """One on-policy episode per seed, ``len(envs)`` (same task) at a time in lockstep.

    Each chunk step samples one chunk per running episode in one ``policy.sample_many`` call
    and sends its first ``policy.executed`` actions through ``env.step``; an episode ends at
    termination/truncation or at its first success (as in
    :func:`robo.rft.evaluate.success_rate_lockstep`). Returns :class:`Episode` s (kind
    ``policy``) of T executed steps: ``state`` float32[T, D] (the observation the action was
    taken at), ``action`` float32[T, A], ``success`` bool[T] (after the step).
    """
    out: list[Episode] = []
    for start in range(0, len(seeds), len(envs)):
        part = [int(s) for s in seeds[start : start + len(envs)]]
        obs, live, rec = [], [], []
        for env, s in zip(envs, part):
            o, _ = env.reset(seed=s)
            obs.append(o)
            live.append(True)
            rec.append({"state": [], "action": [], "success": [], "first": o})
        while any(live):
            idx = [i for i, on in enumerate(live) if on]
            chunks = policy.sample_many([obs[i] for i in idx], temperature=temperature)
            for j, i in enumerate(idx):
                r = rec[i]
                for action in chunks[j, : policy.executed].numpy():
                    r["state"].append(np.asarray(obs[i]["state"], dtype=np.float32))
                    r["action"].append(action.astype(np.float32))
                    obs[i], _, terminated, truncated, info = envs[i].step(action)
                    r["success"].append(bool(info.get("success", False)))
                    if bool(terminated or truncated) or r["success"][-1]:
                        live[i] = False
                        break
        for env, s, r in zip(envs, part, rec):
            t_len = len(r["state"])
            out.append(
                Episode(
                    task=env.unwrapped.task_name,
                    instruction=str(r["first"]["instruction"]),
                    kind="policy",
                    seed=s,
                    images={},
                    state=np.stack(r["state"]),
                    action=np.stack(r["action"]),
                    success=np.asarray(r["success"], dtype=bool),
                    progress_gt=np.full(t_len, np.nan, dtype=np.float32),
                    timestamp=np.arange(t_len, dtype=np.float64),
                )
            )
    return out


def finetune_filtered(
    policy: Any,
    demos: Sequence[Episode],
    own: Sequence[Episode],
    config: FilteredBCConfig,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Fine-tune ``policy`` (a :class:`robo.policy.vla.VLAPolicy`, in place) by token
    cross-entropy on the successful episodes of ``own`` mixed with ``demos``.

    The normaliser and tokenizer stay the policy's own. Returns stats: ``kept`` (successful
    own episodes used), ``windows_demo``, ``windows_own``, ``nll_first`` / ``nll_last`` (mean
    token NLL [nats] of the first / last 10% of steps), ``seconds``.

    Raises:
        ValueError: no demos and no successful own episodes.
    """
    kept = [ep for ep in own if ep.success.any()]
    if not demos and not kept:
        raise ValueError(
            "nothing to clone: no demos and no successful rollouts (hint: more rollouts, or "
            "pass expert demos)"
        )
    frac = config.mix(bool(demos), bool(kept))
    windows = {
        name: (TaskWindows(list(eps), policy), share)
        for name, eps, share in (("demo", demos, frac), ("own", kept, 1.0 - frac))
        if eps and share > 0
    }
    sets = list(windows.values())
    student = copy.deepcopy(policy).to(device).train()
    policy.to(device)

    def loss_fn(student: Any, g: torch.Generator) -> torch.Tensor:
        parts = []
        for data, share in sets:
            n = max(1, round(config.batch_size * share))
            idx = torch.randint(0, len(data), (n,), generator=g)
            parts.append(data.batch(idx, 0, g))
        batch = {k: torch.cat([p[k] for p in parts]).to(device) for k in parts[0]}
        tokens = student.tokenizer.encode(batch["actions"])
        return student.token_nll(batch, tokens)

    fit = ema_finetune(policy, student, loss_fn, config)
    return {
        "kept": len(kept),
        "own_episodes": len(own),
        "windows_demo": len(windows["demo"][0]) if "demo" in windows else 0,
        "windows_own": len(windows["own"][0]) if "own" in windows else 0,
        "demo_fraction": frac,
        **fit,
    }
