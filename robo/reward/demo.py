"""A small reward-model demo for ``make demo``: train briefly, plot Φ on a held-out episode.

:func:`reward_demo` trains the default model for a short budget on the given episodes (the
blob world of :mod:`robo.reward.synthetic` when none are given), scores one held-out episode
of each kind, and writes the progress curves (filmstrip + Φ ± std vs time baseline and
progress_gt) as PNGs. Returns the held-out metrics and the written paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robo.types import Episode


def reward_demo(
    out_dir: str | Path = "outputs/demo/reward",
    episodes: list[Episode] | None = None,
    seconds: float = 90.0,
    image_size: int = 64,
    text_backend: str = "minilm",
    progress: bool = True,
) -> dict[str, Any]:
    """Train a small GRM for ``seconds``, save it, and plot a held-out episode per kind."""
    from robo.eval.media import save_png
    from robo.eval.report_reward import progress_figure
    from robo.reward.checkpoint import save_checkpoint
    from robo.reward.data import split_episodes
    from robo.reward.evaluate import score_for_metrics
    from robo.reward.metrics import compute_metrics
    from robo.reward.model import ProgressRewardModel, RewardModelConfig
    from robo.reward.pairs import EpisodeStore
    from robo.reward.synthetic import make_dataset
    from robo.reward.train import TrainConfig, train

    out = Path(out_dir)
    eps = episodes or make_dataset(image_size=image_size)
    train_eps, val_eps = split_episodes(eps, 0.2)
    cfg = RewardModelConfig(image_size=image_size, text_backend=text_backend)
    store = EpisodeStore(train_eps, cfg.views, image_size, text_backend=text_backend)
    model = ProgressRewardModel(cfg)
    train(
        model,
        store,
        TrainConfig(steps=100_000, time_limit_s=seconds, eval_every=0),
        progress=progress,
    )
    save_checkpoint(model, out / "ckpt", {"demo": True})
    scored, traces = score_for_metrics(model, val_eps)
    paths = []
    shown: set[str] = set()
    for ep, tr in zip(val_eps, traces):
        if ep.kind in shown:
            continue
        shown.add(ep.kind)
        img = progress_figure(ep, tr.phi, tr.std, tr.perspectives)
        paths.append(save_png(img, out / f"progress_{ep.kind}.png"))
    return {"metrics": compute_metrics(scored), "figures": [str(p) for p in paths]}
