"""Vector envs: async workers (forkserver/spawn) render without deadlock; sync for n=1."""

import sys
from pathlib import Path

import numpy as np
import pytest

MOCKS = Path(__file__).resolve().parents[1] / "mocks"
if str(MOCKS) not in sys.path:
    sys.path.insert(0, str(MOCKS))

from fake_env import register_fake_tasks  # noqa: E402
from gymnasium.vector import AsyncVectorEnv, SyncVectorEnv  # noqa: E402

import sims  # noqa: E402
from sims.vector import make_vector_env  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _fake_tasks():
    register_fake_tasks()


def _drive(venv, n, steps, seeds):
    obs, info = venv.reset(seed=seeds)
    first = obs["images"]["front"].copy()
    for _ in range(steps):
        obs, reward, term, trunc, info = venv.step(np.tile([1.0, 0.0, -1.0], (n, 1)))
    return first, obs, reward, info


@pytest.mark.timeout(180)
@pytest.mark.parametrize("context", ["forkserver", "spawn"])
def test_async_fake_env_renders_in_workers(context):
    venv = make_vector_env("fake/reach", 2, context=context, image_size=16)
    try:
        assert isinstance(venv, AsyncVectorEnv)
        first, obs, reward, info = _drive(venv, 2, 5, [3, 4])
        assert obs["images"]["wrist"].shape == (2, 16, 16, 3)
        assert obs["state"].shape == (2, 3) and len(obs["instruction"]) == 2
        assert not np.array_equal(first[0], first[1])  # different seeds, different scenes
        assert not np.array_equal(first, obs["images"]["front"])  # the point moved
        assert reward.shape == (2,) and info["progress_gt"].shape == (2,)
        # Same seed in a single env gives the same first frame as worker 0.
        env = sims.make("fake/reach", image_size=16)
        np.testing.assert_array_equal(env.reset(seed=3)[0]["images"]["front"], first[0])
    finally:
        venv.close()


def test_sync_for_one_env_and_bad_arguments():
    venv = make_vector_env("fake/reach", 1, image_size=16, shift="distractor")
    assert isinstance(venv, SyncVectorEnv)
    obs, _ = venv.reset(seed=0)
    assert obs["images"]["front"].shape == (1, 16, 16, 3)
    venv.close()
    with pytest.raises(ValueError, match="n=0"):
        make_vector_env("fake/reach", 0)
    with pytest.raises(ValueError, match="fork breaks EGL"):
        make_vector_env("fake/reach", 2, context="fork")
    with pytest.raises(sims.UnknownShiftError):
        make_vector_env("fake/reach", 2, shift="lighting")


@pytest.mark.timeout(300)
def test_async_real_task_renders_without_deadlock():
    names = [t for t in ("so101/reach", "metaworld/reach") if t in sims.list_tasks()]
    if not names:
        pytest.skip("no real task family registered")
    venv = make_vector_env(names[0], 2, image_size=32)
    try:
        obs, info = venv.reset(seed=[0, 1])
        for _ in range(3):
            obs, _, _, _, info = venv.step(np.stack(venv.call("hold_action")))
        for cam in ("front", "side", "wrist"):
            assert obs["images"][cam].shape == (2, 32, 32, 3)
            assert obs["images"][cam].std() > 1.0  # a rendered scene, not a blank buffer
        assert np.isfinite(info["progress_gt"]).all()
    finally:
        venv.close()
