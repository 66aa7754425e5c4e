"""SafetyShield: the only way to make a :class:`~hardware.robot.SafeCommand` (on by default).

For a requested joint target ``u`` float[N] [rad], a measured state ``x`` and the previous
command ``p`` (``None`` before the first), the shield computes, in order:

1. **non-finite**: any NaN/inf in ``u`` -> the whole request is replaced by ``p`` (or the
   measured position), i.e. the arm holds.
2. **velocity**: ``clip(u, p - v_max·dt, p + v_max·dt)`` (rate of the commanded target).
3. **step**: ``clip(·, q - s_max, q + s_max)`` around the measured position ``q``
   (lerobot's ``max_relative_target``, on by default here).
4. **joint limits**: ``clip(·, lower, upper)``.
5. **workspace**: forward kinematics of the check points (end effector, wrist, jaw) must lie
   in the box ``[lo, hi]`` and above the table plane ``z >= table_z``; otherwise the target
   is pulled back along the segment from the reference (``p`` or ``q``) by bisection to the
   furthest safe point. If the reference itself is outside, only moves that reduce the
   violation are allowed.
6. **gripper effort**: clipped to ``[0, gripper_effort_max]``.

Every intervention is counted by kind in :attr:`SafetyShield.counts`.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass

import numpy as np

from hardware.errors import SafetyError
from hardware.kinematics import ArmKinematics
from hardware.robot import _SEAL, RobotLimits, RobotState, SafeCommand

logger = logging.getLogger(__name__)

INTERVENTION_KINDS: tuple[str, ...] = (
    "nonfinite",
    "velocity",
    "step",
    "joint_limit",
    "workspace",
    "workspace_recovery",
    "gripper_effort",
    "bad_shape",
)


@dataclass(frozen=True)
class SafetyConfig:
    """Shield settings.

    Attributes:
        enabled: must stay True on hardware; False is refused unless ``allow_disable``.
        dt: control period used by the velocity clamp [s].
        workspace: check the Cartesian box and table plane (needs kinematics).
        bisection_iters: iterations of the workspace pull-back.
    """

    enabled: bool = True
    dt: float = 1.0 / 30.0
    workspace: bool = True
    bisection_iters: int = 12


class SafetyShield:
    """Clamp, reject and count; the sole issuer of :class:`SafeCommand`.

    Args:
        limits: the robot's limits.
        kinematics: FK for the workspace check (``None`` disables it, with a warning).
        config: shield settings.
    """

    def __init__(
        self,
        limits: RobotLimits,
        kinematics: ArmKinematics | None = None,
        config: SafetyConfig | None = None,
    ):
        self.config = config or SafetyConfig()
        if not self.config.enabled:
            raise ValueError(
                "the SafetyShield cannot be disabled (hint: widen limits in configs/robot/ "
                "instead of turning safety off)"
            )
        if self.config.dt <= 0:
            raise ValueError(f"SafetyConfig.dt must be > 0 s, got {self.config.dt}")
        self.limits = limits
        self.kin = kinematics if self.config.workspace else None
        if self.config.workspace and kinematics is None:
            logger.warning("no kinematics model: workspace box / table plane not checked")
        self.counts: Counter[str] = Counter()
        self.checked = 0
        self._last: np.ndarray | None = None
        self._lock = threading.Lock()

    # -- public API --------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the previous command (next check is relative to the measured state)."""
        with self._lock:
            self._last = None

    def check(
        self,
        state: RobotState,
        target: np.ndarray | list[float],
        gripper_effort: float | None = None,
    ) -> SafeCommand:
        """Make a safe joint command from a requested target float[N] [rad]."""
        with self._lock:
            return self._check(state, target, gripper_effort)

    def hold(self, state: RobotState) -> SafeCommand:
        """A command that holds the arm: the previous command, or the measured position."""
        with self._lock:
            ref = self._last if self._last is not None else state.joint_pos
            return self._check(state, np.array(ref, dtype=np.float64), None)

    def check_ee_delta(
        self,
        state: RobotState,
        delta_xyz: np.ndarray | list[float],
        gripper: float | None = None,
    ) -> SafeCommand:
        """End-effector position delta float[3] [m] -> joint target through IK, then :meth:`check`."""
        if self.kin is None:
            raise ValueError("end-effector commands need kinematics (hint: robot has no MJCF)")
        delta = np.asarray(delta_xyz, dtype=np.float64).reshape(-1)
        if delta.shape != (3,) or not np.all(np.isfinite(delta)):
            return self.check(state, np.full(self.limits.dof, np.nan))
        with self._lock:
            ref = self._last if self._last is not None else state.joint_pos
        goal = self.kin.ee_position(ref) + delta
        q = self.kin.ik_position(ref, goal, arm_dofs=self.limits.dof - 1)
        if gripper is not None:
            q[-1] = gripper
        return self.check(state, q)

    def in_limits(self, q: np.ndarray) -> bool:
        """Whether q float[N] [rad] is inside joint limits and (with kinematics) the workspace."""
        q = np.asarray(q, dtype=np.float64)
        lim = self.limits
        if q.shape != (lim.dof,) or not np.all(np.isfinite(q)):
            return False
        if np.any(q < lim.lower) or np.any(q > lim.upper):
            return False
        return self.kin is None or self._violation(q) <= 0.0

    # -- internals ---------------------------------------------------------------------------
    def _violation(self, q: np.ndarray) -> float:
        """Total distance [m] of the check points outside the box / below the table."""
        lim = self.limits
        pts = self.kin.check_points(q)  # type: ignore[union-attr]
        lo = lim.workspace_lo.copy()
        lo[2] = max(lo[2], lim.table_z)
        below = np.clip(lo - pts, 0.0, None)
        above = np.clip(pts - lim.workspace_hi, 0.0, None)
        return float(below.sum() + above.sum())

    def _check(
        self, state: RobotState, target: np.ndarray | list[float], gripper_effort: float | None
    ) -> SafeCommand:
        lim = self.limits
        kinds: list[str] = []
        self.checked += 1
        measured = np.asarray(state.joint_pos, dtype=np.float64)
        ref = self._last if self._last is not None else np.clip(measured, lim.lower, lim.upper)
        if not np.all(np.isfinite(ref)):
            raise SafetyError(
                "measured joint state is NaN/inf and no previous command exists: cannot make a "
                "safe command (hint: check the encoders / calibration before enabling torque)"
            )
        try:
            requested = np.asarray(target, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            requested = np.full(lim.dof, np.nan)
        if requested.shape != (lim.dof,):
            kinds.append("bad_shape")
            requested = np.full(lim.dof, np.nan)
        u = requested.copy()
        if not np.all(np.isfinite(u)):
            if "bad_shape" not in kinds:
                kinds.append("nonfinite")
            u = ref.copy()
        # Velocity: rate of the commanded target relative to the previous command.
        if self._last is not None:
            dv = lim.max_velocity * self.config.dt
            u = self._clip(u, self._last - dv, self._last + dv, "velocity", kinds)
        # Step: distance from the measured position (finite measurements only).
        if np.all(np.isfinite(measured)):
            u = self._clip(u, measured - lim.max_step, measured + lim.max_step, "step", kinds)
        u = self._clip(u, lim.lower, lim.upper, "joint_limit", kinds)
        if self.kin is not None:
            u = self._workspace(u, ref, kinds)
        effort = lim.gripper_effort_max if gripper_effort is None else gripper_effort
        if not np.isfinite(effort) or not 0.0 <= effort <= lim.gripper_effort_max:
            kinds.append("gripper_effort")
            effort = float(np.clip(np.nan_to_num(effort, nan=0.0), 0.0, lim.gripper_effort_max))
        for kind in kinds:
            self.counts[kind] += 1
        if kinds:
            logger.debug("shield: %s", ",".join(kinds))
        self._last = u
        return SafeCommand(u, effort, requested, tuple(kinds), _seal=_SEAL)

    def _clip(
        self, u: np.ndarray, lo: np.ndarray, hi: np.ndarray, kind: str, kinds: list[str]
    ) -> np.ndarray:
        out = np.minimum(np.maximum(u, lo), hi)
        if np.any(out != u):
            kinds.append(kind)
        return out

    def _workspace(self, u: np.ndarray, ref: np.ndarray, kinds: list[str]) -> np.ndarray:
        v_target = self._violation(u)
        if v_target <= 0.0:
            return u
        ref = np.clip(ref, self.limits.lower, self.limits.upper)
        v_ref = self._violation(ref)
        if v_ref > 0.0:
            # Outside already (e.g. started there): allow only moves that reduce the violation.
            kinds.append("workspace_recovery")
            return u if v_target < v_ref else ref
        kinds.append("workspace")
        lo, hi = 0.0, 1.0  # fraction of the way from ref (safe) to u (unsafe)
        for _ in range(self.config.bisection_iters):
            mid = 0.5 * (lo + hi)
            if self._violation(ref + mid * (u - ref)) <= 0.0:
                lo = mid
            else:
                hi = mid
        return ref + lo * (u - ref)
