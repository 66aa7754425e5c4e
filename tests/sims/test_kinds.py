"""Labelled expert kinds on the fake point-mass tasks: each kind produces its label."""

import sys
from pathlib import Path

import numpy as np
import pytest

MOCKS = Path(__file__).resolve().parents[1] / "mocks"
if str(MOCKS) not in sys.path:
    sys.path.insert(0, str(MOCKS))

from fake_env import register_fake_tasks  # noqa: E402

import sims  # noqa: E402
from sims.experts import KINDS, make_expert  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _fake_tasks():
    register_fake_tasks()


def _run(task, kind, seed=0, **params):
    env = sims.make(task, render=False, max_episode_steps=80)
    expert = make_expert(env, kind, np.random.default_rng(seed), **params)
    obs, info = env.reset(seed=seed)
    expert.reset(env, obs, info)
    actions, progress = [], [info["progress_gt"]]
    done = False
    while not done:
        action = expert.act(env, obs, info)
        assert env.action_space.contains(action)
        actions.append(action)
        obs, _, term, trunc, info = env.step(action)
        progress.append(info["progress_gt"])
        done = term or trunc
    return np.array(actions), np.array(progress), info["success"], expert.metadata()


def test_expert_succeeds_and_failure_fails():
    for task in ("fake/reach", "fake/reach-abs"):
        _, _, ok, meta = _run(task, "expert")
        assert ok and meta == {"kind": "expert", "params": {}, "rewinds": [], "pauses": []}
        _, _, ok, meta = _run(task, "failure")
        assert not ok and meta["kind"] == "failure"


def test_noisy_actions_differ_from_expert_and_are_recorded():
    clean, _, _, _ = _run("fake/reach", "expert", seed=3)
    noisy, _, _, meta = _run("fake/reach", "noisy", seed=3, noise=0.2)
    n = min(len(clean), len(noisy))
    assert meta["kind"] == "noisy" and meta["params"]["noise"] == 0.2
    assert np.abs(noisy[:n, :2] - clean[:n, :2]).mean() > 0.05
    assert set(np.unique(noisy[:, 2])) <= {-1.0, 1.0}  # gripper commands carry no noise


def test_random_kind_ignores_the_expert_and_stays_in_scale():
    actions, _, ok, meta = _run("fake/reach", "random", seed=2, scale=0.5)
    again, _, _, _ = _run("fake/reach", "random", seed=2, scale=0.5)
    assert meta["kind"] == "random" and meta["params"] == {"scale": 0.5} and not ok
    np.testing.assert_array_equal(actions, again)  # seeded by the episode's rng
    env = sims.make("fake/reach", render=False)
    mid = (env.action_space.high + env.action_space.low) / 2
    half = (env.action_space.high - env.action_space.low) / 2
    assert np.all(np.abs(actions - mid) <= 0.5 * half + 1e-6)
    assert np.abs(actions - mid).max() > 0.3 * half.min()  # spread, not a constant


@pytest.mark.parametrize("task", ["fake/reach", "fake/reach-abs"])
def test_rewind_reduces_progress_in_its_range_then_recovers(task):
    _, progress, ok, meta = _run(task, "rewind", seed=1, rewind_steps=6, trigger_progress=0.6)
    assert meta["kind"] == "rewind" and len(meta["rewinds"]) == 1
    start, end = meta["rewinds"][0]
    assert meta["params"]["rewind_steps"] == [6] and meta["params"]["settle_steps"] == [3]
    assert end - start == 6 + 3  # undo, then settle
    # progress[t] is the progress before the action at step t
    assert progress[start] > meta["params"]["trigger_progress"]
    assert progress[end] < progress[start] - 0.2
    assert np.all(np.diff(progress[start : start + 7]) < 0)
    assert np.all(np.diff(progress[start : end + 1]) <= 1e-9)
    assert ok, "the closed-loop expert resumes and recovers on the fake task"


def test_rewind_ranges_are_drawn_per_episode_and_default_draws_are_unchanged():
    late = [_run("fake/reach", "rewind", seed=s, trigger_progress=[0.7, 0.8])[3] for s in range(4)]
    triggers = [m["params"]["trigger_progress"] for m in late]
    assert all(0.7 <= t <= 0.8 for t in triggers) and len(set(triggers)) > 1
    # a range equal to the default draws exactly what the default (None) draws, so datasets
    # collected before ranges existed are reproduced seed for seed
    given = _run(
        "fake/reach", "rewind", seed=5, trigger_progress=[0.3, 0.6], rewind_fraction=[0.4, 0.9]
    )[3]
    default = _run("fake/reach", "rewind", seed=5)[3]
    assert given["rewinds"] == default["rewinds"] and len(default["rewinds"]) == 1
    for key in ("trigger_progress", "rewind_steps"):
        assert given["params"][key] == default["params"][key]
    assert 0.3 <= default["params"]["trigger_progress"] <= 0.6
    long = _run("fake/reach", "rewind", seed=5, rewind_fraction=[0.9, 0.9])[3]
    short = _run("fake/reach", "rewind", seed=5, rewind_fraction=0.2)[3]
    assert long["params"]["rewind_steps"][0] > short["params"]["rewind_steps"][0]


@pytest.mark.parametrize("bad", [[0.6, 0.3], [0.1], [-0.1, 0.5]])
def test_rewind_refuses_a_bad_range(bad):
    with pytest.raises(ValueError, match="lo <= hi"):
        _run("fake/reach", "rewind", trigger_progress=bad)


def test_paused_holds_position_in_its_ranges():
    actions, progress, ok, meta = _run("fake/reach", "paused", seed=2, n_pauses=2, pause_steps=4)
    assert meta["kind"] == "paused" and len(meta["pauses"]) == 2 and ok
    for start, end in meta["pauses"]:
        assert end - start == 4
        np.testing.assert_allclose(actions[start:end, :2], 0.0)
        assert np.ptp(progress[start : end + 1]) < 1e-6


def test_paused_absolute_mode_holds_current_targets():
    actions, progress, _, meta = _run("fake/reach-abs", "paused", seed=2, pause_steps=3)
    for start, end in meta["pauses"]:
        assert np.ptp(progress[start : end + 1]) < 1e-6
        assert np.ptp(actions[start:end], axis=0).max() < 1e-6


def test_mixed_draws_documented_kinds_reproducibly():
    drawn = [_run("fake/reach", "mixed", seed=s)[3]["kind"] for s in range(12)]
    assert set(drawn) <= set(KINDS) - {"mixed"} and len(set(drawn)) >= 3
    again = [_run("fake/reach", "mixed", seed=s)[3]["kind"] for s in range(12)]
    assert drawn == again


def test_bad_kind_and_params_fail_with_hints():
    env = sims.make("fake/reach", render=False)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="choose one of"):
        make_expert(env, "lazy", rng)
    with pytest.raises(ValueError, match="valid: noise"):
        make_expert(env, "noisy", rng, sigma=0.3)
