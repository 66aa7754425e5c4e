"""`robo collect`: record labelled expert episodes of a sim task into a LeRobotDataset v3."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

HELP = "record expert / suboptimal episodes of a task into a LeRobotDataset (resumable)"


def default_out(task: str, kind: str, shift: str | None) -> Path:
    """``outputs/data/<family>-<task>-<kind>[-<shift>]``."""
    name = f"{task.replace('/', '-')}-{kind}" + (f"-{shift}" if shift else "")
    return Path("outputs") / "data" / name


def run(cfg: DictConfig) -> int:
    import torch
    from tqdm import tqdm

    from robo.data.collect import collect
    from sims.experts.kinds import KINDS

    torch.set_num_threads(1)
    kind = str(cfg.kind)
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    for key in ("episodes", "workers", "image_size"):
        if not isinstance(cfg[key], int) or cfg[key] < 1:
            raise ValueError(f"{key}={cfg[key]!r} must be a positive integer")
    shift = None if cfg.shift in (None, "none", "None", "") else str(cfg.shift)
    overrides: dict = {"image_size": int(cfg.image_size), "shift": shift}
    if cfg.max_episode_steps is not None:
        overrides["max_episode_steps"] = int(cfg.max_episode_steps)
    out = Path(cfg.out) if cfg.out else default_out(str(cfg.task), kind, shift)
    params = OmegaConf.to_container(cfg.params, resolve=True) or {}

    bars: list[tqdm] = []

    def on_start(todo: int, skipped: int) -> None:
        desc = f"collect {cfg.task} {kind}" + (f" ({skipped} done before)" if skipped else "")
        bars.append(tqdm(total=todo, unit="ep", desc=desc, smoothing=0.1))

    def on_episode(ep) -> None:
        bars[0].update(1)
        bars[0].set_postfix(kind=ep.kind, T=len(ep), success=bool(ep.success.any()))

    try:
        result = collect(
            task=str(cfg.task),
            episodes=int(cfg.episodes),
            out=out,
            kind=kind,
            seed=int(cfg.seed),
            workers=int(cfg.workers),
            video=bool(cfg.video),
            vcodec=str(cfg.vcodec),
            params=params,
            overrides=overrides,
            on_start=on_start,
            on_episode=on_episode,
        )
    finally:
        for bar in bars:
            bar.close()
    rate = f"{result.episodes_per_min:.1f} episodes/min" if result.recorded else "nothing to do"
    print(
        f"{result.out}: recorded {result.recorded}, skipped {result.skipped} already there, "
        f"{result.total} in the dataset; success {result.success_rate:.0%}; {rate}; "
        f"kinds {result.kinds}"
    )
    return 0
