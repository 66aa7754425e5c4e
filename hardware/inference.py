"""Asynchronous chunk inference for the control loop: in a thread or in its own process.

The control loop hands the newest observation to an inference worker and keeps ticking; the
worker runs ``policy.sample(obs, n=1, steer)`` and the resulting chunk float[H, A] (rows for
control steps ``step, step+1, ...``) goes into the loop's
:class:`~hardware.ensemble.TemporalEnsembler`. Latest request wins: the loop only submits
when the worker is idle.

* :class:`ThreadInference`: the policy runs in a thread of the loop's process. Cheap to
  start and works with any policy object, but the policy's Python code shares the GIL with
  the loop, so a tick can start late by a few milliseconds while a sampler step holds it.
* :class:`ProcessInference`: the policy runs in a child process with a lower CPU priority
  (``nice``), so it never holds the loop's GIL and the kernel prefers the loop when both want
  a core. Children come from a ``forkserver`` that has torch imported (never a fork of the
  loop's own process). The policy and steering objects are pickled to the child once at start; chunks come back over a pipe and the loop picks them up
  at the start of each tick (:meth:`ProcessInference.poll`). What ``robo deploy`` uses.

Both count inference time [ms] and network evaluations per chunk into the loop's
:class:`~hardware.stats.LoopStats` and surface a policy exception as :attr:`error` (the loop
then stops and puts the arm in its safe state).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import pickle
import threading
import time
from multiprocessing.connection import Connection
from typing import Any, Literal, Protocol

import numpy as np

from hardware.ensemble import TemporalEnsembler
from hardware.errors import HardwareError
from hardware.stats import LoopStats

logger = logging.getLogger(__name__)

InferenceMode = Literal["thread", "process"]


class InferenceWorker(Protocol):
    """What the control loop needs from an inference worker."""

    error: BaseException | None

    @property
    def idle(self) -> bool: ...

    def start(self) -> None: ...

    def submit(self, obs: dict[str, Any], step: int) -> None: ...

    def warmup(self, obs: dict[str, Any], timeout_s: float) -> float: ...

    def poll(self) -> None: ...

    def stop(self) -> None: ...


def _sample_chunk(policy: Any, obs: dict[str, Any], steer: Any) -> tuple[np.ndarray, float | None]:
    """One chunk float64[H, A] from ``policy`` and its NFE (``None`` if it does not say)."""
    import torch

    with torch.no_grad():
        chunks = policy.sample(obs, n=1, steer=steer)
    chunk = np.asarray(chunks[0].detach().cpu().numpy(), dtype=np.float64)
    nfe = (getattr(policy, "last_info", None) or {}).get("nfe")
    return chunk, None if nfe is None else float(nfe)


class ThreadInference:
    """Runs ``policy.sample`` on requests in a daemon thread of this process."""

    def __init__(self, policy: Any, ensembler: TemporalEnsembler, steer: Any, stats: LoopStats):
        self.policy = policy
        self.ensembler = ensembler
        self.steer = steer
        self.stats = stats
        self._req: tuple[dict[str, Any], int] | None = None
        self._cv = threading.Condition()
        self._busy = False
        self._stop = False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="inference", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=5.0)

    @property
    def idle(self) -> bool:
        return not self._busy and self._req is None

    def submit(self, obs: dict[str, Any], step: int) -> None:
        with self._cv:
            self._req = (obs, step)
            self._cv.notify()

    def warmup(self, obs: dict[str, Any], timeout_s: float) -> float:
        """Sample one chunk for ``obs`` and throw it away, so one-time costs (a sampler's
        first-call tracing, lazy caches, allocator growth) are paid before the loop's first tick.

        Returns:
            The warm-up's wall time [ms].

        Raises:
            HardwareError: the policy raised or took longer than ``timeout_s`` [s].
        """
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                _sample_chunk(self.policy, obs, self.steer)
            except Exception as err:  # noqa: BLE001 - reported to the caller below
                box["error"] = err

        t0 = time.perf_counter()
        thread = threading.Thread(target=run, name="inference-warmup", daemon=True)
        thread.start()
        thread.join(timeout_s)
        if thread.is_alive():
            raise HardwareError(_warmup_timeout(timeout_s))
        if "error" in box:
            err = box["error"]
            raise HardwareError(f"policy failed during warm-up: {type(err).__name__}: {err}")
        return (time.perf_counter() - t0) * 1e3

    def poll(self) -> None:
        """Nothing to collect: the thread adds its chunks to the ensembler itself."""

    def _run(self) -> None:
        while True:
            with self._cv:
                while self._req is None and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                obs, step = self._req  # type: ignore[misc]
                self._req = None
                self._busy = True
            try:
                t0 = time.perf_counter()
                chunk, nfe = _sample_chunk(self.policy, obs, self.steer)
                self.stats.inference_ms.append((time.perf_counter() - t0) * 1e3)
                if nfe is not None:  # network evaluations per chunk (steering multiplies them)
                    self.stats.inference_nfe.append(nfe)
                self.ensembler.add(step, chunk)
            except Exception as err:  # surfaced by the loop; the watchdog holds the arm
                logger.error("policy inference failed: %s", err)
                self.error = err
            finally:
                self._busy = False


def _serve(conn: Connection, policy: Any, steer: Any, torch_threads: int, nice: int) -> None:
    """Child process: answer ``(obs, step)`` requests with chunks until ``None`` arrives."""
    import torch

    if nice:
        with contextlib.suppress(OSError):  # not permitted: run at the parent's priority
            os.nice(nice)
    torch.set_num_threads(max(1, int(torch_threads)))
    conn.send(("ready",))
    while True:
        try:
            req = conn.recv()
        except (EOFError, OSError):  # the loop's process went away
            return
        if req is None:
            return
        obs, step = req
        try:
            t0 = time.perf_counter()
            chunk, nfe = _sample_chunk(policy, obs, steer)
            ms = (time.perf_counter() - t0) * 1e3
            if step is None:  # warm-up: the chunk is thrown away
                conn.send(("warm", ms))
            else:
                conn.send(("chunk", step, chunk, ms, nfe))
        except Exception as err:
            conn.send(("error", f"{type(err).__name__}: {err}"))


def _warmup_timeout(timeout_s: float) -> str:
    return (
        f"the policy's warm-up chunk took longer than {timeout_s:g} s (hint: a slower policy "
        "needs a larger warmup_timeout_s; fewer particles or DDIM steps make it faster)"
    )


def _context() -> Any:
    """``forkserver`` with torch preloaded: the first worker pays the torch import once, later
    ones (the dry run, then the real run; tests) fork from a clean server in well under a
    second. Never a plain ``fork`` of the loop's process (its threads, GL and torch state)."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["torch", "hardware.inference"])
    return ctx


