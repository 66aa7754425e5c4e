"""restore_scheduling: no thread leaves a video encode under a real-time policy (SVT-AV1 puts
its threads under SCHED_FIFO 99 when the process runs as root, as CI and this machine do)."""

import os
import threading

import pytest

from robo.data import EpisodeWriter
from robo.data.threads import restore_scheduling, thread_scheduling

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setscheduler"), reason="Linux only")


def _try_fifo(tid: int = 0, priority: int = 1) -> None:
    try:
        os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(priority))
    except PermissionError:
        pytest.skip("needs root or CAP_SYS_NICE to set SCHED_FIFO")


def test_moved_and_new_threads_are_put_back():
    me = threading.get_native_id()
    assert thread_scheduling()[me] == (os.SCHED_OTHER, 0)
    ready, release = threading.Event(), threading.Event()
    born: list[int] = []

    def worker():
        born.append(threading.get_native_id())
        _try_fifo(0, 99)
        ready.set()
        release.wait(10)

    t = threading.Thread(target=worker, daemon=True)
    try:
        with restore_scheduling():
            _try_fifo(0, 99)  # what SVT-AV1 does to the thread that opens an encoder
            t.start()
            assert ready.wait(10)
            assert thread_scheduling()[born[0]][0] == os.SCHED_FIFO
        after = thread_scheduling()
        assert after[me] == (os.SCHED_OTHER, 0)
        assert after[born[0]] == (os.SCHED_OTHER, 0)
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        release.set()
        t.join(10)


def test_a_thread_that_was_realtime_before_is_left_alone():
    _try_fifo(0, 7)  # e.g. the hardware control loop under rt_priority
    try:
        with restore_scheduling():
            pass
        assert os.sched_getscheduler(0) == os.SCHED_FIFO
        assert os.sched_getparam(0).sched_priority == 7
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def test_writing_a_video_episode_leaves_no_realtime_thread(tmp_path, fake_episodes):
    episodes, spec = fake_episodes
    assert spec.video and spec.vcodec == "libsvtav1"  # the codec that does it
    realtime = (os.SCHED_FIFO, os.SCHED_RR)
    before = {t for t, (p, _) in thread_scheduling().items() if p in realtime}
    with EpisodeWriter.open(tmp_path / "ds", spec) as writer:
        writer.write(episodes[0])
        after_write = {t for t, (p, _) in thread_scheduling().items() if p in realtime}
    after_close = {t for t, (p, _) in thread_scheduling().items() if p in realtime}
    assert after_write <= before and after_close <= before
