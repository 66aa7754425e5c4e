"""Keep a video encoder from leaving this process's threads under real-time scheduling.

SVT-AV1 (``libsvtav1``, LeRobot's default video codec) puts the thread that opens an encoder and
its own worker threads under ``SCHED_FIFO`` priority 99 whenever the process may (root or
``CAP_SYS_NICE``), and never puts them back. A collector or trainer running as root then
simulates and trains at the highest real-time priority and starves every other process on the
machine (including the kernel's own threads at lower priority and, on a robot, the control loop).
:func:`restore_scheduling` undoes that after each encode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

_REALTIME = tuple(getattr(os, name) for name in ("SCHED_FIFO", "SCHED_RR") if hasattr(os, name))


def thread_scheduling() -> dict[int, tuple[int, int]]:
    """``{thread id: (policy, priority)}`` for every live thread of this process (Linux;
    empty elsewhere). Threads that exit while being read are left out."""
    if not hasattr(os, "sched_getscheduler") or not os.path.isdir("/proc/self/task"):
        return {}
    out: dict[int, tuple[int, int]] = {}
    for name in os.listdir("/proc/self/task"):
        tid = int(name)
        try:
            out[tid] = (os.sched_getscheduler(tid), os.sched_getparam(tid).sched_priority)
        except OSError:  # exited meanwhile
            continue
    return out


@contextmanager
def restore_scheduling() -> Iterator[None]:
    """On exit, put back the scheduling policy of every thread that the block moved to a
    real-time policy: threads that existed before get their old (policy, priority), threads
    born in the block get ``SCHED_OTHER``. Threads that were real-time before and unchanged
    (e.g. the hardware control loop under ``rt_priority``) are left alone."""
    before = thread_scheduling()
    try:
        yield
    finally:
        for tid, now in thread_scheduling().items():
            want = before.get(tid, (os.SCHED_OTHER, 0))
            if now != want and now[0] in _REALTIME:
                try:
                    os.sched_setscheduler(tid, want[0], os.sched_param(want[1]))
                except OSError:  # exited meanwhile, or not permitted: nothing to undo then
                    continue
