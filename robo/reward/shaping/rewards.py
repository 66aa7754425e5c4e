"""Reward schemes over a batch of transitions: PBRS and the baselines it is compared with.

For a transition s -> s' with environment (sparse success) reward r, potential Φ in [0, 1]
scaled by λ (``scale``), and ``terminated`` marking a true terminal s':

* ``sparse``: r.
* ``pbrs`` / ``gt``: r + γ·λΦ(s') − λΦ(s), with Φ(s') := 0 when s' is terminal (Ng, Harada &
  Russell 1999). Truncation is *not* termination: a truncated s' keeps its Φ, because the
  learner bootstraps from it. ``gt`` is PBRS with the privileged ``progress_gt`` potential.
* ``naive``: r + λΦ(s') − λΦ(s): γ = 1 whatever the learner's γ, and no terminal correction
  (the common mistake; not policy-invariant).
* ``raw``: r + λΦ(s') (progress as the reward itself: rewards hovering near the goal).
* ``clip``: r + min(λΦ(s') − η, 0) (Gao et al. 2024: non-positive process rewards).
* ``delta``: r + λΦ(s_{t+1}) − λΦ(s_{t+2}), and r + λΦ(s_K) on the last step (Gao et al. 2024),
  so the return-to-go from t is λΦ(s_{t+1}). It needs one step of lookahead: online it is
  emitted as r + λΦ(s') and the *previous* transition gets a correction −λΦ(s') that the
  learner adapter applies to its stored reward (see :func:`delta_rewards` for whole episodes).
* ``oracle``: λ·(the family's hand-designed dense reward ``info["env_reward"] / oracle_max``,
  plus 1/(1−γ) on a terminal success step) (success ends the episode, so the bonus is the
  value of staying at the maximum reward forever; without it a positive dense reward would
  teach the agent to avoid finishing).

Uncertainty gating changes the potential, not the reward: Φ̃(s) = w(u(s))·Φ(s) is still a
function of the state alone, so PBRS with Φ̃ keeps the optimal policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robo.reward.shaping.calibration import AffineCalibration
from robo.reward.shaping.errors import GammaMismatchError, ShapingError

SCHEMES: tuple[str, ...] = ("sparse", "pbrs", "naive", "raw", "clip", "delta", "oracle", "gt")
POTENTIAL_SCHEMES: frozenset[str] = frozenset({"pbrs", "naive", "raw", "clip", "delta", "gt"})
GATES: tuple[str, ...] = ("none", "hard", "soft")


@dataclass(frozen=True)
class ShapingConfig:
    """How rewards are shaped. Configure γ once here and give the same γ to the learner.

    Attributes:
        scheme: one of :data:`SCHEMES`.
        gamma: the learner's discount γ in (0, 1]; checked with :func:`check_learner_gamma`.
        scale: λ, multiplies Φ (a scaled potential is still a potential); for ``oracle`` it
            multiplies the whole reward (a positive rescale keeps the optimal policy).
        eta: threshold η of ``clip``.
        gate: uncertainty gating of Φ: ``none``, ``hard`` (Φ̃ = 0 where u > threshold) or
            ``soft`` (Φ̃ = Φ·max(0, 1 − u/threshold)).
        gate_threshold: uncertainty threshold of the gate (units of the model's uncertainty).
        oracle_max: largest per-step ``env_reward`` of the family (Meta-World 10, robosuite 1).
        hover_threshold: Φ above which a step counts as hovering (hack indicator).
        phi_start, phi_goal: frozen affine calibration of the potential, applied before
            gating and scaling: Φ_cal = clip((Φ − phi_start) / (phi_goal − phi_start), 0, 1)
            (see :mod:`robo.reward.shaping.calibration`); (0, 1) = off.
    """

    scheme: str = "pbrs"
    gamma: float = 0.99
    scale: float = 1.0
    eta: float = 1.0
    gate: str = "none"
    gate_threshold: float = 0.2
    oracle_max: float = 1.0
    hover_threshold: float = 0.8
    phi_start: float = 0.0
    phi_goal: float = 1.0

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ShapingError(f"unknown reward scheme {self.scheme!r}; choose from {SCHEMES}")
        if not 0.0 < self.gamma <= 1.0:
            raise ShapingError(f"gamma={self.gamma} must be in (0, 1]")
        if self.gate not in GATES:
            raise ShapingError(f"unknown gate {self.gate!r}; choose from {GATES}")
        if self.gate != "none" and self.gate_threshold <= 0:
            raise ShapingError(f"gate_threshold={self.gate_threshold} must be > 0")
        if self.oracle_max <= 0:
            raise ShapingError(f"oracle_max={self.oracle_max} must be > 0")
        self.calibration.check()

    @property
    def calibration(self) -> AffineCalibration:
        """The frozen affine calibration of Φ (identity when off)."""
        return AffineCalibration(float(self.phi_start), float(self.phi_goal))

    @property
    def uses_potential(self) -> bool:
        """True when the scheme needs Φ."""
        return self.scheme in POTENTIAL_SCHEMES

    @property
    def shaping_gamma(self) -> float:
        """The γ inside the potential difference (1 for ``naive``, else the learner's γ)."""
        return 1.0 if self.scheme == "naive" else self.gamma


def check_learner_gamma(config: ShapingConfig, learner_gamma: float) -> None:
    """Raise :class:`GammaMismatchError` unless the learner discounts with ``config.gamma``.

    PBRS leaves the optimal policy unchanged only when the γ in ``γΦ(s') − Φ(s)`` is the γ the
    learner optimises; the ``naive`` baseline is the one deliberate exception (it uses 1).
    """
    if abs(float(learner_gamma) - config.gamma) > 1e-9:
        raise GammaMismatchError(
            f"shaping was configured with gamma={config.gamma} but the learner uses "
            f"gamma={learner_gamma}; PBRS would change the optimal policy "
            "(hint: set gamma once in the config and pass it to both)"
        )


def gate_potential(phi: np.ndarray, uncertainty: np.ndarray, config: ShapingConfig) -> np.ndarray:
    """Φ̃ float64[B]: Φ after uncertainty gating (still a function of the state alone)."""
    phi = np.asarray(phi, dtype=np.float64)
    if config.gate == "none":
        return phi
    u = np.asarray(uncertainty, dtype=np.float64)
    if config.gate == "hard":
        return np.where(u > config.gate_threshold, 0.0, phi)
    return phi * np.clip(1.0 - u / config.gate_threshold, 0.0, 1.0)


def shaped_rewards(
    config: ShapingConfig,
    reward: np.ndarray,
    terminated: np.ndarray,
    phi_prev: np.ndarray | None = None,
    phi_next: np.ndarray | None = None,
    env_reward: np.ndarray | None = None,
) -> np.ndarray:
    """Rewards float64[B] of a batch of transitions under ``config.scheme``.

    Args:
        reward: float[B] environment (sparse success) reward of each transition.
        terminated: bool[B], True where s' is a true terminal state (not a truncation).
        phi_prev: float[B] gated Φ(s) (potential schemes only).
        phi_next: float[B] gated Φ(s') as evaluated on s' (the terminal zero is applied here).
        env_reward: float[B] the family's dense reward (``oracle`` only).

    Returns:
        float64[B]. For ``delta`` this is the provisional r + λΦ(s'); see :func:`delta_rewards`.
    """
    r = np.asarray(reward, dtype=np.float64)
    term = np.asarray(terminated, dtype=bool)
    scheme, lam = config.scheme, config.scale
    if scheme == "sparse":
        return r.copy()
    if scheme == "oracle":
        if env_reward is None or np.any(np.isnan(np.asarray(env_reward, dtype=np.float64))):
            raise ShapingError(
                "reward=oracle needs info['env_reward'] from the task "
                "(hint: only Meta-World and robosuite tasks have a hand-designed dense reward)"
            )
        dense = np.asarray(env_reward, dtype=np.float64) / config.oracle_max
        bonus = np.where(term & (r > 0), 1.0 / max(1.0 - config.gamma, 1e-6), 0.0)
        return lam * (dense + bonus)
    if phi_prev is None or phi_next is None:
        raise ShapingError(f"reward={scheme} needs Φ(s) and Φ(s')")
    p0 = lam * np.asarray(phi_prev, dtype=np.float64)
    p1 = lam * np.asarray(phi_next, dtype=np.float64)
    if scheme in ("pbrs", "gt"):
        return r + config.gamma * np.where(term, 0.0, p1) - p0
    if scheme == "naive":
        return r + p1 - p0
    if scheme == "raw":
        return r + p1
    if scheme == "clip":
        return r + np.minimum(p1 - config.eta, 0.0)
    if scheme == "delta":
        return r + p1
    raise ShapingError(f"unhandled scheme {scheme!r}")


def delta_rewards(reward: np.ndarray, phi: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """``delta`` rewards float64[T] of one whole episode.

    Args:
        reward: float[T] environment rewards of the T transitions.
        phi: float[T+1] Φ(s_0..s_T) of the visited states.

    Returns:
        r_t + λΦ(s_{t+1}) − λΦ(s_{t+2}) for t < T−1 and r_{T−1} + λΦ(s_T) for the last step.
    """
    r = np.asarray(reward, dtype=np.float64)
    p = scale * np.asarray(phi, dtype=np.float64)
    if p.shape[0] != r.shape[0] + 1:
        raise ShapingError(f"delta_rewards needs T+1={r.shape[0] + 1} potentials, got {p.shape}")
    out = r + p[1:]
    out[:-1] -= p[2:]
    return out
