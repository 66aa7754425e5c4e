"""One figure for an RFT run: reward / KL / entropy curves and success per task per stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def plot_run(metrics: dict[str, Any], path: str | Path) -> Path:
    """Write ``path`` (PNG): left, mean group reward and KL per update (GRPO) or the
    fine-tune NLL and label count per round (DAgger); right, success bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = metrics.get("curves", [])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    if curves and "nll_last" in curves[0] and "reward" not in curves[0]:  # DAgger rounds
        x = np.arange(1, len(curves) + 1)
        ax1.plot(x, [c["nll_first"] for c in curves], "o-", label="NLL, first 10% of steps")
        ax1.plot(x, [c["nll_last"] for c in curves], "o-", label="NLL, last 10% of steps")
        ax1.set_xlabel("DAgger round")
        ax1.set_ylabel("token NLL [nats/token]")
        ax1.set_xticks(x)
        twin = ax1.twinx()
        twin.plot(x, [c["labelled_samples"] for c in curves], "s--", color="C2", label="labels")
        twin.set_ylabel("expert labels (all rounds so far)")
        lines = ax1.get_lines() + twin.get_lines()
        ax1.legend(lines, [ln.get_label() for ln in lines], fontsize=8, loc="upper right")
    elif curves:
        x = np.arange(len(curves))
        ax1.plot(x, [c.get("reward", np.nan) for c in curves], label="mean reward", color="C0")
        ax1.set_xlabel("GRPO update")
        ax1.set_ylabel("reward")
        twin = ax1.twinx()
        twin.plot(x, [c.get("kl", np.nan) for c in curves], label="KL to ref", color="C3", lw=1)
        twin.plot(x, [c.get("entropy", np.nan) for c in curves], label="entropy", color="C2", lw=1)
        twin.set_ylabel("KL / entropy [nats/token]")
        lines = ax1.get_lines() + twin.get_lines()
        ax1.legend(lines, [ln.get_label() for ln in lines], fontsize=8, loc="lower right")
    ax1.set_title(f"RFT ({metrics.get('mode', '?')})")
    success = metrics.get("success", {})
    tasks = metrics.get("tasks", [])
    labels = list(success)
    width = 0.8 / max(len(labels), 1)
    for i, lab in enumerate(labels):
        ax2.bar(
            np.arange(len(tasks)) + i * width,
            [100 * success[lab].get(t, np.nan) for t in tasks],
            width,
            label=lab,
        )
    ax2.set_xticks(np.arange(len(tasks)) + 0.4 - width / 2)
    ax2.set_xticklabels([t.split("/")[-1] for t in tasks], rotation=20, fontsize=8)
    ax2.set_ylabel("success [%]")
    ax2.set_ylim(0, 105)
    ax2.legend(fontsize=8)
    ax2.set_title("success per task")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
