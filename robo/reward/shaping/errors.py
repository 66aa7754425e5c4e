"""Exceptions raised when a shaping precondition is violated (one-line reason + hint)."""

from __future__ import annotations


class ShapingError(ValueError):
    """Base class for bad shaping configuration or a potential that breaks a precondition."""


class GammaMismatchError(ShapingError):
    """The shaping γ differs from the learner's γ, so PBRS would change the optimal policy."""


class NonMarkovianPotentialError(ShapingError):
    """Φ gave different values for the same observation: it depends on history, not state."""


class PotentialRangeError(ShapingError):
    """Φ outside [0, 1], NaN, or a batch of the wrong shape."""
