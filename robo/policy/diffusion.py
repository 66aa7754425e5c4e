"""Diffusion policy over action chunks: DDPM training, DDIM sampling through our own loop.

The policy conditions on every configured camera + proprioceptive state (+ the instruction,
optionally), predicts the noise of a normalised chunk float[H, A] with a FiLM U-Net, and
samples with :class:`robo.policy.ddim.DDIMProcess`, which a :mod:`robo.steer` object can drive
step by step without touching the parameters.

Fast sampling path (``policy.fast``, on by default; ``False`` = plain eager ``unet(x, t, cond)``):
the conditioning is fixed for a chunk and DDIM visits K known timesteps, so the time embedding
and every block's FiLM projection are computed once per chunk for all K steps
(:meth:`ConditionalUnet1D.film_table`), the trunk's weights are laid out once per chunk
(:meth:`ConditionalUnet1D.fast_weights`), and each network call runs only the convolutional
trunk as time-major matrix products (:meth:`ConditionalUnet1D.forward_fast`). On CPU that trunk
runs through a ``torch.jit.trace`` of it (deprecated in torch 2.14 but functional; no new
dependency, no compile step), so its ~100 small ops are dispatched from C++ instead of Python.
The trace holds no weights (they are inputs, re-read from the parameters every chunk, so
checkpoints and later weight updates are respected), is built lazily at the first sample per
device/dtype, and is checked against the eager network on that first call (max abs error
<= ``TRACE_ATOL``); on a mismatch or a tracing error it warns once and falls back to the eager
fast trunk, or to the plain network if that does not match either.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from robo.policy.ddim import (
    DDIMProcess,
    StepEpsFn,
    cosine_alphas_cumprod,
    ddim_timesteps,
    sample_plain,
)
from robo.policy.nets import ConditionalUnet1D, FastTrunk, ObsEncoder, hash_tokens
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

    Args:
        config: architecture and sampling options.
        fast: use the fast sampling path (see the module docstring); a plain attribute, not
            saved in checkpoints. ``policy.fast = False`` selects the eager network.
    """

    def __init__(self, config: DiffusionConfig, fast: bool = True):
        super().__init__()
        self.config = config
        self.fast = bool(fast)
        self._trunks = _TrunkCache()
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
        # drawn where the generator lives (CPU by default), then moved: CPU runs are unchanged
        t = torch.randint(0, self.config.num_train_steps, (b,), generator=generator).to(x0.device)
        noise = torch.randn(x0.shape, generator=generator).to(x0.device)
        a = self.alphas_cumprod[t].view(b, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        pred = self.unet(xt, t, self.condition(batch))
        return F.mse_loss(pred, noise)

    # -- sampling -------------------------------------------------------------------------
    def process(
        self, obs: Observation, eta: float | None = None, generator: torch.Generator | None = None
    ) -> DDIMProcess:
        """A fresh denoising process for ``obs`` (conditioning encoded once, frozen network)."""
        device = self.alphas_cumprod.device
        with torch.no_grad():
            cond = self.condition({k: v.to(device) for k, v in self.batch_from_obs(obs).items()})
            # the unnormaliser's span once per chunk, not at every cost call (same ops and
            # order as Normalizer.unnormalize_action, so the same numbers)
            span, low = self.normalizer._span(), self.normalizer.action_low

        def to_actions(x: torch.Tensor) -> torch.Tensor:
            return (x + 1.0) * 0.5 * span + low

        def to_actions_vjp(g: torch.Tensor) -> torch.Tensor:
            return g * span * 0.5

        def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return self.unet(x, t, cond.expand(x.shape[0], -1))

        return DDIMProcess(
            eps_fn,
            self.alphas_cumprod,
            self.config.num_inference_steps,
            (self.horizon, self.action_dim),
            to_actions=to_actions,
            eta=self.config.eta if eta is None else eta,
            context={"obs": obs},
            generator=generator,
            step_eps_fn=self._step_eps_fn(cond) if self.fast else None,
            to_actions_vjp=to_actions_vjp,
        )

    def _step_eps_fn(self, cond: torch.Tensor) -> StepEpsFn:
        """``step_eps_fn(x, k)`` for one chunk: the FiLM terms of the K DDIM timesteps and the
        trunk's weight layout computed once from ``cond`` float[1, cond_dim]; each call runs the
        (traced) trunk only."""
        steps = ddim_timesteps(self.config.num_train_steps, self.config.num_inference_steps)
        with torch.no_grad():
            t = torch.tensor(steps, dtype=torch.long, device=cond.device)
            table = self.unet.film_table(t, cond)
            weights = self.unet.fast_weights()
        per_step: dict[int, list[torch.Tensor]] = {}

        def eager(x: torch.Tensor, k: int) -> torch.Tensor:
            return self.unet(x, t[k].expand(x.shape[0]), cond.expand(x.shape[0], -1))

        def step_eps_fn(x: torch.Tensor, k: int) -> torch.Tensor:
            if k not in per_step:
                per_step[k] = [f[k : k + 1] for f in table] + weights
            inputs = per_step[k]
            with torch.no_grad():
                key = (x.device, x.dtype)
                trunks = self._trunks.modules
                if key not in trunks:
                    trunks[key] = _checked_trunk(FastTrunk(self.unet), x, inputs, eager(x, k))
                trunk = trunks[key]
                return eager(x, k) if trunk is None else trunk(x, *inputs)

        return step_eps_fn

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
        if was_training:  # eval()/train() walk every submodule: only when there is a change
            self.eval()
        try:
            proc = self.process(obs, eta=getattr(steer, "eta", None), generator=generator)
            if steer is None:
                x, info = sample_plain(proc, n), {}
            else:
                x, info = steer.run(proc, n)
            with torch.no_grad():
                actions = self.normalizer.unnormalize_action(x.clamp(-1, 1)).float().cpu()
        finally:
            if was_training:
                self.train()
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


class _TrunkCache:
    """Checked U-Net trunks by (device, dtype) (None: use the eager network); never copied or
    pickled with the policy (a copy builds its own on first use)."""

    def __init__(self) -> None:
        self.modules: dict[
            tuple[torch.device, torch.dtype], Callable[..., torch.Tensor] | None
        ] = {}

    def __deepcopy__(self, memo: dict) -> _TrunkCache:
        return _TrunkCache()

    def __getstate__(self) -> dict:
        return {"modules": {}}


TRACE_ATOL = 1e-5
"""Largest |fast - eager| network output accepted on the first call."""


def _checked_trunk(
    trunk: FastTrunk, x: torch.Tensor, inputs: list[torch.Tensor], reference: torch.Tensor
) -> Callable[..., torch.Tensor] | None:
    """The first of ``torch.jit.trace(trunk)`` (CPU only) and ``trunk`` whose output for
    ``(x, *inputs)`` matches ``reference`` (the eager network's) within :data:`TRACE_ATOL`;
    None (= use the eager network) if neither does. Anything but the trace warns once.
    Off CPU the trace is skipped: kernel launches, not Python dispatch, bound the time there."""
    candidates: list[tuple[str, Callable[..., torch.Tensor]]] = []
    problems: list[str] = []
    if x.device.type == "cpu":
        try:
            with warnings.catch_warnings():
                # torch.jit.trace is deprecated from torch 2.14 (FutureWarning) but works; the
                # eager path stays one attribute away (policy.fast = False)
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                traced = torch.jit.trace(trunk.forward, (x, *inputs), check_trace=False)
                candidates.append(("traced", traced))
        except Exception as exc:  # noqa: BLE001 - any tracing failure means: do not trace
            problems.append(f"tracing the U-Net failed ({type(exc).__name__}: {exc})")
    candidates.append(("fast", trunk))
    for name, module in candidates:
        err = float((module(x, *inputs) - reference).abs().max())
        if err <= TRACE_ATOL:
            if problems:
                warnings.warn(f"{'; '.join(problems)}; using the eager fast U-Net", stacklevel=4)
            return module
        problems.append(
            f"the {name} U-Net differs from the eager one by {err:.2e} > {TRACE_ATOL:g}"
        )
    warnings.warn(
        f"{'; '.join(problems)}; using the eager network (hint: policy.fast = False)", stacklevel=4
    )
    return None
