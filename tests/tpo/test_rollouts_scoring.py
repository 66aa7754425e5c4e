"""Rollout records (executed prefix, invalid chunks, probes) and trajectory features."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tpo_toys import ChoiceEnv, wall_probe

from robo.tpo import Trajectory, collect, features, make_objective, rollout, score_all, summarize


def test_rollout_records_executed_prefix_and_probe(toy_policy):
    env = ChoiceEnv(steps=3)
    toy_policy.executed = 2  # chunks of 2 steps; the 3-step episode ends inside the 2nd chunk
    torch.manual_seed(0)
    traj = rollout(env, toy_policy, "toy/choice", 7, probe=wall_probe, resample_invalid=5)
    assert [c.executed for c in traj.chunks] == [2, 1]
    assert traj.actions.shape == (3, 2) and traj.ee_path.shape == (4, 3)
    assert traj.contacts.tolist() == [int(a[1] > 0) for a in traj.actions]
    assert traj.group == ("toy/choice", 7)
    for c in traj.chunks:
        chunk, valid = toy_policy.tokenizer.decode(c.tokens[None])
        assert bool(valid[0]) == c.valid


def test_invalid_chunks_hold_still(toy_policy):
    with torch.no_grad():  # make the never-decoding id overwhelmingly likely
        toy_policy.head.bias[toy_policy.tokenizer.invalid_id] = 50.0
    env = ChoiceEnv(steps=2)
    traj = rollout(env, toy_policy, "toy/choice", 0, resample_invalid=1)
    assert not any(c.valid for c in traj.chunks)
    assert traj.invalid == 2 * len(traj.chunks)  # first draw + one redraw per chunk
    assert np.all(traj.actions == 0.0) and not traj.succeeded


def test_collect_is_reproducible_and_grouped(toy_policy):
    def make_env(task):
        return ChoiceEnv(task)

    a = collect(make_env, toy_policy, ["x", "y"], [0, 1], 3, seed=4, progress=False)
    b = collect(make_env, toy_policy, ["x", "y"], [0, 1], 3, seed=4, progress=False)
    assert len(a) == 12
    assert [t.group for t in a[:3]] == [("x", 0)] * 3
    assert all(torch.equal(p.chunks[0].tokens, q.chunks[0].tokens) for p, q in zip(a, b))


def _line(steps: int, success_at: int | None, through_box: bool) -> Trajectory:
    x = np.linspace(0.0, 0.3, steps + 1)
    y = np.zeros_like(x) if through_box else np.full_like(x, 0.2)
    succ = np.zeros(steps, bool)
    if success_at is not None:
        succ[success_at:] = True
    return Trajectory(
        task="t", init_seed=0, sample=0, instruction="", chunks=[],
        actions=np.zeros((steps, 2), np.float32), success=succ,
        progress_gt=np.linspace(0, 1, steps).astype(np.float32),
        ee_path=np.stack([x, y, np.zeros_like(x)], -1).astype(np.float32),
        contacts=np.array([0, 2, 1] + [0] * (steps - 3), np.int64),
        control_dt=0.05,
        scene={"obstacle": np.array([0.15, 0.0, 0.0]), "obstacle_half": np.full(3, 0.02)},
    )  # fmt: skip


def test_features_units():
    f = features(_line(10, 5, True), cost_expr="avoid_box(obstacle, obstacle_half, margin=0.0)")
    assert f["success"] == 1.0 and f["length"] == 6.0 and f["time"] == pytest.approx(0.3)
    assert f["path_length"] == pytest.approx(0.3 * 6 / 10, rel=1e-5)  # up to the first success
    assert f["collisions"] == 2.0 and f["contacts"] == 3.0
    assert f["cost"] > 0.0
    clear = features(
        _line(10, 5, False), cost_expr="avoid_box(obstacle, obstacle_half, margin=0.0)"
    )
    assert clear["cost"] == 0.0
    fail = features(_line(10, None, True))
    assert fail["length"] == 10.0 and fail["success"] == 0.0 and fail["cost"] == 0.0


def test_grm_objective_without_model_is_a_clear_error():
    obj = make_objective("success", {"weights": {"grm_progress": -1.0}})
    with pytest.raises(ValueError, match="reward="):
        score_all([_line(5, None, True)], obj)


def test_summarize_means():
    trajs = [_line(10, 5, True), _line(10, None, False)]
    score_all(trajs, make_objective("safety"))
    s = summarize(trajs)
    assert s["success"] == 0.5 and s["collisions"] == 2.0 and s["collision_rate"] == 1.0
    assert s["length_success"] == 6.0 and s["n"] == 2.0


def test_grm_progress_feature_from_rollout_frames(toy_policy):
    from robo.reward.model import ProgressRewardModel, RewardModelConfig
    from robo.tpo.scoring import grm_final_progress

    torch.manual_seed(0)
    grm = ProgressRewardModel(RewardModelConfig(image_size=32, text_backend="hash")).eval()
    env = ChoiceEnv(steps=3, images=True)
    traj = rollout(env, toy_policy, "toy/choice", 0, keep_frames=True, resample_invalid=3)
    assert len(traj.frames) == len(traj.chunks) + 1  # chunk starts + the final observation
    phi = grm_final_progress(grm, traj)
    assert 0.0 <= phi <= 1.0
    obj = make_objective("success", {"weights": {"grm_progress": -1.0}})
    (cost,) = score_all([traj], obj, reward_model=grm)
    assert traj.scores["grm_progress"] == pytest.approx(phi) and cost == pytest.approx(-phi)
    blind = rollout(ChoiceEnv(steps=2), toy_policy, "toy/choice", 0, keep_frames=True)
    with pytest.raises(ValueError, match="no camera frames"):
        grm_final_progress(grm, blind)


def test_grm_progress_feature_of_an_ensemble_is_the_members_mean(toy_policy):
    from robo.reward.model import ProgressRewardModel, RewardModelConfig
    from robo.tpo.scoring import grm_final_progress

    members = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        members.append(
            ProgressRewardModel(RewardModelConfig(image_size=32, text_backend="hash")).eval()
        )
    traj = rollout(ChoiceEnv(steps=3, images=True), toy_policy, "toy/choice", 0, keep_frames=True)
    alone = [grm_final_progress(m, traj) for m in members]
    assert alone[0] != pytest.approx(alone[1])  # two different models, so the mean says something
    assert grm_final_progress(members, traj) == pytest.approx(np.mean(alone), abs=1e-6)


def _same_trajectory(a: Trajectory, b: Trajectory) -> None:
    assert a.group == b.group and a.sample == b.sample
    assert [c.executed for c in a.chunks] == [c.executed for c in b.chunks]
    assert [c.valid for c in a.chunks] == [c.valid for c in b.chunks]
    assert all(torch.equal(p.tokens, q.tokens) for p, q in zip(a.chunks, b.chunks))
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.success, b.success)
    np.testing.assert_array_equal(a.contacts, b.contacts)
    np.testing.assert_array_equal(a.ee_path, b.ee_path)
    assert a.invalid == b.invalid


def test_lockstep_collect_runs_the_same_episodes_as_sequential(toy_policy):
    """Greedy decoding removes sampling noise: lanes=3 must reproduce lanes=1 exactly, with
    episodes ending inside a chunk and more rollouts than lanes (a second lockstep batch)."""
    toy_policy.executed = 2

    def make_env(task):
        return ChoiceEnv(task, steps=3)

    kw = dict(temperature=0.0, probe=wall_probe, progress=False, resample_invalid=2)
    seq = collect(make_env, toy_policy, ["x", "y"], [0, 1], 2, **kw)
    lock = collect(make_env, toy_policy, ["x", "y"], [0, 1], 2, lanes=3, **kw)
    assert len(lock) == len(seq) == 8
    for a, b in zip(seq, lock):
        _same_trajectory(a, b)


def test_lockstep_invalid_chunks_are_redrawn_then_held(toy_policy):
    with torch.no_grad():
        toy_policy.head.bias[toy_policy.tokenizer.invalid_id] = 50.0
    trajs = collect(
        lambda t: ChoiceEnv(t, steps=2), toy_policy, ["x"], [0, 1], 2, progress=False,
        resample_invalid=1, lanes=4,
    )  # fmt: skip
    for traj in trajs:
        assert not any(c.valid for c in traj.chunks)
        assert traj.invalid == 2 * len(traj.chunks)  # first draw + one redraw per chunk
        assert np.all(traj.actions == 0.0) and not traj.succeeded


def test_lockstep_collect_is_reproducible(toy_policy):
    def make_env(task):
        return ChoiceEnv(task, steps=2)

    a = collect(make_env, toy_policy, ["x"], [0, 1, 2], 2, seed=3, progress=False, lanes=4)
    b = collect(make_env, toy_policy, ["x"], [0, 1, 2], 2, seed=3, progress=False, lanes=4)
    assert [t.group for t in a] == [("x", s) for s in (0, 0, 1, 1, 2, 2)]
    for p, q in zip(a, b):
        _same_trajectory(p, q)


def test_lockstep_needs_an_env_per_episode(toy_policy):
    from robo.tpo.rollouts import rollout_lockstep

    with pytest.raises(ValueError, match="need as many envs"):
        rollout_lockstep([ChoiceEnv()], toy_policy, "x", [(0, 0), (0, 1)])
