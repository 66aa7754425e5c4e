"""Closed-loop success of a chunk policy on one task (sampled chunks, executed prefixes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


@torch.no_grad()
def success_rate(
    env: Any, policy: Any, seeds: Sequence[int], stop_on_success: bool = True
) -> dict[str, Any]:
    """Run one episode per seed; returns ``{"success": rate, "per_seed": [bool], "steps": mean}``.

    Each chunk comes from ``policy.sample(obs, n=1)`` (the policy's own sampling temperature)
    and its first ``policy.executed`` actions go through ``env.step``; an episode ends at
    termination/truncation, or at the first success when ``stop_on_success``.
    """
    wins, steps = [], []
    for seed in seeds:
        obs, info = env.reset(seed=int(seed))
        ok, n, done = bool(info.get("success", False)), 0, False
        while not done:
            chunk = policy.sample(obs, n=1)[0, : policy.executed].numpy()
            for action in chunk:
                obs, _, terminated, truncated, info = env.step(action)
                n += 1
                ok = ok or bool(info.get("success", False))
                done = bool(terminated or truncated) or (ok and stop_on_success)
                if done:
                    break
        wins.append(ok)
        steps.append(n)
    return {
        "success": float(np.mean(wins)) if wins else float("nan"),
        "per_seed": wins,
        "steps": float(np.mean(steps)) if steps else float("nan"),
    }


@torch.no_grad()
def success_rate_lockstep(
    envs: Sequence[Any],
    policy: Any,
    seeds: Sequence[int],
    temperature: float | None = None,
    stop_on_success: bool = True,
) -> dict[str, Any]:
    """:func:`success_rate` with ``len(envs)`` episodes (same task) run in lockstep: each chunk
    step samples one chunk per running episode in one ``policy.sample_many`` call (falls back
    to ``policy.sample`` per episode). ``temperature`` overrides the policy's (0 = greedy).

    Returns ``{"success": rate, "per_seed": [bool], "steps": mean}`` like :func:`success_rate`.
    """
    many = getattr(policy, "sample_many", None)
    wins: list[bool] = []
    steps: list[int] = []
    for start in range(0, len(seeds), len(envs)):
        part = [int(s) for s in seeds[start : start + len(envs)]]
        obs, ok, n, live = [], [], [], []
        for env, s in zip(envs, part):
            o, info = env.reset(seed=s)
            obs.append(o)
            ok.append(bool(info.get("success", False)))
            n.append(0)
            live.append(True)
        while any(live):
            idx = [i for i, on in enumerate(live) if on]
            batch = [obs[i] for i in idx]
            if many is not None:
                chunks = many(batch, temperature=temperature)
            else:
                kw = {} if temperature is None else {"temperature": temperature}
                chunks = torch.cat([policy.sample(o, n=1, **kw) for o in batch])
            for j, i in enumerate(idx):
                for action in chunks[j, : policy.executed].numpy():
                    obs[i], _, terminated, truncated, info = envs[i].step(action)
                    n[i] += 1
                    ok[i] = ok[i] or bool(info.get("success", False))
                    if bool(terminated or truncated) or (ok[i] and stop_on_success):
                        live[i] = False
                        break
        wins += ok
        steps += n
    return {
        "success": float(np.mean(wins)) if wins else float("nan"),
        "per_seed": wins,
        "steps": float(np.mean(steps)) if steps else float("nan"),
    }
