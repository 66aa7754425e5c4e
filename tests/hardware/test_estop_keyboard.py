"""The e-stop key path for real: a terminal (pty) on stdin, a key press, the loop stops safe."""

from __future__ import annotations

import os
import threading

from hardware.config import make_shield, robot_config
from hardware.estop import EStop
from hardware.loop import ControlLoop, LoopConfig
from hardware.policies import ScriptedPolicy


def test_key_press_on_the_terminal_stops_the_loop(monkeypatch):
    master, slave = os.openpty()
    stdin = os.fdopen(slave, "r")
    monkeypatch.setattr("sys.stdin", stdin)
    estop = EStop(keyboard=True)  # watches the pty like a terminal
    cfg = robot_config("so101_sim", cameras=[])
    robot = cfg.build()
    try:
        threading.Timer(0.5, os.write, args=(master, b"q")).start()
        with robot:
            loop = ControlLoop(
                robot,
                ScriptedPolicy(control_dt=1 / 30),
                make_shield(cfg, robot, 1 / 30),
                LoopConfig(rate_hz=30, duration_s=10.0, safe_state="torque_off"),
                estop,
            )
            result = loop.run()
            final = robot.read()
    finally:
        estop.close()
        stdin.close()
        os.close(master)
    assert result.stop_reason == "estop:keyboard"
    assert len(result.frames) < 5 * 30  # stopped long before the 10 s
    assert not final.torque_enabled  # the configured safe state was applied
