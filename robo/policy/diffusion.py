"""Diffusion policy over action chunks: DDPM training, DDIM sampling through our own loop.

The policy conditions on every configured camera + proprioceptive state (+ the instruction,
optionally), predicts the noise of a normalised chunk float[H, A] with a FiLM U-Net, and
samples with :class:`robo.policy.ddim.DDIMProcess`, which a :mod:`robo.steer` object can drive
step by step without touching the parameters.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from robo.policy.ddim import DDIMProcess, cosine_alphas_cumprod, sample_plain
from robo.policy.nets import ConditionalUnet1D, ObsEncoder, hash_tokens
from robo.policy.normalizer import Normalizer
from robo.types import Observation


@dataclass
class DiffusionConfig:
    """Architecture and sampling options (saved as ``config.json`` next to the weights).

    Attributes:
        action_dim: A. state_dim: D. horizon: H [control steps]. executed: executed prefix.
        cameras: views the policy looks at, in order (empty = state-only policy). image_size: side the views are resized to [px].
        unet_dims: U-Net channel widths. kernel: temporal kernel. view_dim: per-view feature size.
        instruction_buckets: hashed-word vocabulary (0 = ignore the instruction).
        num_train_steps: DDPM timesteps T. num_inference_steps: DDIM steps K.
        eta: DDIM stochasticity for unsteered sampling.
    """

    action_dim: int
    state_dim: int
    horizon: int = 16
    executed: int = 8
    cameras: tuple[str, ...] = ("front", "side", "wrist")
    image_size: int = 64
    unet_dims: tuple[int, ...] = (48, 96)
    kernel: int = 5
    view_dim: int = 64
    instruction_buckets: int = 0
    num_train_steps: int = 100
    num_inference_steps: int = 10
    eta: float = 0.0
    family: str = field(default="diffusion", init=False)

    def __post_init__(self) -> None:
        self.cameras = tuple(self.cameras)
        self.unet_dims = tuple(self.unet_dims)
        if not 1 <= self.executed <= self.horizon:
            raise ValueError(f"executed={self.executed} must be in [1, horizon={self.horizon}]")
        factor = 2 ** (len(self.unet_dims) - 1)
        if self.horizon % factor:
            raise ValueError(
                f"horizon={self.horizon} must be divisible by {factor} for unet_dims={self.unet_dims}"
            )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["cameras"], d["unet_dims"] = list(self.cameras), list(self.unet_dims)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DiffusionConfig:
        d = dict(d)
        d.pop("family", None)
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = set(d) - names
        if unknown:
            raise ValueError(
                f"unknown diffusion config keys {sorted(unknown)}; known: {sorted(names)}"
            )
        return cls(**d)


class DiffusionPolicy(nn.Module):
    """A :class:`robo.policy.base.ChunkPolicy` backed by a conditional DDPM.

    ``sample`` returns float32[n, H, A] in action units; ``last_info`` then holds ``nfe``
    (network evaluations per chunk, all particles counted), ``calls`` and steering extras.
    """

    def __init__(self, config: DiffusionConfig):
        super().__init__()
        self.config = config
        self.horizon, self.action_dim, self.executed = (
            config.horizon,
            config.action_dim,
            config.executed,
        )
        self.normalizer = Normalizer(config.action_dim, config.state_dim)
        self.encoder = ObsEncoder(
            len(config.cameras), config.state_dim, config.view_dim,
            instruction_buckets=config.instruction_buckets,
        )  # fmt: skip
        self.unet = ConditionalUnet1D(
            config.action_dim, self.encoder.out_dim, config.unet_dims, config.kernel
        )
        self.register_buffer(
            "alphas_cumprod",
            cosine_alphas_cumprod(config.num_train_steps).float(),
            persistent=False,
        )
        self.last_info: dict[str, Any] = {}

    # -- observation handling -------------------------------------------------------------
    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """uint8/float images [B, V, S0, S0, 3] -> float[B, V, 3, S, S] in [0, 255]."""
        b, v = images.shape[:2]
        x = images.float().permute(0, 1, 4, 2, 3).reshape(b * v, 3, *images.shape[2:4])
        s = self.config.image_size
        if x.shape[-1] != s or x.shape[-2] != s:
            x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False, antialias=True)
        return x.view(b, v, 3, s, s)

    def batch_from_obs(self, obs: Observation) -> dict[str, torch.Tensor]:
        """One observation -> the tensors the encoder needs (batch of 1)."""
        missing = [c for c in self.config.cameras if c not in obs["images"]]
        if missing:
            raise ValueError(
                f"observation lacks cameras {missing}; the policy needs {list(self.config.cameras)}"
                " (hint: build the env with render=True and those cameras)"
            )
        state = np.asarray(obs["state"], dtype=np.float32)[None]
        if state.shape[1] != self.config.state_dim:
            raise ValueError(
                f"state has {state.shape[1]} dims, the policy expects {self.config.state_dim}"
            )
        batch = {"state": torch.from_numpy(state)}
        if self.config.cameras:
            imgs = np.stack([obs["images"][c] for c in self.config.cameras])[None]
            batch["images"] = self.prepare(torch.from_numpy(imgs))
        if self.config.instruction_buckets:
            ids = hash_tokens(obs.get("instruction", ""), self.config.instruction_buckets)
            batch["tokens"] = torch.tensor([ids])
        return batch

    def condition(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Conditioning vectors float[B, cond_dim] from prepared images and raw state."""
        state = self.normalizer.normalize_state(batch["state"])
        return self.encoder(batch.get("images"), state, batch.get("tokens"))

    # -- training -------------------------------------------------------------------------
    def loss(
        self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """DDPM epsilon-prediction MSE for a batch with ``actions`` float[B, H, A] (action units)."""
        x0 = self.normalizer.normalize_action(batch["actions"])
        b = x0.shape[0]
        t = torch.randint(0, self.config.num_train_steps, (b,), generator=generator)
        noise = torch.randn(x0.shape, generator=generator)
        a = self.alphas_cumprod[t].view(b, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        pred = self.unet(xt, t, self.condition(batch))
        return F.mse_loss(pred, noise)

    # -- sampling -------------------------------------------------------------------------
    def process(
        self, obs: Observation, eta: float | None = None, generator: torch.Generator | None = None
    ) -> DDIMProcess:
        """A fresh denoising process for ``obs`` (conditioning encoded once, frozen network)."""
        with torch.no_grad():
            cond = self.condition(self.batch_from_obs(obs))

        def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return self.unet(x, t, cond.expand(x.shape[0], -1))

        return DDIMProcess(
            eps_fn,
            self.alphas_cumprod,
            self.config.num_inference_steps,
            (self.horizon, self.action_dim),
            to_actions=self.normalizer.unnormalize_action,
            eta=self.config.eta if eta is None else eta,
            context={"obs": obs},
            generator=generator,
        )

    def sample(
        self,
        obs: Observation,
        n: int = 1,
        steer: Any | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """``n`` chunks float32[n, H, A] (action units, CPU, no grad).

        ``steer`` is any object with ``run(process, n) -> (chunks_normalised, info)``
        (:mod:`robo.steer`); it may ask for a stochastic process via ``steer.eta``.
        """
        was_training = self.training
        self.eval()
        try:
            proc = self.process(obs, eta=getattr(steer, "eta", None), generator=generator)
            if steer is None:
                x, info = sample_plain(proc, n), {}
            else:
                x, info = steer.run(proc, n)
            with torch.no_grad():
                actions = self.normalizer.unnormalize_action(x.clamp(-1, 1)).float()
        finally:
            self.train(was_training)
        self.last_info = {"nfe": proc.nfe, "calls": proc.calls, **info}
        return actions.detach()

    def log_prob(self, obs: Observation, chunks: torch.Tensor) -> torch.Tensor:
        """Diffusion models have no tractable likelihood here."""
        raise NotImplementedError(
            "DiffusionPolicy has no tractable log_prob; use a policy family that defines one"
        )

    def save(self, path: str | Path) -> None:
        """Write ``path/model.safetensors`` + ``path/config.json``."""
        from robo.policy.checkpoint import save_policy

        save_policy(self, path)
