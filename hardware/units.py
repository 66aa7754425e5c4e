"""The one place lerobot units are converted to ours (and back).

lerobot arms (``use_degrees=True``) report body joints in degrees relative to the middle of
the calibrated range, and the gripper in [0, 100] % of its calibrated range. Ours are rad in
the MJCF convention:

* body joint i: ``q_i = sign_i * deg_i * π/180 + offset_i`` [rad]
* gripper: ``q = g_lo + (g_hi - g_lo) * pct / 100`` [rad]

With lerobot's SO-101 calibration procedure (mid-range = MJCF zero) signs are +1 and offsets 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class LerobotUnits:
    """Conversion between lerobot's ``{"<joint>.pos": value}`` dicts and float64[N] rad.

    Attributes:
        joint_names: N names; the last one is the gripper.
        signs / offsets_rad: per body joint (N-1 values) [rad].
        gripper_range_rad: (closed, open) gripper joint angles at 0 % and 100 % [rad].
    """

    joint_names: tuple[str, ...]
    signs: tuple[float, ...] = field(default=())
    offsets_rad: tuple[float, ...] = field(default=())
    gripper_range_rad: tuple[float, float] = (-0.17453, 1.74533)

    def __post_init__(self) -> None:
        n = len(self.joint_names) - 1
        if not self.signs:
            object.__setattr__(self, "signs", (1.0,) * n)
        if not self.offsets_rad:
            object.__setattr__(self, "offsets_rad", (0.0,) * n)
        if len(self.signs) != n or len(self.offsets_rad) != n:
            raise ValueError(f"units: need {n} signs and offsets (one per body joint)")
        if any(s not in (-1.0, 1.0) for s in self.signs):
            raise ValueError(f"units: signs must be +1 or -1, got {self.signs}")
        lo, hi = self.gripper_range_rad
        if not lo < hi:
            raise ValueError(f"units: gripper_range_rad must be (closed < open), got {lo, hi}")

    def to_rad(self, values: dict[str, float]) -> np.ndarray:
        """lerobot dict (keys ``name`` or ``name.pos``) -> float64[N] [rad]."""
        vals = {k.removesuffix(".pos"): float(v) for k, v in values.items()}
        try:
            raw = np.array([vals[n] for n in self.joint_names], dtype=np.float64)
        except KeyError as err:
            raise ValueError(
                f"units: lerobot reading lacks joint {err} (got {list(vals)})"
            ) from None
        out = np.empty_like(raw)
        out[:-1] = np.asarray(self.signs) * np.deg2rad(raw[:-1]) + np.asarray(self.offsets_rad)
        lo, hi = self.gripper_range_rad
        out[-1] = lo + (hi - lo) * raw[-1] / 100.0
        return out

    def to_lerobot(self, q: np.ndarray) -> dict[str, float]:
        """float[N] [rad] -> lerobot action dict ``{"<joint>.pos": value}``."""
        q = np.asarray(q, dtype=np.float64)
        body = np.rad2deg((q[:-1] - np.asarray(self.offsets_rad)) * np.asarray(self.signs))
        lo, hi = self.gripper_range_rad
        grip = 100.0 * (q[-1] - lo) / (hi - lo)
        vals = [*body.tolist(), float(grip)]
        return {f"{n}.pos": v for n, v in zip(self.joint_names, vals)}
