"""E-stop sources and the watchdog.

:class:`EStop` latches once triggered, from any of: SIGINT / SIGTERM (handlers installed by
:meth:`EStop.install_signal_handlers`, main thread only), a stop file appearing on disk, a key
on the terminal (``q``, space or Esc, when stdin is a TTY), or code calling
:meth:`EStop.trigger`. The control loop polls :attr:`EStop.is_set` every tick and then puts the
arm in its safe state.

:class:`Watchdog` trips when no fresh policy command arrived for ``timeout_s``; its thread
then calls ``on_trip`` (hold position or torque off), independently of the control loop.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

logger = logging.getLogger(__name__)

STOP_KEYS = {"q", " ", "\x1b"}


class EStop:
    """A latched stop request with a reason.

    Args:
        stop_file: path whose existence triggers the stop (``None``: no file watch).
        keyboard: watch the terminal for q / space / Esc (only when stdin is a TTY).
    """

    def __init__(self, stop_file: str | Path | None = None, keyboard: bool = False):
        self.stop_file = Path(stop_file) if stop_file else None
        self._event = threading.Event()
        self.reason = ""
        self.source = ""
        self._old_handlers: dict[int, object] = {}
        self._key_thread: threading.Thread | None = None
        self._closed = threading.Event()
        if keyboard and sys.stdin is not None and sys.stdin.isatty():
            self._key_thread = threading.Thread(target=self._watch_keys, daemon=True)
            self._key_thread.start()

    @property
    def is_set(self) -> bool:
        """True once triggered (checks the stop file too)."""
        if not self._event.is_set() and self.stop_file is not None and self.stop_file.exists():
            self.trigger("file", f"stop file {self.stop_file} exists")
        return self._event.is_set()

    def trigger(self, source: str, reason: str = "") -> None:
        if not self._event.is_set():
            self.source, self.reason = source, reason or source
            logger.warning("E-STOP (%s): %s", source, self.reason)
        self._event.set()

    def install_signal_handlers(self) -> None:
        """SIGINT / SIGTERM trigger the e-stop instead of killing the process mid-command."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)

    def restore_signal_handlers(self) -> None:
        for sig, handler in self._old_handlers.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._old_handlers.clear()

    def close(self) -> None:
        self._closed.set()
        self.restore_signal_handlers()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.trigger("signal", signal.Signals(signum).name)

    def _watch_keys(self) -> None:
        import termios
        import tty

        fd = sys.stdin.fileno()
        try:
            old = termios.tcgetattr(fd)
        except termios.error:
            return
        try:
            tty.setcbreak(fd)
            while not self._closed.is_set() and not self._event.is_set():
                ready, _, _ = select.select([fd], [], [], 0.1)
                if ready and os.read(fd, 1).decode(errors="ignore") in STOP_KEYS:
                    self.trigger("keyboard", "stop key pressed")
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)


class Watchdog:
    """Calls ``on_trip()`` once when :meth:`kick` was not called for ``timeout_s`` seconds.

    Re-arms on the next kick; ``trips`` counts how often it fired.
    """

    def __init__(self, timeout_s: float, on_trip: Callable[[], None]):
        if timeout_s <= 0:
            raise ValueError(f"watchdog timeout must be > 0 s, got {timeout_s}")
        self.timeout_s = float(timeout_s)
        self.on_trip = on_trip
        self.trips = 0
        self.tripped = False
        self._last = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._last = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def kick(self) -> None:
        """A fresh command arrived."""
        with self._lock:
            self._last = time.monotonic()
            self.tripped = False

    def _run(self) -> None:
        period = min(self.timeout_s / 4.0, 0.05)
        while not self._stop.wait(period):
            with self._lock:
                stale = time.monotonic() - self._last > self.timeout_s
                fire = stale and not self.tripped
                if fire:
                    self.tripped = True
                    self.trips += 1
            if fire:
                logger.warning("watchdog: no fresh command for %.2f s", self.timeout_s)
                try:
                    self.on_trip()
                except Exception as err:  # the loop sees the fault on its next read
                    logger.error("watchdog action failed: %s", err)
