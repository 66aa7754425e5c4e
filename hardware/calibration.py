"""Calibration files per device id (lerobot's JSON format), verified before connecting.

A file ``<calibration_dir>/<robot_id>.json`` maps each motor name to
``{"id", "drive_mode", "homing_offset", "range_min", "range_max"}`` (raw ticks), exactly
what ``lerobot-calibrate`` writes, so a lerobot-calibrated arm works unchanged.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from hardware.errors import CalibrationError

FIELDS = ("id", "drive_mode", "homing_offset", "range_min", "range_max")


def calibration_path(calibration_dir: str | Path, robot_id: str) -> Path:
    return Path(calibration_dir).expanduser() / f"{robot_id}.json"


def load_calibration(
    path: str | Path, motor_names: tuple[str, ...], resolution: int = 4096
) -> dict[str, dict[str, int]]:
    """Read and verify a calibration file; :class:`CalibrationError` with a hint on any fault."""
    path = Path(path)
    hint = (
        f"(hint: run `lerobot-calibrate --robot.id={path.stem} ...` or copy the arm's "
        f"calibration to {path})"
    )
    if not path.is_file():
        raise CalibrationError(f"calibration file missing: {path} {hint}")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CalibrationError(
            f"calibration file {path} is not valid JSON ({err}) {hint}"
        ) from None
    if not isinstance(data, dict):
        raise CalibrationError(f"calibration file {path} must map motor names to entries {hint}")
    missing = [m for m in motor_names if m not in data]
    if missing:
        raise CalibrationError(f"calibration file {path} lacks motors {missing} {hint}")
    out: dict[str, dict[str, int]] = {}
    ids = set()
    for name in motor_names:
        entry = data[name]
        if not isinstance(entry, dict) or any(f not in entry for f in FIELDS):
            raise CalibrationError(
                f"calibration {path}: motor {name!r} needs fields {FIELDS} {hint}"
            )
        if not all(isinstance(entry[f], int) and not isinstance(entry[f], bool) for f in FIELDS):
            raise CalibrationError(f"calibration {path}: motor {name!r} fields must be integers")
        lo, hi = entry["range_min"], entry["range_max"]
        if not 0 <= lo < hi <= resolution - 1:
            raise CalibrationError(
                f"calibration {path}: motor {name!r} range [{lo}, {hi}] must satisfy "
                f"0 <= min < max <= {resolution - 1} {hint}"
            )
        if entry["id"] in ids:
            raise CalibrationError(f"calibration {path}: duplicate motor id {entry['id']}")
        ids.add(entry["id"])
        out[name] = {f: int(entry[f]) for f in FIELDS}
    return out


def default_calibration(
    motor_names: tuple[str, ...],
    lower: np.ndarray,
    upper: np.ndarray,
    resolution: int = 4096,
) -> dict[str, dict[str, int]]:
    """A calibration whose ranges cover the joint limits [rad], mid-range at tick 2048.

    Body joints get a range symmetric about 2048 (so lerobot's degrees are zero at the MJCF
    zero); the gripper's range spans exactly its [lower, upper] so 0-100 % maps onto it.
    """
    k = resolution / (2 * math.pi)
    mid = resolution // 2
    cal = {}
    for i, name in enumerate(motor_names):
        if i < len(motor_names) - 1:
            half = math.ceil(max(abs(lower[i]), abs(upper[i])) * k) + 8
            lo, hi = mid - half, mid + half
        else:
            lo, hi = mid + math.floor(lower[i] * k), mid + math.ceil(upper[i] * k)
        cal[name] = {
            "id": i + 1,
            "drive_mode": 0,
            "homing_offset": 0,
            "range_min": int(max(lo, 0)),
            "range_max": int(min(hi, resolution - 1)),
        }
    return cal


def write_calibration(path: str | Path, calibration: dict[str, dict[str, int]]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(calibration, indent=4))
    return path
