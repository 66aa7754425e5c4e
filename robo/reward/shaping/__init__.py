"""Policy-invariant reward shaping (PBRS) from learned progress, and the baselines.

``r' = r + γΦ(s') − Φ(s)`` with the preconditions enforced: Φ is a function of the current
observation's images + instruction only (checked), Φ(terminal) = 0 (truncation keeps Φ), and
the shaping γ equals the learner's γ (:func:`check_learner_gamma`). A compressed learned Φ can be
rescaled by a frozen affine calibration (``ShapingConfig(phi_start=..., phi_goal=...)``, fitted
once on demos with :func:`fit_affine_calibration`), which keeps Φ a state function.

Example::

    from robo.reward.shaping import ShapedReward, ShapingConfig, PrivilegedProgress
    env = ShapedReward(sims.make("metaworld/reach"), ShapingConfig("pbrs", gamma=0.99),
                       PrivilegedProgress())
"""

from robo.reward.shaping.calibration import AffineCalibration, fit_affine_calibration
from robo.reward.shaping.errors import (
    GammaMismatchError,
    NonMarkovianPotentialError,
    PotentialRangeError,
    ShapingError,
)
from robo.reward.shaping.indicators import EpisodeStats, hover_ratio, hover_steps, summarize
from robo.reward.shaping.potential import (
    ImageProgress,
    Potential,
    PrivilegedProgress,
    ProgressEstimate,
    ProgressFn,
    reward_view,
)
from robo.reward.shaping.rewards import (
    POTENTIAL_SCHEMES,
    SCHEMES,
    ShapingConfig,
    check_learner_gamma,
    delta_rewards,
    gate_potential,
    shaped_rewards,
)
from robo.reward.shaping.shaper import RewardShaper
from robo.reward.shaping.wrapper import ShapedReward

__all__ = [
    "POTENTIAL_SCHEMES",
    "SCHEMES",
    "AffineCalibration",
    "EpisodeStats",
    "GammaMismatchError",
    "ImageProgress",
    "NonMarkovianPotentialError",
    "Potential",
    "PotentialRangeError",
    "PrivilegedProgress",
    "ProgressEstimate",
    "ProgressFn",
    "RewardShaper",
    "ShapedReward",
    "ShapingConfig",
    "ShapingError",
    "check_learner_gamma",
    "delta_rewards",
    "fit_affine_calibration",
    "gate_potential",
    "hover_ratio",
    "hover_steps",
    "reward_view",
    "shaped_rewards",
    "summarize",
]
