"""Run outputs: ``metrics.json`` and the success-vs-steps plot of one ``robo rl`` job."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def _clean(x: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_metrics(out: Path, payload: dict[str, Any]) -> Path:
    """Write ``<out>/metrics.json`` (NaN written as null)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "metrics.json"
    path.write_text(json.dumps(_clean(payload), indent=2))
    return path


def read_metrics(path: str | Path) -> dict[str, Any]:
    """Load a ``metrics.json`` (or the one inside a run directory)."""
    p = Path(path)
    if p.is_dir():
        p = p / "metrics.json"
    if not p.exists():
        raise FileNotFoundError(f"no metrics.json at {p} (hint: pass the out= dir of `robo rl`)")
    data = json.loads(p.read_text())
    for key in ("task", "reward", "runs"):
        if key not in data:
            raise ValueError(f"{p} is not a `robo rl` metrics file (missing {key!r})")
    return data


def plot_run(out: Path, metrics: dict[str, Any]) -> Path:
    """``<out>/success.png``: eval success vs env steps per seed and their mean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
    curves = []
    for run in metrics["runs"]:
        steps = [r["step"] for r in run["curve"]]
        succ = [r["eval_success_rate"] for r in run["curve"]]
        ax.plot(steps, succ, color="tab:blue", alpha=0.3, lw=1)
        curves.append((steps, succ))
    if curves and all(c[0] == curves[0][0] for c in curves):
        ax.plot(curves[0][0], np.mean([c[1] for c in curves], 0), color="tab:blue", lw=2.2)
    ax.set(
        xlabel="environment steps",
        ylabel="success rate",
        ylim=(-0.03, 1.03),
        title=f"{metrics['task']}  reward={metrics['reward']}",
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = out / "success.png"
    fig.savefig(path)
    plt.close(fig)
    return path
