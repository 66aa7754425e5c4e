"""Imitation training of a multi-task :class:`VLAPolicy` (token cross-entropy, EMA weights).

Reads top to bottom: windows from every task's episodes -> one instruction table (each task's
own instruction + hand-written paraphrases, embedded once) -> state/action statistics and the
tokenizer's action range -> AdamW + cosine LR over ``steps`` minibatches; every window gets a
random paraphrase of its task at every step, so the policy learns the meaning, not one string.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from robo.policy.train import random_shift
from robo.policy.vla.instructions import paraphrases
from robo.policy.vla.model import VLAConfig, VLAPolicy, embed_texts
from robo.policy.windows import episode_windows
from robo.types import Episode


@dataclass
class VLATrainConfig:
    """steps: optimiser steps. batch_size: windows per step. lr: peak AdamW rate.
    weight_decay: AdamW decay. ema: EMA decay of the kept weights (0 = keep the last weights).
    shift_px: random-shift image augmentation [px]. state_noise: std of Gaussian noise added to
    the normalised state (robustness to off-demo states). paraphrase: train on paraphrases
    (False = only each episode's own instruction). seed: RNG seed. log_every: steps per log line.
    """

    steps: int = 3000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    ema: float = 0.995
    shift_px: int = 4
    state_noise: float = 0.0
    paraphrase: bool = True
    seed: int = 0
    log_every: int = 250


class TaskWindows:
    """Every step of every episode as one training window.

    images: uint8[N, V, 3, S, S] or None (state-only), state: float32[N, D], actions:
    float32[N, H, A] (chunks past the end repeat the last action), task: long[N] index into
    ``tasks``; ``texts`` float32[M, 384] embeds ``instructions`` (M strings), and
    ``options[k]`` lists the rows of ``texts`` task ``k`` may be described by.
    """

    def __init__(self, episodes: Sequence[Episode], policy: VLAPolicy, paraphrase: bool = True):
        cfg = policy.config
        if not episodes:
            raise ValueError("no episodes to train on (hint: `robo collect` writes a dataset)")
        self.tasks = sorted({ep.task for ep in episodes})
        canonical = {ep.task: ep.instruction for ep in episodes}
        self.instructions: list[str] = []
        self.options: list[torch.Tensor] = []
        for task in self.tasks:
            texts = paraphrases(task, canonical[task]) if paraphrase else [canonical[task]]
            rows = []
            for t in texts:
                if t not in self.instructions:
                    self.instructions.append(t)
                rows.append(self.instructions.index(t))
            self.options.append(torch.tensor(rows))
        self.texts = embed_texts(self.instructions, cfg.text_backend)
        imgs, states, chunks, task_ids = [], [], [], []
        for ep in episodes:
            t_len = len(ep)
            views, state, chunk = episode_windows(ep, cfg.cameras, cfg.horizon, policy.prepare)
            if views is not None:
                imgs.append(views)
            chunks.append(chunk)
            states.append(state)
            task_ids.append(torch.full((t_len,), self.tasks.index(ep.task)))
        self.images = torch.cat(imgs) if imgs else None
        self.state = torch.cat(states)
        self.actions = torch.cat(chunks)
        self.task = torch.cat(task_ids)
        if self.state.shape[1] != cfg.state_dim or self.actions.shape[2] != cfg.action_dim:
            raise ValueError(
                f"data has state_dim={self.state.shape[1]}, action_dim={self.actions.shape[2]}; "
                f"policy expects {cfg.state_dim}, {cfg.action_dim} (hint: every task must share "
                "one action space and state layout)"
            )

    def __len__(self) -> int:
        return int(self.state.shape[0])

    def batch(
        self, idx: torch.Tensor, shift_px: int, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """Windows ``idx`` with one random paraphrase each (and shifted images)."""
        rows = torch.empty(len(idx), dtype=torch.long)
        for k, opts in enumerate(self.options):
            sel = self.task[idx] == k
            if bool(sel.any()):
                pick = torch.randint(0, len(opts), (int(sel.sum()),), generator=generator)
                rows[sel] = opts[pick]
        out = {"state": self.state[idx], "actions": self.actions[idx], "text": self.texts[rows]}
        if self.images is not None:
            imgs = self.images[idx].float()
            out["images"] = random_shift(imgs, shift_px, generator) if shift_px > 0 else imgs
        return out


def train_vla(
    episodes: Sequence[Episode],
    policy_config: VLAConfig,
    train: VLATrainConfig | None = None,
    log: Callable[[str], None] = print,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> tuple[VLAPolicy, dict]:
    """Train a VLA by imitation on ``episodes`` (any mix of tasks sharing the action space).

    Returns the EMA policy (eval mode, on ``device``) and stats: ``loss_first``, ``loss_last``
    (mean token NLL [nats] of the first / last 10% of steps), ``confident_last`` (fraction of
    demonstrated tokens given probability > 0.5, last 10%), ``steps``,
    ``seconds``, ``windows``, ``tasks``, ``instructions``.
    """
    train = train or VLATrainConfig()
    torch.manual_seed(train.seed)
    policy = VLAPolicy(policy_config)
    data = TaskWindows(episodes, policy, paraphrase=train.paraphrase)
    policy.fit_normalizer(data.actions.reshape(-1, policy_config.action_dim), data.state)
    tokenizer_stats = policy.fit_tokenizer(data.actions)  # FAST: BPE on the training chunks
    policy.to(device)
    ema = copy.deepcopy(policy).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(policy.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    warmup = max(1, min(200, train.steps // 10))

    def lr_scale(s: int) -> float:
        return (
            min(1.0, (s + 1) / warmup)
            * 0.5
            * (1 + np.cos(np.pi * min(s, train.steps) / train.steps))
        )

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_scale)
    g = torch.Generator().manual_seed(train.seed)
    losses: list[float] = []
    confident: list[float] = []
    t0 = time.time()
    policy.train()
    bar = tqdm(range(train.steps), desc="train vla", disable=not progress, mininterval=5)
    for step in bar:
        idx = torch.randint(0, len(data), (min(train.batch_size, len(data)),), generator=g)
        batch = {k: v.to(device) for k, v in data.batch(idx, train.shift_px, g).items()}
        if train.state_noise > 0:
            std = policy.normalizer.state_std
            batch["state"] = batch["state"] + train.state_noise * std * torch.randn_like(
                batch["state"]
            )
        tokens = policy.tokenizer.encode(batch["actions"])
        logp = policy.token_log_probs_from_batch(batch, tokens)
        counted = policy.tokenizer.token_mask(tokens)  # FAST: up to EOS; bins: every token
        loss = -logp.sum() / counted.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        sched.step()
        decay = min(train.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), policy.parameters()):
                pe.lerp_(p, 1 - decay)
            for be, b in zip(ema.buffers(), policy.buffers()):
                be.copy_(b)
        losses.append(loss.item())
        confident.append(float((logp.detach() > np.log(0.5))[counted].float().mean()))
        if step % train.log_every == 0 or step == train.steps - 1:
            msg = f"step {step:5d}  nll {np.mean(losses[-train.log_every :]):.3f}  {time.time() - t0:.0f}s"
            if progress:
                bar.set_postfix_str(msg)
            else:
                log(msg)
    tail = max(1, len(losses) // 10)
    stats = {
        "loss_first": float(np.mean(losses[:tail])),
        "loss_last": float(np.mean(losses[-tail:])),
        "confident_last": float(np.mean(confident[-tail:])),
        "steps": train.steps,
        "seconds": time.time() - t0,
        "windows": len(data),
        "tasks": data.tasks,
        "instructions": len(data.instructions),
        **{f"tokenizer_{k}": v for k, v in tokenizer_stats.items()},
    }
    ema.meta = {"tasks": data.tasks}
    for p in ema.parameters():  # the returned policy is fine-tunable (RFT/TPO), like a loaded one
        p.requires_grad_(True)
    return ema.eval(), stats
