"""Fixtures for robo.data tests: the fake point-mass tasks and small recorded episodes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

MOCKS = Path(__file__).resolve().parents[1] / "mocks"
if str(MOCKS) not in sys.path:
    sys.path.insert(0, str(MOCKS))

from fake_env import register_fake_tasks  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def fake_tasks() -> tuple[str, str]:
    """Register ``fake/reach`` (delta) and ``fake/reach-abs`` (absolute) for this session."""
    register_fake_tasks()
    return ("fake/reach", "fake/reach-abs")


@pytest.fixture(scope="session")
def fake_episodes(fake_tasks):
    """Three labelled fake/reach episodes (expert, rewind, failure) and their DatasetSpec."""
    import sims
    from robo.data.collect import dataset_spec, run_seed

    env = sims.make("fake/reach", image_size=32, max_episode_steps=30)
    episodes = [
        run_seed(env, kind, seed, {})
        for kind, seed in (("expert", 0), ("rewind", 1), ("failure", 2))
    ]
    return episodes, dataset_spec(env)


def _assert_same_labels(a, b) -> None:
    assert (a.task, a.instruction, a.kind, a.seed) == (b.task, b.instruction, b.kind, b.seed)
    np.testing.assert_array_equal(a.state, b.state)
    np.testing.assert_array_equal(a.action, b.action)
    np.testing.assert_array_equal(a.success, b.success)
    np.testing.assert_array_equal(a.progress_gt, b.progress_gt)
    np.testing.assert_array_equal(a.meta["subtask"], b.meta["subtask"])
    assert a.subtask_boundaries == b.subtask_boundaries


@pytest.fixture
def same_labels():
    """Assert that the non-image fields of two episodes are identical."""
    return _assert_same_labels
