"""`robo robot-check`: teleop-free check of a robot: read state, nudge each joint, report.

Each joint moves by ``delta`` rad (toward the middle of its range, so always inside limits)
through the SafetyShield at ``rate_hz``, is checked to arrive within ``tolerance``, and
returns. Exit code 0 when every joint passes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

HELP = (
    "read state, move each joint a little inside limits, report (robot=so101_sim|so101|koch|mock)"
)


def _move(robot: Any, shield: Any, target: Any, seconds: float, rate_hz: float) -> Any:
    """Stream ``target`` through the shield for ``seconds``; returns the last state."""
    period = 1.0 / rate_hz
    state = robot.read()
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        robot.send(shield.check(state, target))
        time.sleep(period)
        state = robot.read()
    return state


def check_robot(robot: Any, shield: Any, delta: float, settle_s: float, tol: float, rate_hz: float):
    """Per-joint results: start / target / reached [rad], error [rad], passed."""
    import numpy as np

    lim = robot.limits
    start = robot.read()
    home = start.joint_pos.copy()
    rows = []
    for i, name in enumerate(lim.joint_names):
        mid = 0.5 * (lim.lower[i] + lim.upper[i])
        target = home.copy()
        target[i] += delta if home[i] <= mid else -delta
        target = np.clip(target, lim.lower, lim.upper)
        reached = _move(robot, shield, target, settle_s, rate_hz)
        _move(robot, shield, home, settle_s, rate_hz)
        err = float(abs(reached.joint_pos[i] - target[i]))
        rows.append(
            {
                "joint": name,
                "start_rad": float(home[i]),
                "target_rad": float(target[i]),
                "reached_rad": float(reached.joint_pos[i]),
                "error_rad": err,
                "passed": err <= tol,
            }
        )
    return start, rows


def run(cfg: DictConfig) -> int:
    import sys

    from hardware.errors import HardwareError

    try:
        return _run(cfg)
    except HardwareError as err:  # calibration / connection faults: one line with a hint
        print(f"robo robot-check: error: {err}", file=sys.stderr)
        return 2


def _run(cfg: DictConfig) -> int:
    from hardware.config import make_shield, robot_config_from_dict

    node = OmegaConf.to_container(cfg.robot, resolve=True)
    rcfg = robot_config_from_dict(node)  # type: ignore[arg-type]
    if rcfg.type in ("so101", "koch", "mock"):
        from hardware.drivers.lerobot_arm import preload_lerobot

        preload_lerobot(rcfg.type)  # before any EGL context
    rate = float(cfg.rate_hz)
    with rcfg.build() as robot:
        shield = make_shield(rcfg, robot, 1.0 / rate)
        start, rows = check_robot(
            robot, shield, float(cfg.delta), float(cfg.settle_s), float(cfg.tolerance), rate
        )
        cams = {}
        for name, cam in robot.cameras.items():
            try:
                frame, _ = cam.latest(1.0)
                cams[name] = list(frame.shape)
            except Exception as err:
                cams[name] = f"no frame: {err}"
    print(f"robot {rcfg.type}: torque {'on' if start.torque_enabled else 'off'}")
    print(f"{'joint':15s} {'start':>8s} {'target':>8s} {'reached':>8s} {'err':>7s}  result")
    for r in rows:
        print(
            f"{r['joint']:15s} {r['start_rad']:8.3f} {r['target_rad']:8.3f} "
            f"{r['reached_rad']:8.3f} {r['error_rad']:7.3f}  {'ok' if r['passed'] else 'FAIL'}"
        )
    for name, info in cams.items():
        print(f"camera {name}: {info}")
    print(f"safety interventions: {dict(shield.counts)}")
    ok = all(r["passed"] for r in rows)
    if cfg.out:
        path = Path(str(cfg.out))
        path.parent.mkdir(parents=True, exist_ok=True)
        report = {"robot": rcfg.type, "joints": rows, "cameras": cams, "passed": ok}
        path.write_text(json.dumps(report, indent=2))
    print("robot-check:", "PASSED" if ok else "FAILED")
    return 0 if ok else 1
