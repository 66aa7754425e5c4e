"""bench_reward_regress: the summary splits misses by the size of progress_gt's drop."""

from __future__ import annotations

import pytest

from bench.bench_reward_regress import summarise


def _row(task, gt_drop, detected, by=()):
    return {"task": task, "start": 3, "end": 9, "gt_start": 0.5, "gt_end": 0.5 - gt_drop,
            "detected": detected, "detected_by": list(by)}  # fmt: skip


def test_summary_splits_recall_by_gt_drop():
    rows = [_row("a", 0.4, True), _row("b", 0.3, False), _row("c", 0.03, False),
            _row("d", 0.05, True)]  # fmt: skip
    s = summarise(rows)
    assert s["regress_recall"] == pytest.approx(0.5) and s["n"] == 4
    assert s["recall_gt_drop_over_0.1"] == pytest.approx(0.5)
    assert s["n_gt_drop_over_0.1"] == 2
    assert s["recall_gt_drop_upto_0.1"] == pytest.approx(0.5)
    assert s["missed"] == ["b [3, 9)", "c [3, 9)"]


def test_summary_gives_each_perspectives_recall_and_their_union():
    rows = [_row("a", 0.4, True, ["incremental", "forward"]), _row("b", 0.3, False, ["backward"]),
            _row("c", 0.3, False), _row("d", 0.3, True, ["forward"])]  # fmt: skip
    s = summarise(rows)
    assert s["recall_by_perspective"] == pytest.approx(
        {"incremental": 0.25, "forward": 0.5, "backward": 0.25}
    )
    assert s["recall_any_perspective"] == pytest.approx(0.75)


def test_summary_of_no_segments_has_no_recall():
    s = summarise([])
    assert s["regress_recall"] is None and s["n"] == 0 and s["missed"] == []
    assert s["recall_any_perspective"] is None
