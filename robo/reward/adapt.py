"""One-shot adaptation: fine-tune a trained reward model on ONE demonstration of a new task.

The demo is auto-segmented (:mod:`robo.reward.labels`) and augmented into several training
episodes that only re-time its own frames:

* the demo itself and speed changes (every 2nd / 3rd frame, each frame twice);
* synthetic rewinds: play to step p, then back towards the start (labels mirror);
* synthetic stalls: play to step p and stop there (no progress after p);

plus random image shifts and view dropout in every batch. Batches mix the demo with replayed
base-training episodes (``replay_frac`` of the sampled episodes), including instruction swaps
between the new task and the replayed ones, so the model learns the new task without
forgetting the old ones. Zero-shot use needs none of this: condition on the demo's goal frame
(:func:`robo.reward.evaluate.goal_frame`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from robo.reward.labels import LabelMode, first_success, progress_labels
from robo.reward.model import ProgressRewardModel
from robo.reward.pairs import EpisodeStore
from robo.reward.train import TrainConfig, train
from robo.types import Episode


@dataclass
class AdaptConfig:
    """Options of :func:`adapt_one_shot`.

    Attributes:
        steps: fine-tuning steps (upper bound); time_limit_s: wall-clock cap [s].
        lr: AdamW learning rate (lower than training: the base model is kept close).
        demo_weight: share of sampled episodes that come from the demo's variants (0.25: at
            120 steps forget <= 0.013 in 5 of 5 runs vs 0.5's 0.003-0.033,
            bench/results/reward_forget_s4*.json).
        rewinds, stalls: number of synthetic rewind / stall variants of the demo.
        shift_px: random image shift [px]; label_mode: auto segments or time.
        encoder_lr_scale: the per-view encoder's LR as a share of ``lr`` (0 = frozen).
        anchor_weight: L2-SP pull to the base weights (:class:`robo.reward.train.TrainConfig`).
        hard_frac, fail_decay: hard negatives from the replayed failure episodes and the
            regress target inside them (:class:`robo.reward.train.TrainConfig`); 0 = off.
    """

    steps: int = 300
    time_limit_s: float = 150.0
    lr: float = 3e-4
    demo_weight: float = 0.25
    rewinds: int = 4
    stalls: int = 3
    shift_px: int = 6
    episodes_per_batch: int = 8
    frames_per_episode: int = 6
    pairs_per_batch: int = 192
    label_mode: LabelMode = "segments"
    encoder_lr_scale: float = 1.0
    anchor_weight: float = 0.0
    hard_frac: float = 0.0
    fail_decay: float = 0.0
    seed: int = 0
    device: str = "cpu"


def demo_variants(
    demo: Episode, rng: np.random.Generator, rewinds: int = 4, stalls: int = 3
) -> list[tuple[np.ndarray, str]]:
    """Frame orders (int[T']) that re-time the demo, each with a short name."""
    T = len(demo)
    end = first_success(demo)
    end = T - 1 if end is None else end
    base = np.arange(end + 1)
    out: list[tuple[np.ndarray, str]] = [(base, "demo")]
    for k in (2, 3):
        fast = base[::k]
        out.append((fast if fast[-1] == end else np.append(fast, end), f"speed x{k}"))
    out.append((np.repeat(base, 2), "speed x0.5"))
    for _ in range(rewinds):
        p = int(rng.integers(max(2, end // 4), max(3, end)))
        back = int(rng.integers(max(1, p // 4), p + 1))
        out.append((np.concatenate([base[: p + 1], base[p - 1 :: -1][:back]]), f"rewind@{p}"))
    for _ in range(stalls):
        p = int(rng.integers(1, max(2, end)))
        out.append((np.concatenate([base[: p + 1], np.full(end - p, p)]), f"stall@{p}"))
    return out


def build_adapt_store(
    model: ProgressRewardModel,
    demo: Episode | Sequence[Episode],
    replay: list[Episode],
    config: AdaptConfig,
) -> EpisodeStore:
    """Replay episodes + the demo's variants in one store (demo share = ``demo_weight``).

    ``demo`` is one episode (one-shot) or a few of the same task (few-shot: each gets its own
    variants; together they keep the ``demo_weight`` share).
    """
    demos = [demo] if isinstance(demo, Episode) else list(demo)
    if not demos:
        raise ValueError("no demo given (hint: pass one successful expert episode)")
    if len({d.task for d in demos}) > 1:
        raise ValueError(
            f"the demos are of several tasks {sorted({d.task for d in demos})} "
            "(hint: adapt to one new task at a time)"
        )
    for d in demos:
        if first_success(d) is None:
            raise ValueError(
                f"the demo of {d.task} never succeeds (hint: pass a successful expert episode)"
            )
    cfg = model.config
    store = EpisodeStore(
        replay or demos[:1], cfg.views, cfg.image_size, config.label_mode,
        max_frames=24, text_backend=cfg.text_backend,
    )  # fmt: skip
    n_replay = len(store)
    rng = np.random.default_rng(config.seed)
    per_demo = [demo_variants(d, rng, config.rewinds, config.stalls) for d in demos]
    n_added = sum(len(v) for v in per_demo)
    demo_w = config.demo_weight / (1 - config.demo_weight) * n_replay / n_added
    for d, variants in zip(demos, per_demo):
        phi = progress_labels(d, config.label_mode)
        for order, name in variants:
            # Re-timed variants that stop short of success are not successes (no goal frames).
            ep = d if name == "demo" or name.startswith("speed") else _no_success(d)
            store.add(ep, phi, order, weight=demo_w if replay else 1.0)
    return store


def _no_success(ep: Episode) -> Episode:
    return replace(ep, success=np.zeros_like(ep.success))


def adapt_one_shot(
    model: ProgressRewardModel,
    demo: Episode | Sequence[Episode],
    replay: list[Episode] | None = None,
    config: AdaptConfig | None = None,
    log_dir: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Fine-tune ``model`` in place on one demo, or a few (+ replay); returns the history."""
    config = config or AdaptConfig()
    store = build_adapt_store(model, demo, list(replay or []), config)
    tc = TrainConfig(
        steps=config.steps,
        time_limit_s=config.time_limit_s,
        lr=config.lr,
        episodes_per_batch=config.episodes_per_batch,
        frames_per_episode=config.frames_per_episode,
        pairs_per_batch=config.pairs_per_batch,
        shift_px=config.shift_px,
        encoder_lr_scale=config.encoder_lr_scale,
        anchor_weight=config.anchor_weight,
        hard_frac=config.hard_frac,
        fail_decay=config.fail_decay,
        eval_every=0,
        seed=config.seed,
        device=config.device,
    )
    hist = train(model, store, tc, val_episodes=None, log_dir=log_dir, progress=progress)
    hist["store_episodes"] = len(store)
    return hist