class ProcessInference:
    """Runs ``policy.sample`` in a child process; see the module docstring.

    Args:
        policy / steer: pickled to the child once (a checkpointed ``DiffusionPolicy``, the VLA,
            the scripted/replay policies and ``robo.steer`` steerers all pickle).
        ensembler / stats: the loop's; chunks and timings are added in :meth:`poll`.
        torch_threads: torch intra-op threads in the child.
        nice: CPU priority offset of the child (higher = yields to the loop).
        start_timeout_s: how long to wait for the child to import torch and load the policy.
    """

    def __init__(
        self,
        policy: Any,
        ensembler: TemporalEnsembler,
        steer: Any,
        stats: LoopStats,
        torch_threads: int = 1,
        nice: int = 5,
        start_timeout_s: float = 120.0,
    ):
        self.policy = policy
        self.ensembler = ensembler
        self.steer = steer
        self.stats = stats
        self.torch_threads = int(torch_threads)
        self.nice = int(nice)
        self.start_timeout_s = float(start_timeout_s)
        self.error: BaseException | None = None
        self._busy = False
        self._conn: Connection | None = None
        self._proc: Any = None

    def start(self) -> None:
        """Start the child and wait until it has loaded the policy.

        Raises:
            HardwareError: the policy or steerer cannot be pickled, or the child died or did
                not report ready in time.
        """
        for name, obj in (("policy", self.policy), ("steer", self.steer)):
            try:
                pickle.dumps(obj)
            except Exception as err:
                raise HardwareError(
                    f"the {name} cannot be sent to an inference process ({type(err).__name__}: "
                    f"{err}); hint: use inference=thread"
                ) from None
        ctx = _context()
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve,
            args=(child, self.policy, self.steer, self.torch_threads, self.nice),
            name="robo-inference",
            daemon=True,
        )
        self._proc.start()
        child.close()
        self._conn = parent
        if not parent.poll(self.start_timeout_s):
            self.stop()
            raise HardwareError(
                f"the inference process did not start within {self.start_timeout_s:g} s "
                "(hint: a slow policy load; use inference=thread to run it in-process)"
            )
        try:
            parent.recv()
        except EOFError:
            code = self._proc.exitcode
            self.stop()
            raise HardwareError(
                f"the inference process died while loading the policy (exit code {code}); "
                "hint: run with inference=thread to see the policy's own error"
            ) from None

    @property
    def idle(self) -> bool:
        return not self._busy

    def submit(self, obs: dict[str, Any], step: int) -> None:
        if self._conn is None:
            raise HardwareError("inference process not started (hint: call start() first)")
        self._busy = True
        try:
            self._conn.send((obs, step))
        except (BrokenPipeError, OSError) as err:
            self.error = HardwareError(f"inference process is gone: {err}")

    def warmup(self, obs: dict[str, Any], timeout_s: float) -> float:
        """Have the child sample one chunk for ``obs`` and throw it away (before the loop's
        first tick; see :meth:`ThreadInference.warmup`). Blocks until it answers.

        Returns:
            The child's sampling time [ms].

        Raises:
            HardwareError: not started, the policy raised, the child died, or no answer within
                ``timeout_s`` [s].
        """
        conn = self._conn
        if conn is None:
            raise HardwareError("inference process not started (hint: call start() first)")
        self._busy = True  # until it answers: a timed-out child is terminated on stop()
        try:
            conn.send((obs, None))
            if not conn.poll(timeout_s):
                raise HardwareError(_warmup_timeout(timeout_s))
            msg = conn.recv()
        except (EOFError, OSError) as err:
            raise HardwareError(f"inference process died during warm-up: {err}") from None
        self._busy = False
        if msg[0] == "error":
            raise HardwareError(f"policy failed during warm-up: {msg[1]}")
        return float(msg[1])

    def poll(self) -> None:
        """Move finished chunks into the ensembler (call once per tick; never blocks)."""
        conn = self._conn
        if conn is None:
            return
        try:
            while conn.poll():
                msg = conn.recv()
                self._busy = False
                if msg[0] == "chunk":
                    _, step, chunk, ms, nfe = msg
                    self.stats.inference_ms.append(float(ms))
                    if nfe is not None:
                        self.stats.inference_nfe.append(float(nfe))
                    self.ensembler.add(int(step), chunk)
                elif msg[0] == "error":
                    logger.error("policy inference failed: %s", msg[1])
                    self.error = RuntimeError(msg[1])
        except (EOFError, OSError) as err:
            self.error = HardwareError(f"inference process died: {err}")
        if self._busy and self._proc is not None and not self._proc.is_alive():
            self.error = HardwareError(f"inference process died (exit code {self._proc.exitcode})")

    def stop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send(None)
        if self._proc is not None:
            # A stalled policy will not read the stop request: do not wait long for it.
            self._proc.join(timeout=0.5 if self._busy else 5.0)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(timeout=2.0)
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def make_inference(
    mode: InferenceMode,
    policy: Any,
    ensembler: TemporalEnsembler,
    steer: Any,
    stats: LoopStats,
    torch_threads: int = 1,
    nice: int = 5,
) -> InferenceWorker:
    """The worker for ``mode`` (``thread`` or ``process``)."""
    if mode == "thread":
        return ThreadInference(policy, ensembler, steer, stats)
    if mode == "process":
        return ProcessInference(policy, ensembler, steer, stats, torch_threads, nice)
    raise ValueError(f"inference must be 'thread' or 'process', got {mode!r}")
