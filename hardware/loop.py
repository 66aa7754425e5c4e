"""ControlLoop: a fixed-rate loop on one precise timer with asynchronous chunk inference.

Per tick ``t`` (period ``1/rate_hz``), in one thread:

1. e-stop check (signal, stop file, key, watchdog torque-off) -> leave the loop;
2. ``state = robot.read()``; newest camera frames (stale ones are reused and counted);
3. collect finished chunks from the inference worker (a thread or a child process,
   :mod:`hardware.inference`); if it is idle and the newest chunk has fewer than
   ``H - executed`` steps left, hand it ``(observation, t)``; it calls
   ``policy.sample(obs, 1, steer)`` and the chunk (rows for steps ``t, t+1, ...``) goes to the
   :class:`TemporalEnsembler`;
4. ``target = ensembler.action(t)`` -> ``shield.check`` -> ``robot.send`` (no action yet:
   ``shield.hold``); only fresh policy actions kick the watchdog;
5. the frame (observation, command actually sent) goes to the ``recorder`` (an on-disk
   :class:`~hardware.recording.FrameJournal` in ``robo deploy``) and, with ``record=True``,
   to :attr:`LoopResult.frames` in memory;
6. sleep until ``t0 + (t+1)/rate``: ``time.sleep`` to ``spin_s`` before the deadline, then
   spin, so the period error stays well under a millisecond on an idle core. A tick that
   starts more than a period late skips the missed slots (counted as ``missed_ticks``)
   instead of bursting catch-up commands.

On exit (duration reached, e-stop, bus fault, exception) the arm is put in its safe state
(``hold`` or ``torque_off``); the caller's ``with robot:`` block then disconnects.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from hardware.cameras import StaleFrameError
from hardware.ensemble import TemporalEnsembler
from hardware.errors import HardwareError
from hardware.estop import EStop, Watchdog
from hardware.inference import InferenceMode, make_inference
from hardware.robot import Robot, RobotState, SafeCommand
from hardware.safety import SafetyShield
from hardware.stats import LoopStats

logger = logging.getLogger(__name__)


@dataclass
class LoopConfig:
    """Control-loop settings.

    Attributes:
        rate_hz: control rate [Hz] (30 default; 50 supported).
        duration_s: stop after this long [s] (``None``: until e-stop).
        watchdog_timeout_s: no fresh policy action for this long -> watchdog trip [s].
        watchdog_action: ``hold`` (hold position) or ``torque_off``.
        safe_state: what e-stop / faults leave the arm in: ``hold`` or ``torque_off``.
        ensemble_k: temporal-ensembling decay (0 = plain mean).
        max_frame_age_s: older camera frames count as dropped [s].
        spin_s: busy-wait window before each deadline [s].
        overrun_warn_ms: log a warning when a tick starts this late [ms].
        instruction: task text put in observations.
        record: also keep every frame (observations + commands) in memory (tests, short
            runs); long recordings go to a ``recorder`` on disk instead.
        paced: False runs ticks back to back (with the twin's ``fast`` pacing: as fast as
            possible, e.g. for CI); timing statistics are then meaningless.
        inference: ``thread`` (any policy object; shares the GIL with the loop) or
            ``process`` (a child process with its own interpreter: no GIL contention, what
            ``robo deploy`` uses; policy and steerer must pickle). See
            :mod:`hardware.inference`.
        inference_nice: CPU priority offset of the inference process (``process`` only).
        torch_threads: torch threads of the inference process (``process`` only).
        warmup_timeout_s: before the first tick, the worker samples one chunk for the first
            observation and throws it away, so one-time costs (the diffusion sampler traces its
            network on first use) neither delay the first commands nor trip the watchdog; a
            warm-up that fails or takes longer than this [s] stops the run before any command
            is sent. ``None``: no warm-up.
        rt_priority: run the loop thread under ``SCHED_FIFO`` with this priority (1-99) for
            the duration of :meth:`ControlLoop.run` (Linux; needs root or CAP_SYS_NICE, else
            a warning and normal scheduling). ``None``: normal scheduling.
    """

    rate_hz: float = 30.0
    duration_s: float | None = 10.0
    watchdog_timeout_s: float = 0.5
    watchdog_action: Literal["hold", "torque_off"] = "hold"
    safe_state: Literal["hold", "torque_off"] = "hold"
    ensemble_k: float = 0.01
    max_frame_age_s: float = 0.5
    spin_s: float = 0.002
    overrun_warn_ms: float = 5.0
    instruction: str = ""
    record: bool = True
    paced: bool = True
    inference: InferenceMode = "thread"
    inference_nice: int = 5
    torch_threads: int = 1
    warmup_timeout_s: float | None = 30.0
    rt_priority: int | None = None


@dataclass
class Frame:
    """One recorded tick: the observation the loop saw and the command it sent.

    ``state`` is float32[2N]: joint positions [rad] then velocities [rad/s] (the layout of the
    SO-101 sim tasks' state); ``action`` float64[N] the command actually sent [rad].
    """

    step: int
    timestamp: float
    state: np.ndarray
    images: dict[str, np.ndarray]
    image_stamps: dict[str, float]
    action: np.ndarray
    requested: np.ndarray
    interventions: tuple[str, ...]
    from_policy: bool


@dataclass
class LoopResult:
    stats: LoopStats
    frames: list[Frame] = field(default_factory=list)
    stop_reason: str = ""
    error: str | None = None


class ControlLoop:
    """Drive ``robot`` with ``policy`` through ``shield`` at a fixed rate.

    Args:
        robot: a connected :class:`~hardware.robot.Robot`.
        policy: any ``ChunkPolicy`` (``sample(obs, n, steer) -> float[n, H, A]``).
        shield: the robot's SafetyShield (its ``dt`` should equal ``1/rate_hz``).
        config: loop settings.
        estop: e-stop sources (default: signals only).
        steer: passed to ``policy.sample`` at inference time.
        obs_state: ``RobotState -> float32[D]``, the policy's ``obs["state"]`` (default: joint
            positions; see :mod:`hardware.observation`).
        recorder: gets every :class:`Frame` as it happens (``append(frame)``), e.g. a
            :class:`~hardware.recording.FrameJournal`; the caller closes it.
    """

    def __init__(
        self,
        robot: Robot,
        policy: Any,
        shield: SafetyShield,
        config: LoopConfig | None = None,
        estop: EStop | None = None,
        steer: Any | None = None,
        obs_state: Callable[[RobotState], np.ndarray] | None = None,
        recorder: Any | None = None,
    ):
        self.robot = robot
        self.policy = policy
        self.shield = shield
        self.config = config or LoopConfig()
        if self.config.rate_hz <= 0:
            raise ValueError(f"rate_hz must be > 0, got {self.config.rate_hz}")
        rt = self.config.rt_priority
        if rt is not None and not 1 <= int(rt) <= 99:
            raise ValueError(
                f"rt_priority must be 1..99 or None, got {rt} (hint: null for normal scheduling)"
            )
        self.estop = estop or EStop()
        self.steer = steer
        self.obs_state = obs_state or (lambda s: s.joint_pos.astype(np.float32))
        self.recorder = recorder
        self.stats = LoopStats(rate_hz=self.config.rate_hz)
        self.ensembler = TemporalEnsembler(k=self.config.ensemble_k)
        self._last_images: dict[str, tuple[np.ndarray, float]] = {}
        self._torque_off = threading.Event()

    # -- safe state ---------------------------------------------------------------------------
    def _hold(self) -> SafeCommand:
        state = self.robot.read()
        return self.robot.send(self.shield.hold(state))

    def _on_watchdog(self) -> None:
        self.stats.watchdog_trips += 1
        if self.config.watchdog_action == "torque_off":
            self.robot.torque_off()
            self._torque_off.set()
            self.estop.trigger("watchdog", "no fresh policy command; torque off")
        else:
            self._hold()

    def _safe_state(self) -> None:
        try:
            if self.config.safe_state == "torque_off":
                self.robot.torque_off()
            elif self.robot.is_connected and not self._torque_off.is_set():
                self._hold()
        except Exception as err:
            logger.error("could not reach the safe state: %s", err)

    # -- observation --------------------------------------------------------------------------
    def _observation(self, state: Any) -> tuple[dict[str, Any], dict[str, float]]:
        images: dict[str, np.ndarray] = {}
        stamps: dict[str, float] = {}
        for name, cam in self.robot.cameras.items():
            try:
                frame, stamp = cam.latest(self.config.max_frame_age_s)
                self._last_images[name] = (frame, stamp)
            except StaleFrameError:
                self.stats.stale_frames[name] = self.stats.stale_frames.get(name, 0) + 1
                if name not in self._last_images:
                    continue
                frame, stamp = self._last_images[name]
            images[name] = frame
            stamps[name] = stamp
            self.stats.image_age_ms.append((state.timestamp - stamp) * 1e3)
        obs = {
            "images": images,
            "state": np.asarray(self.obs_state(state), dtype=np.float32),
            "instruction": self.config.instruction,
            "timestamp": np.float64(state.timestamp),
        }
        return obs, stamps

    # -- main loop ----------------------------------------------------------------------------
    def run(self) -> LoopResult:
        """Run until duration / e-stop / fault; always leaves the arm in its safe state."""
        cfg = self.config
        period = 1.0 / cfg.rate_hz
        horizon = int(getattr(self.policy, "horizon", 1))
        executed = int(getattr(self.policy, "executed", horizon))
        replan_at = max(horizon - executed, 0)
        worker = make_inference(
            cfg.inference,
            self.policy,
            self.ensembler,
            self.steer,
            self.stats,
            cfg.torch_threads,
            cfg.inference_nice,
        )
        watchdog = Watchdog(cfg.watchdog_timeout_s, self._on_watchdog)
        result = LoopResult(self.stats)
        old_switch = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)  # let the loop thread preempt the inference thread fast
        self.shield.reset()
        worker.start()
        old_sched = None
        n_steps = None if cfg.duration_s is None else int(round(cfg.duration_s * cfg.rate_hz))
        step = 0
        outside = 0
        try:
            if cfg.warmup_timeout_s is not None:
                obs, _ = self._observation(self.robot.read())
                ms = worker.warmup(obs, cfg.warmup_timeout_s)
                logger.info("policy warm-up chunk: %.0f ms", ms)
            old_sched = _set_realtime(cfg.rt_priority)
            watchdog.start()
            t0 = time.perf_counter()
            while True:
                now = time.perf_counter()
                late = now - (t0 + step * period)
                if cfg.paced and late >= period:
                    # Fell behind (a stall): re-anchor to the current slot rather than send a
                    # burst of catch-up commands; the ensembler's steps stay on wall time.
                    skipped = int(late // period)
                    step += skipped
                    self.stats.missed_ticks += skipped
                if n_steps is not None and step >= n_steps:
                    result.stop_reason = "duration"
                    break
                scheduled = t0 + step * period
                self.stats.tick(now, scheduled, cfg.overrun_warn_ms)
                if self.estop.is_set:
                    result.stop_reason = f"estop:{self.estop.source}"
                    break
                worker.poll()
                if worker.error is not None:
                    raise HardwareError(f"policy failed: {worker.error}")
                state = self.robot.read()
                obs, stamps = self._observation(state)
                if worker.idle and self.ensembler.horizon_left(step) <= replan_at:
                    worker.submit(obs, step)
                target = self.ensembler.action(step)
                if target is None:
                    cmd = self.shield.hold(state)
                else:
                    cmd = self.shield.check(state, target)
                    watchdog.kick()
                if self._torque_off.is_set():
                    result.stop_reason = "watchdog:torque_off"
                    break
                self.robot.send(cmd)
                self.stats.commands += 1
                self.stats.loop_ms.append((time.perf_counter() - now) * 1e3)
                if not self.shield.in_limits(cmd.target):
                    outside += 1
                if cfg.record or self.recorder is not None:
                    frame = Frame(
                        step,
                        float(state.timestamp),
                        np.concatenate([state.joint_pos, state.joint_vel]).astype(np.float32),
                        obs["images"],
                        stamps,
                        np.array(cmd.target),  # exactly what was sent (float64)
                        np.array(cmd.requested),
                        cmd.interventions,
                        target is not None,
                    )
                    if cfg.record:
                        result.frames.append(frame)
                    if self.recorder is not None:
                        self.recorder.append(frame)
                step += 1
                if cfg.paced:
                    self._sleep_until(t0 + step * period)
        except (HardwareError, ConnectionError) as err:
            result.error = str(err)
            result.stop_reason = f"fault:{type(err).__name__}"
            logger.error("control loop stopped: %s", err)
        finally:
            watchdog.stop()
            worker.stop()
            _restore_scheduler(old_sched)
            self._safe_state()
            sys.setswitchinterval(old_switch)
            self.stats.finish(self.shield, self.robot, self.estop)
            self.stats.commands_outside_limits = outside
        return result

    def _sleep_until(self, deadline: float) -> None:
        spin = self.config.spin_s
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            if left > spin:
                time.sleep(left - spin)


def _set_realtime(priority: int | None) -> tuple[int, int] | None:
    """Put the calling thread under SCHED_FIFO ``priority``; the old (policy, priority) or
    ``None`` when unchanged (not asked, not Linux, or not permitted: logged)."""
    if priority is None:
        return None
    if not hasattr(os, "sched_setscheduler"):
        logger.warning("rt_priority ignored: no SCHED_FIFO on this platform")
        return None
    old = (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority)
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(int(priority)))
    except PermissionError:
        logger.warning(
            "rt_priority ignored: SCHED_FIFO not permitted (hint: run as root or grant "
            "CAP_SYS_NICE, e.g. setcap cap_sys_nice+ep on the python binary)"
        )
        return None
    return old


def _restore_scheduler(old: tuple[int, int] | None) -> None:
    if old is not None:
        os.sched_setscheduler(0, old[0], os.sched_param(old[1]))
