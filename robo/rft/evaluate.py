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
