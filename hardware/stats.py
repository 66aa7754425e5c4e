"""Loop statistics and ``loop_stats.json``: achieved rate, period error, inference time,
safety interventions by kind, watchdog trips, stale camera frames."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


@dataclass
class LoopStats:
    """Filled by :class:`~hardware.loop.ControlLoop`; times in ms unless named otherwise."""

    rate_hz: float
    tick_times: list[float] = field(default_factory=list)
    period_error_ms: list[float] = field(default_factory=list)
    loop_ms: list[float] = field(default_factory=list)
    inference_ms: list[float] = field(default_factory=list)
    inference_nfe: list[float] = field(default_factory=list)
    image_age_ms: list[float] = field(default_factory=list)
    stale_frames: dict[str, int] = field(default_factory=dict)
    overruns: int = 0
    missed_ticks: int = 0
    commands: int = 0
    watchdog_trips: int = 0
    interventions: dict[str, int] = field(default_factory=dict)
    shield_checks: int = 0
    unchecked_commands: int = 0
    commands_outside_limits: int | None = None
    estop: str = ""

    def tick(self, now: float, scheduled: float, warn_ms: float) -> None:
        """Record the start of a tick (``time.perf_counter`` seconds)."""
        err = (now - scheduled) * 1e3
        self.tick_times.append(now)
        self.period_error_ms.append(err)
        if err > warn_ms:
            self.overruns += 1
            if self.overruns <= 5 or self.overruns % 100 == 0:
                logger.warning(
                    "loop overrun: tick started %.1f ms late (%d so far)", err, self.overruns
                )

    def finish(self, shield: Any, robot: Any, estop: Any) -> None:
        self.interventions = dict(sorted(shield.counts.items()))
        self.shield_checks = int(shield.checked)
        # Every command a driver accepted must have come out of the shield.
        self.unchecked_commands = max(0, int(robot.sent_count) - int(shield.checked))
        self.estop = f"{estop.source}: {estop.reason}" if estop.source else ""

    @property
    def achieved_hz(self) -> float | None:
        if len(self.tick_times) < 2:
            return None
        return (len(self.tick_times) - 1) / (self.tick_times[-1] - self.tick_times[0])

    def summary(self) -> dict[str, Any]:
        """The JSON-able content of ``loop_stats.json``."""
        pe = [abs(e) for e in self.period_error_ms]
        return {
            "rate_hz": self.rate_hz,
            "achieved_hz": self.achieved_hz,
            "ticks": len(self.tick_times),
            "commands_sent": self.commands,
            "period_error_ms": {
                "p50": _pct(pe, 50),
                "p99": _pct(pe, 99),
                "max": max(pe, default=None),
            },
            "loop_work_ms": {"p50": _pct(self.loop_ms, 50), "p99": _pct(self.loop_ms, 99)},
            "inference_ms": {
                "p50": _pct(self.inference_ms, 50),
                "p99": _pct(self.inference_ms, 99),
                "count": len(self.inference_ms),
                "nfe_p50": _pct(self.inference_nfe, 50),
            },
            "image_age_ms": {
                "p50": _pct(self.image_age_ms, 50),
                "p99": _pct(self.image_age_ms, 99),
            },
            "stale_frames": self.stale_frames,
            "overruns": self.overruns,
            "missed_ticks": self.missed_ticks,
            "safety_interventions": self.interventions,
            "shield_checks": self.shield_checks,
            "unchecked_commands": self.unchecked_commands,
            "commands_outside_limits": self.commands_outside_limits,
            "watchdog_trips": self.watchdog_trips,
            "estop": self.estop,
        }

    def write(self, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**self.summary(), **(extra or {})}, indent=2))
        return path
