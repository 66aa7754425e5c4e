"""metrics.json and the per-round plot of a TPO run."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def write_metrics(path: Path, history: Sequence[dict[str, Any]], meta: dict[str, Any]) -> Path:
    """``path`` gets ``{"meta": ..., "rounds": history}`` (NaN written as null)."""

    def clean(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean({"meta": meta, "rounds": list(history)}), indent=2))
    return path


def plot_rounds(path: Path, history: Sequence[dict[str, Any]], title: str = "TPO") -> Path:
    """Held-out success, collisions (steps) and episode length per round, and DPO loss/accuracy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = [h["round"] for h in history]
    ev = [h["eval"]["mean"] for h in history]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
    panels = [
        ("success", "held-out success"),
        ("collisions", "collision steps / episode"),
        ("length", "episode length [steps]"),
    ]
    for ax, (key, label) in zip(axes, panels):
        ax.plot(rounds, [e.get(key, float("nan")) for e in ev], "o-")
        ax.set_xlabel("round")
        ax.set_title(label)
        ax.set_xticks(rounds)
    trained = [h for h in history if h.get("dpo", {}).get("steps")]
    ax = axes[3]
    if trained:
        r = [h["round"] for h in trained]
        ax.plot(r, [h["dpo"]["loss"] for h in trained], "o-", label="DPO loss")
        ax.plot(r, [h["dpo"]["accuracy"] for h in trained], "s-", label="pair accuracy")
        ax.axhline(math.log(2), color="grey", lw=0.8, ls=":")
        ax.legend(fontsize=8)
        ax.set_xticks(r)
    ax.set_title("DPO (mean over the round)")
    ax.set_xlabel("round")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
