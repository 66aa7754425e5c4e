"""HAL benchmark: shield fuzz count and 50 Hz loop timing on the sim twin.

1. **Fuzz**: N random/adversarial joint commands (huge, NaN, inf, jumps, out-of-workspace) go
   through the SafetyShield to a recording driver that re-checks every command it receives
   (finite, joint limits, workspace box + table plane via FK, step and rate limits, gripper
   effort). Reports how many out-of-limit commands reached the driver (target: 0) and the
   shield's cost per check.
2. **Loop**: the ControlLoop at 50 Hz on the SO-101 twin (real-time physics) with the
   project's DiffusionPolicy (state-only, default U-Net, 10 DDIM steps, random weights)
   sampling asynchronously. Reports achieved Hz, |period error| p50/p99, inference ms,
   overruns, and missed safety checks (commands not issued by the shield + sent commands
   outside limits). Three variants back to back: inference in a thread, in a process, and in
   a process with the loop thread under SCHED_FIFO (``robo deploy``'s defaults).

3. **Loop + recording**: the deploy defaults with every frame streamed to the on-disk
   recording journal (:mod:`hardware.recording`), then finalised as a LeRobotDataset
   episode: timing next to run 2 (same process, same load), frames on disk, finalise time.

Usage: ``python -m bench.bench_hal [--quick] [--fuzz N] [--seconds S] [--cameras]
[--rt-priority P] [--name hal]``; writes ``bench/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")


def fuzz(n: int, seed: int = 0) -> dict:
    from hardware.config import make_shield, robot_config
    from hardware.robot import Robot, RobotState

    cfg = robot_config("so101_sim")
    lim = cfg.limits()

    class CheckingDriver(Robot):
        """Counts every command that violates a limit on arrival."""

        def __init__(self) -> None:
            super().__init__(lim)
            self.q = np.array(cfg.home, dtype=np.float64)
            self.prev: np.ndarray | None = None
            self.violations = 0
            self.received = 0

        def _connect(self) -> None: ...

        def _disconnect(self) -> None: ...

        def _read(self) -> RobotState:
            return RobotState(self.q.copy(), np.zeros(6), time.monotonic())

        def _send_target(self, target: np.ndarray, gripper_effort: float) -> None:
            self.received += 1
            ok = (
                np.all(np.isfinite(target))
                and np.all(target >= lim.lower)
                and np.all(target <= lim.upper)
                and shield.in_limits(target)
                and np.all(np.abs(target - self.q) <= lim.max_step + 1e-9)
                and 0.0 <= gripper_effort <= lim.gripper_effort_max
            )
            if self.prev is not None:
                ok = ok and np.all(np.abs(target - self.prev) <= lim.max_velocity / 50.0 + 1e-9)
            self.violations += int(not ok)
            self.prev = target.copy()
            self.q = target.copy()  # an ideal servo

        def _torque_off(self) -> None: ...

    robot = CheckingDriver()
    shield = make_shield(cfg, robot, 1.0 / 50.0)
    rng = np.random.default_rng(seed)
    kinds = ["uniform_wide", "huge", "nan", "inf", "jump", "workspace", "near_limit", "effort"]
    check_us = []
    with robot:
        for i in range(n):
            kind = kinds[i % len(kinds)]
            q = robot.q
            if kind == "uniform_wide":
                req = rng.uniform(-4, 4, 6)
            elif kind == "huge":
                req = rng.choice([-1, 1], 6) * 10.0 ** rng.uniform(2, 300, 6)
            elif kind == "nan":
                req = q + rng.normal(0, 0.1, 6)
                req[rng.integers(0, 6)] = np.nan
            elif kind == "inf":
                req = q.copy()
                req[rng.integers(0, 6)] = rng.choice([np.inf, -np.inf])
            elif kind == "jump":
                req = q + rng.normal(0, 1.5, 6)
            elif kind == "workspace":
                req = q + np.array([0, 0.6, 0.6, 0.6, 0, 0]) * rng.uniform(0.5, 2)  # dive
            elif kind == "near_limit":
                req = np.where(rng.random(6) < 0.5, lim.lower, lim.upper) + rng.normal(0, 0.05, 6)
            else:
                req = q + rng.normal(0, 0.05, 6)
            effort = (
                float(rng.choice([np.nan, -1.0, 0.3, 2.0, np.inf])) if kind == "effort" else None
            )
            t0 = time.perf_counter()
            cmd = shield.check(robot.read(), req, effort)
            check_us.append((time.perf_counter() - t0) * 1e6)
            robot.send(cmd)
    return {
        "commands": n,
        "received_by_driver": robot.received,
        "outside_limits_reaching_driver": robot.violations,
        "interventions": dict(sorted(shield.counts.items())),
        "shield_check_us": {
            "p50": float(np.percentile(check_us, 50)),
            "p99": float(np.percentile(check_us, 99)),
        },
    }


def loop(
    seconds: float,
    rate: float,
    cameras: bool,
    record: bool = False,
    inference: str = "process",
    rt_priority: int | None = None,
) -> dict:
    """One loop run; ``record`` streams every frame to an on-disk FrameJournal (as
    ``robo deploy record=`` does) and then finalises it as a LeRobotDataset episode.
    ``inference``: ``thread`` or ``process``; ``rt_priority``: SCHED_FIFO for the loop thread."""
    import tempfile
    from pathlib import Path

    import torch

    from hardware.config import make_shield, robot_config
    from hardware.loop import ControlLoop, LoopConfig
    from hardware.recording import FrameJournal, finalize_journal
    from robo.policy import DiffusionConfig, DiffusionPolicy

    torch.set_num_threads(1)
    torch.manual_seed(0)
    policy = DiffusionPolicy(DiffusionConfig(action_dim=6, state_dim=6, cameras=()))
    policy.eval()
    params = sum(p.numel() for p in policy.parameters())
    cfg = robot_config(
        "so101_sim", pacing="realtime", cameras=["front", "side", "wrist"] if cameras else []
    )
    robot = cfg.build()
    tmp = tempfile.TemporaryDirectory(prefix="bench-hal-")
    journal = FrameJournal(Path(tmp.name) / "rec", rate, {"robot": "so101_sim"}) if record else None
    with robot:
        shield = make_shield(cfg, robot, 1.0 / rate)
        lc = LoopConfig(
            rate_hz=rate,
            duration_s=seconds,
            watchdog_timeout_s=1.0,
            record=False,
            inference=inference,  # type: ignore[arg-type]
            rt_priority=rt_priority,
        )
        result = ControlLoop(robot, policy, shield, lc, recorder=journal).run()
    rec: dict = {}
    if journal is not None:
        rec["frames_on_disk"] = journal.close()
        t0 = time.perf_counter()
        finalize_journal(journal.root)
        rec["finalize_s"] = time.perf_counter() - t0
    tmp.cleanup()
    s = result.stats.summary()
    return {
        "record": record,
        "inference": inference,
        "rt_priority": rt_priority,
        "load_avg_after": os.getloadavg(),
        **rec,
        "rate_hz": rate,
        "seconds": seconds,
        "policy": f"DiffusionPolicy state-only, {params / 1e6:.2f} M params, 10 DDIM steps",
        "cameras": cameras,
        "achieved_hz": s["achieved_hz"],
        "period_error_ms": s["period_error_ms"],
        "inference_ms": s["inference_ms"],
        "overruns_over_5ms": s["overruns"],
        "missed_ticks": s["missed_ticks"],
        "watchdog_trips": s["watchdog_trips"],
        "missed_safety_checks": s["unchecked_commands"] + (s["commands_outside_limits"] or 0),
        "shield_checks": s["shield_checks"],
        "commands_sent_by_loop": s["commands_sent"],
        "stop_reason": result.stop_reason,
    }


def main() -> int:
    from bench.common import command_line, write_result

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--fuzz", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--cameras", action="store_true", help="render the twin's 3 cameras too")
    ap.add_argument("--name", default="hal", help="result name (bench/results/<name>.json)")
    ap.add_argument(
        "--rt-priority",
        type=int,
        default=50,
        help="SCHED_FIFO priority for the loop thread in the *_rt runs (robo deploy's default); "
        "0 skips them",
    )
    args = ap.parse_args()
    n = 10_000 if args.quick else args.fuzz
    seconds = 5.0 if args.quick else args.seconds
    t0 = time.time()
    fz = fuzz(n)
    print(f"fuzz: {fz['outside_limits_reaching_driver']} of {n} outside limits reached the driver")
    variants: dict[str, dict] = {}
    for label, mode, rt in (
        ("thread", "thread", None),
        ("process", "process", None),
        ("process_rt", "process", args.rt_priority or None),
    ):
        if label.endswith("_rt") and rt is None:
            continue  # --rt-priority 0
        lp = loop(seconds, args.rate, args.cameras, inference=mode, rt_priority=rt)
        variants[label] = lp
        pe = lp["period_error_ms"]
        print(
            f"loop [{label}]: {lp['achieved_hz']:.2f} Hz, |period error| p50 {pe['p50']:.3f} ms "
            f"p99 {pe['p99']:.3f} ms max {pe['max']:.2f} ms, inference p50 "
            f"{lp['inference_ms']['p50']:.1f} ms, missed safety checks "
            f"{lp['missed_safety_checks']}"
        )
    load_start = os.getloadavg()
    lr = loop(
        seconds,
        args.rate,
        args.cameras,
        record=True,
        inference="process",
        rt_priority=args.rt_priority or None,
    )
    pr = lr["period_error_ms"]
    print(
        f"loop + on-disk recording (deploy defaults): {lr['achieved_hz']:.2f} Hz, |period "
        f"error| p99 {pr['p99']:.3f} ms, {lr['frames_on_disk']} frames on disk of "
        f"{lr['commands_sent_by_loop']} loop commands, finalised in {lr['finalize_s']:.1f} s"
    )
    cmd = command_line("bench_hal", None)
    write_result(
        args.name,
        {
            "fuzz": fz,
            "loop": variants,
            "loop_recording": lr,
            "load_avg": os.getloadavg(),
            "load_avg_before_recording_run": load_start,
            "wall_s": time.time() - t0,
        },
        cmd.strip(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
