"""Potentials Φ(s) for shaping: the :class:`ProgressFn` protocol and the sources built on it.

A progress function maps a batch of B observations to progress Φ float64[B] in [0, 1] and an
uncertainty float64[B] (>= 0, larger = less sure; 0 where the source has none). Reward models
see only what a real robot would give them: the camera images and the instruction.
:class:`ImageProgress` strips everything else before calling the model, and
:class:`PrivilegedProgress` reads the simulator's ``info["progress_gt"]`` (upper bound).

Preconditions of policy-invariant shaping enforced here:

* **Markov**: Φ depends on the current state only. A :class:`ProgressFn` may declare
  ``markovian = False`` (e.g. a hop chain over the episode); such a function is refused. The
  wrapper also re-evaluates stored observations now and then and raises
  :class:`NonMarkovianPotentialError` when Φ of the same observation changed.
* **Range**: Φ is finite and in [0, 1] (checked on every batch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from robo.reward.shaping.errors import (
    NonMarkovianPotentialError,
    PotentialRangeError,
    ShapingError,
)


class ProgressEstimate(NamedTuple):
    """Φ float64[B] in [0, 1] and its uncertainty float64[B] (>= 0, 0 = certain)."""

    phi: np.ndarray
    uncertainty: np.ndarray


@runtime_checkable
class ProgressFn(Protocol):
    """A batch progress estimator from images + instruction.

    ``observations[i]`` is ``{"images": {camera: uint8[H, W, 3]}, "instruction": str}``.
    Implementations may set a class attribute ``markovian = False`` to declare that their
    output depends on past calls; the shaping layer refuses those.
    """

    def __call__(self, observations: Sequence[Mapping[str, Any]]) -> ProgressEstimate: ...


def reward_view(obs: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an observation a reward model may see: images and instruction only."""
    if "images" not in obs or not obs["images"]:
        raise ShapingError(
            "observation has no camera images; the reward model needs them "
            "(hint: build the task with render=True)"
        )
    return {"images": obs["images"], "instruction": obs.get("instruction", "")}


def validate_estimate(est: ProgressEstimate | tuple, batch: int, source: str) -> ProgressEstimate:
    """Check shape [B], finiteness and range of an estimate; return it as float64 arrays."""
    phi = np.asarray(est[0], dtype=np.float64).reshape(-1)
    unc = np.asarray(est[1], dtype=np.float64).reshape(-1)
    if phi.shape != (batch,) or unc.shape != (batch,):
        raise PotentialRangeError(
            f"{source}: expected Φ and uncertainty of shape ({batch},), got {phi.shape} and "
            f"{unc.shape} (hint: return one value per observation)"
        )
    if not np.all(np.isfinite(phi)) or phi.min() < -1e-6 or phi.max() > 1 + 1e-6:
        raise PotentialRangeError(
            f"{source}: Φ must be finite and in [0, 1], got min={np.nanmin(phi):.3g} "
            f"max={np.nanmax(phi):.3g} (hint: clip or squash the model's progress)"
        )
    if not np.all(np.isfinite(unc)) or unc.min() < 0:
        raise PotentialRangeError(f"{source}: uncertainty must be finite and >= 0")
    return ProgressEstimate(np.clip(phi, 0.0, 1.0), unc)


class Potential(Protocol):
    """What the shaping layer calls: Φ of B states from their observations and step infos."""

    name: str
    needs_images: bool

    def evaluate(
        self, observations: Sequence[Mapping[str, Any]], infos: Sequence[Mapping[str, Any]]
    ) -> ProgressEstimate: ...


class ImageProgress:
    """Φ from a :class:`ProgressFn` that sees images + instruction only.

    Args:
        fn: the progress estimator (e.g. the GRM).
        check_every: every this many batches, re-evaluate one stored observation and compare
            with the value it had then (0 disables). Costs one extra Φ evaluation per check.
        tolerance: allowed |ΔΦ| for the same observation (float32 model noise).
        name: label used in logs and errors.
    """

    needs_images = True

    def __init__(
        self, fn: ProgressFn, check_every: int = 50, tolerance: float = 1e-4, name: str = "grm"
    ):
        if getattr(fn, "markovian", True) is False:
            raise NonMarkovianPotentialError(
                f"{name}: the progress function declares markovian=False (it depends on history); "
                "PBRS needs Φ(s) of the current state only (hint: anchor hops to a fixed "
                "reference frame instead of the previous frame)"
            )
        self.fn = fn
        self.name = name
        self.check_every = int(check_every)
        self.tolerance = float(tolerance)
        self._calls = 0
        self._probe: tuple[dict[str, Any], float] | None = None

    def evaluate(
        self, observations: Sequence[Mapping[str, Any]], infos: Sequence[Mapping[str, Any]]
    ) -> ProgressEstimate:
        views = [reward_view(o) for o in observations]
        est = validate_estimate(self.fn(views), len(views), self.name)
        self._calls += 1
        if self.check_every > 0:
            self._check_markov(views, est)
        return est

    def _check_markov(self, views: list[dict[str, Any]], est: ProgressEstimate) -> None:
        if self._probe is None:
            self._probe = (_copy_view(views[0]), float(est.phi[0]))
            return
        if self._calls % self.check_every != 0:
            return
        view, phi_then = self._probe
        phi_now = float(validate_estimate(self.fn([view]), 1, self.name).phi[0])
        if abs(phi_now - phi_then) > self.tolerance:
            raise NonMarkovianPotentialError(
                f"{self.name}: Φ of the same observation changed from {phi_then:.4f} to "
                f"{phi_now:.4f}; shaping needs Φ to depend on the current state only "
                "(hint: remove per-episode state or caching from the progress function)"
            )
        # Move the probe to a recent observation so the check covers the whole run.
        self._probe = (_copy_view(views[0]), float(est.phi[0]))


def _copy_view(view: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "images": {k: np.array(v, copy=True) for k, v in view["images"].items()},
        "instruction": view["instruction"],
    }


class PrivilegedProgress:
    """Φ = ``info[key]`` (the simulator's privileged ``progress_gt``): the upper bound.

    A state function by construction (the sim computes it from the current state).
    """

    needs_images = False

    def __init__(self, key: str = "progress_gt", name: str = "gt"):
        self.key = key
        self.name = name

    def evaluate(
        self, observations: Sequence[Mapping[str, Any]], infos: Sequence[Mapping[str, Any]]
    ) -> ProgressEstimate:
        try:
            phi = np.array([float(i[self.key]) for i in infos], dtype=np.float64)
        except KeyError:
            raise ShapingError(
                f"{self.name}: step info has no {self.key!r} (hint: this potential needs a "
                "simulated task that reports privileged progress)"
            ) from None
        if np.any(np.isnan(phi)):
            raise ShapingError(
                f"{self.name}: info[{self.key!r}] is NaN; this task has no privileged progress "
                "(hint: use progress=grm)"
            )
        return validate_estimate(ProgressEstimate(phi, np.zeros_like(phi)), len(infos), self.name)
