"""Ensembles of reward models: the mean progress of independently trained members.

Each member scores the episode on its own (its own embeddings, perspectives and fusion), and
the ensemble's Φ is the mean of the members' fused Φ; its std adds the spread between members
to their mean variance, ``std² = mean(std_k²) + var_k(Φ_k)`` (the variance of an equal mixture).
Members must see the same cameras at the same image size (checked on load).

On the session-10 test split two seeds of the default recipe scored voc_s 0.943 and 0.944 alone
and 0.954 as an ensemble (docs/BENCHMARKS.md); the price is one scoring pass per member.

Use: ``robo eval-reward ckpt=[a,b]``, ``robo rl progress=[a,b]``, ``robo rft grm=[a,b]``,
``robo tpo reward=[a,b]`` or, in code, :func:`load_ensemble` then
:func:`score_episode_ensemble` / :class:`EnsembleTracker`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from robo.reward.model import ProgressRewardModel
from robo.reward.scoring import ProgressTrace, ProgressTracker, score_episode
from robo.types import Episode


def split_ckpts(spec: str | Sequence[str]) -> list[str]:
    """``"a,b"`` or ``["a", "b"]`` -> ``["a", "b"]`` (blank entries dropped)."""
    items = spec.split(",") if isinstance(spec, str) else [str(s) for s in spec]
    return [s.strip() for s in items if s.strip()]


def as_members(model: ProgressRewardModel | Sequence[ProgressRewardModel]) -> list:
    """One reward model or an ensemble's members -> the list of members."""
    return list(model) if isinstance(model, list | tuple) else [model]


def check_members(models: Sequence[ProgressRewardModel], names: Sequence[str]) -> None:
    """Raise ValueError unless every member has the first one's cameras and image size."""
    if not models:
        raise ValueError("an ensemble needs at least one checkpoint (hint: ckpt=<dir>[,<dir>...])")
    ref = models[0].config
    for m, name in zip(models[1:], names[1:]):
        c = m.config
        if list(c.views) != list(ref.views) or c.image_size != ref.image_size:
            raise ValueError(
                f"ensemble member {name} sees {list(c.views)} at {c.image_size} px, the first "
                f"member {list(ref.views)} at {ref.image_size} px (hint: ensemble checkpoints "
                "trained on the same cameras and image size)"
            )


def load_ensemble(spec: str | Sequence[str], device: str = "cpu") -> list[ProgressRewardModel]:
    """Load the members named by ``spec`` (comma-separated checkpoint dirs) and check them."""
    from robo.reward.checkpoint import load_checkpoint

    names = split_ckpts(spec)
    models = [load_checkpoint(n, device=device) for n in names]
    check_members(models, names)
    return models


def combine(phis: Sequence[np.ndarray], stds: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Mean Φ and mixture std of K members' (Φ, std), each float[...] of one shape."""
    phi = np.mean(np.stack(phis), axis=0)
    var = np.mean(np.square(np.stack(stds)), axis=0) + np.var(np.stack(phis), axis=0)
    return phi, np.sqrt(var)


def combine_traces(traces: Sequence[ProgressTrace]) -> ProgressTrace:
    """One trace from the members' traces (per-perspective estimates averaged the same way)."""
    if len(traces) == 1:
        return traces[0]
    phi, std = combine([t.phi for t in traces], [t.std for t in traces])
    persp, persp_std = {}, {}
    for k in set.intersection(*(set(t.perspectives) for t in traces)):
        persp[k], persp_std[k] = combine(
            [t.perspectives[k] for t in traces], [t.perspective_std[k] for t in traces]
        )
    weights = None
    if all(t.weights is not None for t in traces):
        weights = np.mean(np.stack([t.weights for t in traces]), axis=0)
    return ProgressTrace(phi, std, persp, persp_std, weights)


def score_episode_ensemble(
    models: Sequence[ProgressRewardModel], ep: Episode, **kwargs
) -> ProgressTrace:
    """:func:`robo.reward.scoring.score_episode` by every member, combined."""
    return combine_traces([score_episode(m, ep, **kwargs) for m in models])


class EnsembleTracker:
    """Online progress of an ensemble: one :class:`ProgressTracker` per member, combined."""

    def __init__(
        self,
        models: Sequence[ProgressRewardModel],
        instruction: str,
        goal_images: Mapping[str, np.ndarray] | None = None,
    ):
        self.trackers = [ProgressTracker(m, instruction, goal_images) for m in models]

    def _combine(self, outs: list[tuple[float, float]]) -> tuple[float, float]:
        phi, std = combine(*zip(*outs))
        return float(phi), float(std)

    def reset(self, images: Mapping[str, np.ndarray]) -> tuple[float, float]:
        """Start an episode from its first observation's images; returns (Φ_0, std)."""
        return self._combine([t.reset(images) for t in self.trackers])

    def step(self, images: Mapping[str, np.ndarray]) -> tuple[float, float]:
        """(Φ, std) after a new observation's camera images (dict of uint8[H, W, 3])."""
        return self._combine([t.step(images) for t in self.trackers])
