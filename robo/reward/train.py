"""Training loop of the reward model: balanced pairs -> soft hop-bin cross-entropy.

Reads top to bottom: build the store, then for each step sample a batch, augment frames
(random shifts), encode each unique frame once, score all pairs, step AdamW (cosine LR), log
to TensorBoard, and now and then score held-out episodes (VOC-S, AUROC) to keep the best.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from robo.reward.evaluate import score_for_metrics
from robo.reward.metrics import compute_metrics
from robo.reward.model import ProgressRewardModel
from robo.reward.pairs import Batch, EpisodeStore
from robo.types import Episode


@dataclass
class TrainConfig:
    """Options of :func:`train`.

    Attributes:
        steps: optimisation steps (upper bound; ``time_limit_s`` may stop earlier).
        time_limit_s: wall-clock budget of the loop [s] (0 = none).
        lr, weight_decay: AdamW settings; the LR follows a cosine to 5% of ``lr``.
        episodes_per_batch, frames_per_episode, pairs_per_batch: batch shape (see pairs.py).
        swap_prob: probability an episode's instruction is swapped (negative).
        goal_dropout: probability a pair hides its goal reference.
        hard_frac: share of each batch's pairs drawn from hard negatives (failure frames and
            demo -> failure cross pairs, see :mod:`robo.reward.pairs`); 0 = off (the library
            default; configs/train_reward.yaml turns it on for ``robo train-reward``).
        fail_decay: target regress of a failure episode per demo length of its time (pairs
            forward in time inside a failure, see :mod:`robo.reward.pairs`); 0 = off.
        shift_px: random image shift for augmentation [px].
        encoder_lr_scale: the per-view encoder's LR as a share of ``lr`` (0 = frozen: only
            fusion, embeddings and head train; fine-tuning uses it to keep features shared).
        anchor_weight: L2-SP pull to the weights at the start of training, adding
            ``anchor_weight * sum((theta - theta_0)^2)`` to the loss (0 = off).
        eval_every: steps between held-out evaluations (0 = only at the end).
        seed: RNG seed; device: ``"cpu"`` or ``"cuda"``.
    """

    steps: int = 3000
    time_limit_s: float = 0.0
    lr: float = 1e-3
    weight_decay: float = 1e-4
    episodes_per_batch: int = 8
    frames_per_episode: int = 6
    pairs_per_batch: int = 192
    swap_prob: float = 0.15
    goal_dropout: float = 0.3
    hard_frac: float = 0.0
    fail_decay: float = 0.0
    shift_px: int = 4
    encoder_lr_scale: float = 1.0
    anchor_weight: float = 0.0
    eval_every: int = 250
    seed: int = 0
    device: str = "cpu"


def random_shift(frames: torch.Tensor, pad: int, gen: torch.Generator) -> torch.Tensor:
    """Shift each image of uint8[N, V, H, W, 3] by up to ``pad`` px (edge padding)."""
    if pad <= 0:
        return frames
    n, v, h, w, c = frames.shape
    x = frames.reshape(n * v, h, w, c).permute(0, 3, 1, 2).float()
    x = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    dx = torch.randint(0, 2 * pad + 1, (n * v,), generator=gen)
    dy = torch.randint(0, 2 * pad + 1, (n * v,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None]).clamp(max=h + 2 * pad - 1)
    cols = (dx[:, None] + torch.arange(w)[None]).clamp(max=w + 2 * pad - 1)
    idx = torch.arange(n * v)[:, None, None]
    out = x.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]]
    return out.to(torch.uint8).reshape(n, v, h, w, c)


def batch_loss(
    model: ProgressRewardModel, batch: Batch, device: str, gen: torch.Generator, shift_px: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-target cross-entropy over hop bins and the mean |hop error| of the batch."""
    frames = random_shift(batch.frames, shift_px, gen).to(device)
    emb = model.encode(frames)
    b = {k: getattr(batch, k).to(device) for k in ("before", "after", "start", "goal")}
    logits = model.hop_logits(
        emb[b["before"]],
        emb[b["after"]],
        batch.text.to(device),
        emb[b["start"]],
        emb[b["goal"]],
        batch.view_mask.to(device),
        batch.goal_mask.to(device),
    )
    target = model.bins.soft_targets(batch.hop.to(device))
    loss = -(target * logits.log_softmax(-1)).sum(-1).mean()
    mean, _ = model.bins.mean_std(logits.detach())
    return loss, (mean - batch.hop.to(device)).abs().mean()


VOC_FAIL_TARGET = 0.3


def selection_score(m: dict[str, float | None]) -> float:
    """Which held-out evaluation's weights to keep: voc_s + auroc - max(0, voc_fail - 0.3).

    voc_fail counts only above its target: on a handful of failures, rewarding it further
    kept a 26-task run's step-500 weights (voc_fail 0.01, voc_s 0.85) over step 2500's
    (voc_fail 0.21, voc_s 0.94; bench/results/reward_default_s4.json).
    """
    fail = max(0.0, (m.get("voc_fail") or 0.0) - VOC_FAIL_TARGET)
    return (m.get("voc_s") or 0.0) + (m.get("auroc") or 0.0) - fail


