"""Markov affine calibration of a potential: Φ_cal = clip((Φ − Φ_start) / (Φ_goal − Φ_start), 0, 1).

A learned progress potential can be correct in order but compressed in range (the anchored GRM
moves 0.38 -> 0.55 along expert episodes while the privileged progress goes 0 -> 1), so
PBRS with it is a weak signal. Rescaling with two numbers measured *once* on demonstration
episodes (Φ at their first frame, Φ at their goal frame) and then frozen keeps Φ_cal a function
of the current state alone, so PBRS with Φ_cal keeps the optimal policy like PBRS with Φ.

What it does not fix: noise. The rescale multiplies every error of Φ by 1 / (Φ_goal − Φ_start),
and the clip saturates states the model ranks above the demos' goal frames at Φ_cal = 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from robo.reward.shaping.errors import ShapingError

MIN_SPAN = 1e-3
"""Smallest allowed Φ_goal − Φ_start (a smaller span would amplify Φ's noise > 1000x)."""


class AffineCalibration(NamedTuple):
    """Frozen affine rescale of Φ: ``phi_start`` maps to 0, ``phi_goal`` maps to 1.

    Both are in the potential's own units (Φ in [0, 1]); identity is ``(0.0, 1.0)``.
    """

    phi_start: float = 0.0
    phi_goal: float = 1.0

    @property
    def is_identity(self) -> bool:
        return self.phi_start == 0.0 and self.phi_goal == 1.0

    @property
    def gain(self) -> float:
        """1 / (Φ_goal − Φ_start): the factor by which Φ's differences (and noise) grow."""
        return 1.0 / (self.phi_goal - self.phi_start)

    def check(self) -> AffineCalibration:
        """Return self if ``0 <= phi_start < phi_goal <= 1`` with a span >= :data:`MIN_SPAN`."""
        a, b = float(self.phi_start), float(self.phi_goal)
        if not (np.isfinite(a) and np.isfinite(b)) or a < 0.0 or b > 1.0 or b - a < MIN_SPAN:
            raise ShapingError(
                f"calibration phi_start={a:.4g}, phi_goal={b:.4g} must satisfy "
                f"0 <= phi_start < phi_goal <= 1 with a span >= {MIN_SPAN} (hint: the potential "
                "does not rise from the demos' first to their goal frames; check the reference "
                "frames or turn calibration off)"
            )
        return self

    def apply(self, phi: np.ndarray) -> np.ndarray:
        """Φ_cal float64[B] in [0, 1] from Φ float[B]; elementwise, so a function of the state."""
        phi = np.asarray(phi, dtype=np.float64)
        if self.is_identity:
            return phi
        return np.clip((phi - self.phi_start) * self.gain, 0.0, 1.0)


def fit_affine_calibration(
    start_phi: Sequence[float] | np.ndarray, goal_phi: Sequence[float] | np.ndarray
) -> AffineCalibration:
    """Calibration from Φ at the first frames and at the goal frames of demo episodes.

    Args:
        start_phi: float[N] Φ of each demo's first frame.
        goal_phi: float[M] Φ of each demo's goal (first success) frame.

    Returns:
        ``AffineCalibration(mean(start_phi), mean(goal_phi))``, checked.
    """
    s = np.asarray(start_phi, dtype=np.float64).reshape(-1)
    g = np.asarray(goal_phi, dtype=np.float64).reshape(-1)
    if s.size == 0 or g.size == 0:
        raise ShapingError(
            "calibration needs Φ of at least one demo start and one goal frame "
            "(hint: roll out a successful demo first)"
        )
    return AffineCalibration(float(s.mean()), float(g.mean())).check()
