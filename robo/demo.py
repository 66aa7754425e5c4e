"""The demo pipeline behind ``make demo`` / ``robo demo``: one stage per part of the stack.

Each stage reads what earlier stages wrote under ``out`` and writes its own artefacts, so a
stage can be re-run alone (``robo demo stages=[report]``). Stages:

* ``collect``: a few labelled episodes of the default SO-101 task (LeRobotDataset v3).
* ``report``: a per-camera contact sheet PNG and an mp4 of one episode (all views side by side).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class DemoConfig:
    """Attributes:
    task: the demo task.
    out: folder for everything the demo writes.
    episodes: expert episodes collected (plus one failure episode).
    image_size: camera image side [px].
    seed: first seed.
    """

    task: str = "so101/pick-cube"
    out: Path = Path("outputs/demo")
    episodes: int = 4
    image_size: int = 96
    seed: int = 0

    @property
    def data_dir(self) -> Path:
        return self.out / "data" / self.task.replace("/", "-")

    @property
    def failure_dir(self) -> Path:
        return self.out / "data" / (self.task.replace("/", "-") + "-failure")


def stage_collect(cfg: DemoConfig) -> dict:
    """Collect ``cfg.episodes`` expert episodes and one failure episode."""
    from robo.data.collect import collect

    overrides = {"image_size": cfg.image_size}
    experts = collect(cfg.task, cfg.episodes, cfg.data_dir, "expert", cfg.seed, overrides=overrides)
    failures = collect(
        cfg.task, 1, cfg.failure_dir, "failure", cfg.seed + 1000, overrides=overrides
    )
    return {
        "expert_success_rate": experts.success_rate,
        "failure_success_rate": failures.success_rate,
        "episodes_per_min": experts.episodes_per_min,
        "dataset": str(cfg.data_dir),
    }


def stage_report(cfg: DemoConfig) -> dict:
    """Contact sheet per camera + mp4 (all cameras side by side) of episode 0."""
    from robo.data import EpisodeReader
    from robo.eval.media import contact_sheet, label, save_png, tile_views, write_mp4

    reader = EpisodeReader(cfg.data_dir)
    ep = reader.read(0)
    cams = list(ep.images)
    sheets = [contact_sheet(ep.images[c], n=8, title=f"{ep.task} / {c}", scale=2) for c in cams]
    sheet = np.concatenate(sheets, axis=0)
    png = save_png(sheet, cfg.out / "contact_sheet.png")
    frames = []
    for t in range(len(ep)):
        row = tile_views([ep.images[c][t] for c in cams])
        text = f"t={t} success={bool(ep.success[t])} progress_gt={ep.progress_gt[t]:.2f}"
        frames.append(label(row, text, scale=2))
    mp4 = write_mp4(frames, cfg.out / "episode0.mp4", fps=20)
    return {"contact_sheet": str(png), "video": str(mp4), "cameras": cams, "frames": len(ep)}


STAGES: dict[str, Callable[[DemoConfig], dict]] = {
    "collect": stage_collect,
    "report": stage_report,
}
