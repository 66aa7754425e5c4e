"""A learned chunk critic Q(state, chunk), distilled from a progress function (V-GPS style).

The critic regresses, for every window of a rollout, the progress reached after executing the
chunk: ``Q(s_t, a_{t:t+H}) ~ Phi(s_{min(t+H, T-1)})`` with Phi from the general reward model
(or the sim's privileged ``progress_gt``). Rollouts of every kind (expert, noisy, failure,
policy) are what make chunks distinguishable. :class:`CriticCost` turns it into a steering
cost ``-Q`` so the GRM can steer any sampler (guidance, particles, best-of-N).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from robo.types import Episode

ProgressFn = Callable[[Episode], np.ndarray]
"""``progress_fn(episode) -> float[T]`` in [0, 1]: the sim's ``progress_gt``
(:func:`progress_from_gt`) or the GRM, e.g.
``lambda ep: robo.reward.scoring.score_episode(grm, ep).phi``."""


def progress_from_gt(episode: Episode) -> np.ndarray:
    """The sim's privileged progress of an episode, float[T] (NaN -> 0)."""
    return np.nan_to_num(np.asarray(episode.progress_gt, dtype=np.float32))


@dataclass
class CriticConfig:
    """state_dim: D. action_dim: A. horizon: H. hidden: MLP width. layers: hidden layers."""

    state_dim: int
    action_dim: int
    horizon: int
    hidden: int = 256
    layers: int = 3


class ChunkCritic(nn.Module):
    """Q(state float[B, D], chunk float[B, H, A]) -> float[B] (progress after the chunk).

    Owns its input normalisation (buffers, saved with the weights).
    """

    def __init__(self, config: CriticConfig):
        super().__init__()
        self.config = config
        d_in = config.state_dim + config.horizon * config.action_dim
        dims = [d_in] + [config.hidden] * config.layers
        mods: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            mods += [nn.Linear(a, b), nn.LayerNorm(b), nn.Mish()]
        self.mlp = nn.Sequential(*mods, nn.Linear(dims[-1], 1))
        self.register_buffer("state_mean", torch.zeros(config.state_dim))
        self.register_buffer("state_std", torch.ones(config.state_dim))
        self.register_buffer("action_mean", torch.zeros(config.action_dim))
        self.register_buffer("action_std", torch.ones(config.action_dim))

    def forward(self, state: torch.Tensor, chunk: torch.Tensor) -> torch.Tensor:
        s = (state - self.state_mean) / self.state_std
        a = (chunk - self.action_mean) / self.action_std
        return self.mlp(torch.cat([s, a.flatten(1)], dim=-1)).squeeze(-1)

    def save(self, path: str | Path) -> None:
        """Write ``path/critic.safetensors`` + ``path/critic.json``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file(
            {k: v.contiguous() for k, v in self.state_dict().items()},
            str(path / "critic.safetensors"),
        )
        (path / "critic.json").write_text(json.dumps(asdict(self.config)))

    @classmethod
    def load(cls, path: str | Path) -> ChunkCritic:
        path = Path(path)
        if not (path / "critic.safetensors").exists():
            raise FileNotFoundError(
                f"no critic.safetensors in {path} (hint: train one with distill_critic)"
            )
        critic = cls(CriticConfig(**json.loads((path / "critic.json").read_text())))
        critic.load_state_dict(load_file(str(path / "critic.safetensors")))
        return critic.eval()


def critic_windows(
    episodes: Sequence[Episode], progress_fn: ProgressFn, horizon: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(states float[N, D], chunks float[N, H, A], targets float[N])`` from every step of
    every episode; chunks past the end repeat the last action."""
    states, chunks, targets = [], [], []
    for ep in episodes:
        t_len = len(ep)
        if t_len == 0:
            continue
        phi = np.asarray(progress_fn(ep), dtype=np.float32)
        if phi.shape != (t_len,):
            raise ValueError(
                f"progress_fn returned shape {phi.shape} for an episode of length {t_len}"
            )
        idx = np.minimum(np.arange(t_len)[:, None] + np.arange(horizon)[None], t_len - 1)
        states.append(ep.state)
        chunks.append(ep.action[idx])
        targets.append(phi[np.minimum(np.arange(t_len) + horizon, t_len - 1)])
    if not states:
        raise ValueError("distilling a critic needs at least one non-empty episode")
    return np.concatenate(states), np.concatenate(chunks), np.concatenate(targets)


def distill_critic(
    episodes: Sequence[Episode],
    progress_fn: ProgressFn = progress_from_gt,
    horizon: int = 16,
    steps: int = 2000,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    hidden: int = 256,
    log: Callable[[str], None] | None = None,
) -> ChunkCritic:
    """Fit a :class:`ChunkCritic` to progress-after-chunk targets by MSE (Adam, cosine LR)."""
    states, chunks, targets = critic_windows(episodes, progress_fn, horizon)
    torch.manual_seed(seed)
    critic = ChunkCritic(CriticConfig(states.shape[1], chunks.shape[2], horizon, hidden=hidden))
    s, a, y = (torch.from_numpy(np.ascontiguousarray(v)).float() for v in (states, chunks, targets))
    critic.state_mean.copy_(s.mean(0))
    critic.state_std.copy_(s.std(0).clamp_min(1e-3))
    flat = a.reshape(-1, a.shape[-1])
    critic.action_mean.copy_(flat.mean(0))
    critic.action_std.copy_(flat.std(0).clamp_min(1e-3))
    opt = torch.optim.AdamW(critic.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    g = torch.Generator().manual_seed(seed)
    critic.train()
    for step in range(steps):
        i = torch.randint(0, len(y), (min(batch_size, len(y)),), generator=g)
        loss = torch.nn.functional.mse_loss(critic(s[i], a[i]), y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if log and (step % 500 == 0 or step == steps - 1):
            log(f"critic step {step}: mse {loss.item():.4f}")
    return critic.eval()


class CriticCost:
    """Steering cost ``-Q(state, chunk)``: ``cost(actions [B, H, A], context) -> float[B]``.

    The state comes from ``context["obs"]["state"]``: its first ``config.state_dim`` entries
    (the environment's own state; privileged entries a wrapper appends after it, such as
    ``goal_in_state``'s goal, are not seen by the critic). Chunks longer/shorter than the
    critic's horizon are cut / padded with their last action.
    """

    def __init__(self, critic: ChunkCritic, weight: float = 1.0):
        self.critic, self.weight = critic, float(weight)
        for p in critic.parameters():
            p.requires_grad_(False)

    def __call__(self, actions: torch.Tensor, context: dict[str, Any]) -> torch.Tensor:
        h = self.critic.config.horizon
        if actions.shape[1] < h:
            pad = actions[:, -1:].expand(-1, h - actions.shape[1], -1)
            actions = torch.cat([actions, pad], dim=1)
        state = torch.as_tensor(context["obs"]["state"], dtype=actions.dtype)
        d = self.critic.config.state_dim
        if state.shape[-1] < d:
            raise ValueError(
                f"the critic expects a state of {d} entries, the observation has "
                f"{state.shape[-1]} (hint: distill it on episodes of the task the policy runs)"
            )
        state = state[..., :d].to(actions.device).expand(actions.shape[0], -1)
        critic = self.critic.to(device=actions.device, dtype=actions.dtype)
        return -self.weight * critic(state, actions[:, :h])