def _optimizer(
    model: ProgressRewardModel, config: TrainConfig
) -> tuple[torch.optim.AdamW, list[torch.nn.Parameter]]:
    """AdamW with the encoder in its own LR group; returns it and the frozen parameters."""
    if config.encoder_lr_scale < 0:
        raise ValueError(f"encoder_lr_scale={config.encoder_lr_scale} must be >= 0")
    enc = list(model.encoder.parameters())
    enc_ids = {id(p) for p in enc}
    rest = [p for p in model.parameters() if id(p) not in enc_ids]
    groups = [{"params": rest, "lr_scale": 1.0}]
    frozen: list[torch.nn.Parameter] = []
    if config.encoder_lr_scale > 0:
        groups.append({"params": enc, "lr_scale": config.encoder_lr_scale})
    else:  # no gradient through the encoder at all (also skips its backward pass)
        frozen = [p for p in enc if p.requires_grad]
        for p in frozen:
            p.requires_grad_(False)
    opt = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    return opt, frozen


def quick_eval(
    model: ProgressRewardModel,
    episodes: list[Episode],
    demos: dict[str, list[Episode]] | None = None,
) -> dict[str, float | None]:
    """Metrics on held-out episodes (no reversed scoring, to stay quick); goal frames from
    ``demos`` (task -> training demos) when given."""
    was_training = model.training
    model.eval()
    scored, _ = score_for_metrics(model, episodes, demos, reverse=False)
    model.train(was_training)
    return compute_metrics(scored)


def train(
    model: ProgressRewardModel,
    store: EpisodeStore,
    config: TrainConfig,
    val_episodes: list[Episode] | None = None,
    log_dir: str | Path | None = None,
    progress: bool = True,
    replay: EpisodeStore | None = None,
    replay_frac: float = 0.0,
    val_demos: dict[str, list[Episode]] | None = None,
) -> dict[str, Any]:
    """Train ``model`` in place; returns a history dict (loss, val metrics, steps, seconds).

    ``val_demos`` (task -> training demos) gives the held-out evaluation its goal frames; without
    it they come from other held-out experts of the same task, if any.

    With ``replay`` and ``replay_frac`` > 0, that fraction of batches comes from ``replay``
    (one-shot adaptation keeps the base data in view so the model does not forget).
    """
    from tqdm.auto import tqdm

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model.to(config.device).train()
    opt, frozen = _optimizer(model, config)
    anchor = None
    if config.anchor_weight > 0:
        anchor = [(p, p.detach().clone()) for g in opt.param_groups for p in g["params"]]

    def set_lr(step: int, elapsed: float) -> float:
        # Cosine to 5% over the run; with a time limit the run's end is whichever comes first.
        frac = step / max(config.steps, 1)
        if config.time_limit_s > 0:
            frac = max(frac, elapsed / config.time_limit_s)
        lr = config.lr * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * min(frac, 1.0))))
        for group in opt.param_groups:
            group["lr"] = lr * group["lr_scale"]
        return lr

    writer = None
    if log_dir is not None:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(log_dir))
    history: dict[str, Any] = {"loss": [], "hop_mae": [], "val": [], "config": asdict(config)}
    best, best_score = None, -np.inf
    t0 = time.monotonic()
    bar = tqdm(range(config.steps), disable=not progress, desc="train-reward", dynamic_ncols=True)
    step = 0
    for step in bar:
        src = replay if replay is not None and rng.random() < replay_frac else store
        batch = src.sample_batch(
            rng,
            model.bins,
            config.episodes_per_batch,
            config.frames_per_episode,
            config.pairs_per_batch,
            config.swap_prob,
            model.config.view_dropout,
            config.goal_dropout,
            hard_frac=config.hard_frac,
            fail_decay=config.fail_decay,
        )
        loss, mae = batch_loss(model, batch, config.device, gen, config.shift_px)
        opt.zero_grad(set_to_none=True)
        total = loss
        if anchor is not None:
            total = loss + config.anchor_weight * sum(((p - p0) ** 2).sum() for p, p0 in anchor)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        lr = set_lr(step, time.monotonic() - t0)
        opt.step()
        history["loss"].append(loss.item())
        history["hop_mae"].append(float(mae))
        if writer is not None:
            writer.add_scalar("train/loss", loss.item(), step)
            writer.add_scalar("train/hop_mae", float(mae), step)
            writer.add_scalar("train/lr", lr, step)
        bar.set_postfix(loss=f"{loss.item():.3f}", mae=f"{float(mae):.3f}")
        out_of_time = config.time_limit_s > 0 and time.monotonic() - t0 > config.time_limit_s
        last = step == config.steps - 1 or out_of_time
        if val_episodes and ((config.eval_every and (step + 1) % config.eval_every == 0) or last):
            m = quick_eval(model, val_episodes, val_demos)
            m["step"] = step + 1
            history["val"].append(m)
            score = selection_score(m)
            if writer is not None:
                for k, val in m.items():
                    if val is not None:
                        writer.add_scalar(f"val/{k}", val, step)
            if score > best_score:
                best_score, best = score, copy.deepcopy(model.state_dict())
                history["best_step"] = step + 1
        if out_of_time:
            break
    for p in frozen:
        p.requires_grad_(True)
    if best is not None:
        model.load_state_dict(best)
    model.eval()
    if val_episodes:
        from robo.reward.labels import progress_labels
        from robo.reward.scoring import calibrate_std

        labels = [progress_labels(e) for e in val_episodes]
        history["std_scale"] = calibrate_std(model, val_episodes, labels)
    if writer is not None:
        writer.close()
    history["steps"] = step + 1
    history["seconds"] = time.monotonic() - t0
    model.eval()
    return history
