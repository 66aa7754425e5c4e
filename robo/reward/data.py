"""Where reward-model episodes come from: robo datasets on disk, or synthetic ones.

A data source is one of:

* a dataset folder written by ``robo collect`` (has ``meta/info.json``);
* a folder holding such datasets at any depth (e.g. ``outputs/data`` with
  ``metaworld/reach/``, ``robosuite/lift/``, ...);
* a task name (``metaworld/reach``): every unshifted dataset ``robo collect`` wrote for it,
  ``<data_root>/<family>-<task>-<kind>`` (kind in expert, noisy, failure, rewind, paused,
  random, mixed), or ``<data_root>/<task>``;
* ``synthetic`` or ``synthetic:<seed>`` (the blob world of :mod:`robo.reward.synthetic`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from robo.types import Episode

DEFAULT_TRAIN_TASKS: tuple[str, ...] = (
    "metaworld/reach", "metaworld/push", "metaworld/pick-place", "metaworld/door-open",
    "metaworld/drawer-open", "metaworld/drawer-close", "metaworld/button-press-topdown",
    "metaworld/peg-insert-side", "metaworld/window-open", "metaworld/window-close",
    "metaworld/basketball", "metaworld/button-press", "metaworld/coffee-button",
    "metaworld/dial-turn", "metaworld/hammer", "metaworld/shelf-place", "metaworld/soccer",
    "metaworld/sweep", "metaworld/assembly", "metaworld/disassemble",
    "robosuite/lift", "robosuite/stack", "robosuite/door",
    "so101/reach", "so101/pick-cube", "so101/push-cube",
)  # fmt: skip
"""The default training set (exactly the tasks of issue 3); every other task stays unseen."""

UNSEEN_TASKS: tuple[str, ...] = (
    "metaworld/bin-picking", "metaworld/box-close", "metaworld/door-lock",
    "metaworld/door-unlock", "metaworld/hand-insert", "robosuite/pick-place-can",
    "so101/place-cube-in-bin",
)  # fmt: skip
"""The documented unseen set for one-shot evaluation."""

COLLECT_KINDS = ("expert", "noisy", "failure", "rewind", "paused", "random", "mixed")


def _dataset_dirs(path: Path) -> list[Path]:
    if (path / "meta" / "info.json").exists():
        return [path]
    return sorted(p.parent.parent for p in path.rglob("meta/info.json"))


def resolve_sources(sources: Sequence[str] | str, data_root: str | Path = "outputs/data") -> list:
    """Dataset folders (Path) and synthetic specs (str) named by ``sources``.

    Raises:
        FileNotFoundError: a source that is neither a dataset, a folder of datasets, a task
            with a dataset under ``data_root``, nor ``synthetic``.
    """
    if isinstance(sources, str):
        sources = [s for s in sources.split(",") if s]
    out: list = []
    missing: list[str] = []
    for src in sources:
        src = str(src)
        if src.startswith("synthetic"):
            out.append(src)
            continue
        dirs = _dataset_dirs(Path(src)) if Path(src).is_dir() else []
        if not dirs and "/" in src:
            stem = src.replace("/", "-")
            dirs = [
                d
                for kind in COLLECT_KINDS
                if (d := Path(data_root) / f"{stem}-{kind}").is_dir() and _dataset_dirs(d)
            ]
        if not dirs and (Path(data_root) / src).is_dir():
            dirs = _dataset_dirs(Path(data_root) / src)
        if dirs:
            out.extend(dirs)
        else:
            missing.append(src)
    if missing:
        more = f" (+{len(missing) - 3} more)" if len(missing) > 3 else ""
        raise FileNotFoundError(
            f"no dataset for {', '.join(missing[:3])}{more} under {data_root} "
            "(hint: record it with `robo collect task=<task>` or pass data=<folder>)"
        )
    return out


def load_episodes(
    sources: Sequence[str] | str,
    data_root: str | Path = "outputs/data",
    cameras: Sequence[str] | None = None,
    max_per_dataset: int | None = None,
    image_size: int = 96,
) -> list[Episode]:
    """All episodes of ``sources`` (see the module docstring), at most ``max_per_dataset`` each.

    Args:
        cameras: cameras to decode (None = all of each dataset).
        image_size: frame side of synthetic episodes [px] (datasets keep their own size).
    """
    from robo.reward.synthetic import make_dataset

    eps: list[Episode] = []
    for src in resolve_sources(sources, data_root):
        if isinstance(src, str):
            seed = int(src.split(":", 1)[1]) if ":" in src else 0
            batch = make_dataset(seed=seed, image_size=image_size)
            if max_per_dataset:  # per synthetic task: experts first, then the other kinds
                by_task: dict[str, list[Episode]] = {}
                for e in sorted(batch, key=lambda e: e.kind != "expert"):
                    by_task.setdefault(e.task, []).append(e)
                batch = [e for group in by_task.values() for e in group[:max_per_dataset]]
            eps.extend(batch)
            continue
        from robo.data import EpisodeReader

        reader = EpisodeReader(src)
        n = len(reader) if not max_per_dataset else min(len(reader), max_per_dataset)
        eps.extend(reader.read(i, cameras=cameras) for i in range(n))
    return eps


def split_episodes(
    episodes: list[Episode], val_frac: float = 0.15, seed: int = 0
) -> tuple[list[Episode], list[Episode]]:
    """Per-task split into (train, held-out): every task keeps at least one expert to train."""
    import numpy as np

    rng = np.random.default_rng(seed)
    train, val = [], []
    by_task: dict[str, list[Episode]] = {}
    for ep in episodes:
        by_task.setdefault(ep.task, []).append(ep)
    for eps in by_task.values():
        order = rng.permutation(len(eps))
        n_val = max(1, int(round(val_frac * len(eps)))) if len(eps) > 2 and val_frac > 0 else 0
        held = set(order[:n_val].tolist())
        for i, ep in enumerate(eps):
            (val if i in held else train).append(ep)
    return train, val
