"""Policy evaluation on a state-only copy of the task: success, hover ratio, steps to success."""

from __future__ import annotations

from typing import Any

import numpy as np

from robo.reward.shaping import hover_steps


def evaluate_policy(
    model: Any, env: Any, episodes: int, seed: int, hover_threshold: float = 0.8
) -> dict[str, float]:
    """Run ``episodes`` deterministic episodes of ``model`` on ``env`` (a PolicyObservation env).

    Returns ``success_rate``, ``hover_ratio_gt`` (steps with progress_gt > threshold before
    success / all steps), ``steps_to_success`` (mean length of successful episodes, NaN if
    none) and ``final_progress`` (mean progress_gt at the end).
    """
    successes, lengths, hover, steps, final_progress = 0, [], 0, 0, []
    for ep in range(episodes):
        obs, info = env.reset(seed=seed + ep)
        phi, succ = [float(info.get("progress_gt", np.nan))], [bool(info.get("success", False))]
        done = False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            phi.append(float(info.get("progress_gt", np.nan)))
            succ.append(bool(info.get("success", False)))
        # Indicators over the states the agent acted in (all but the last).
        hover += hover_steps(np.nan_to_num(phi[:-1]), np.array(succ[:-1]), hover_threshold)
        steps += len(phi) - 1
        final_progress.append(phi[-1])
        if any(succ):
            successes += 1
            lengths.append(int(np.argmax(succ)))
    return {
        "success_rate": successes / episodes,
        "hover_ratio_gt": hover / max(steps, 1),
        "steps_to_success": float(np.mean(lengths)) if lengths else float("nan"),
        "final_progress": float(np.nanmean(final_progress)),
    }
