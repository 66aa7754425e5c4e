"""Goal frames for evaluation: never the scored episode's own frames."""

import numpy as np
import torch

import robo.reward.ensemble as ensemble
import robo.reward.evaluate as evaluate
from robo.reward.evaluate import goal_frame, score_for_metrics
from robo.reward.model import ProgressRewardModel, RewardModelConfig
from robo.reward.synthetic import make_episode


def _goals_used(monkeypatch, episodes, demos=None) -> list:
    seen = []
    real = ensemble.score_episode  # score_for_metrics scores through the ensemble helper

    def spy(model, ep, goal_images=None, reverse=False, **kw):
        if not reverse:
            seen.append(goal_images)
        return real(model, ep, goal_images=goal_images, reverse=reverse, **kw)

    monkeypatch.setattr(ensemble, "score_episode", spy)
    model = ProgressRewardModel(RewardModelConfig(image_size=32, text_backend="hash")).eval()
    torch.manual_seed(0)
    score_for_metrics(model, episodes, demos)
    return seen


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_a_lone_expert_is_not_its_own_goal(monkeypatch):
    expert = make_episode(seed=0, length=10, image_size=32)
    failure = make_episode(kind="failure", seed=1, length=10, image_size=32)
    goals = _goals_used(monkeypatch, [expert, failure])
    # The only demo of the task is the expert itself: it gets no goal; the failure gets its.
    assert goals[0] is None and _same(goals[1], goal_frame(expert))


def test_goal_comes_from_another_demo(monkeypatch):
    a, b = (make_episode(seed=s, length=10, image_size=32) for s in (0, 1))
    goals = _goals_used(monkeypatch, [a, b])
    assert _same(goals[0], goal_frame(b)) and _same(goals[1], goal_frame(a))


def test_given_demos_skip_copies_of_the_scored_episode(monkeypatch):
    held = [
        make_episode(seed=0, length=10, image_size=32),
        make_episode(kind="failure", seed=1, length=10, image_size=32),
    ]
    demo = make_episode(seed=7, length=10, image_size=32)
    # A reloaded copy of the scored expert (same task/kind/seed) is skipped too.
    twin = make_episode(seed=0, length=10, image_size=32)
    goals = _goals_used(monkeypatch, held, {held[0].task: [twin, demo]})
    assert _same(goals[0], goal_frame(demo)) and _same(goals[1], goal_frame(twin))


def _rewind_episode(rewinds, gt, success_at=None):
    ep = make_episode(kind="rewind", seed=0, length=len(gt), image_size=32)
    ep.meta["rewinds"] = [list(r) for r in rewinds]
    ep.progress_gt = np.asarray(gt, np.float32)
    ep.success = np.zeros(len(gt), bool)
    if success_at is not None:
        ep.success[success_at:] = True
    return ep


def test_regress_segments_keep_only_rewinds_that_undo_progress():
    up, down = np.linspace(0, 0.6, 10), np.linspace(0.6, 0.2, 10)
    gt = np.r_[up, down]
    # A rewind over which progress_gt falls counts.
    assert evaluate.regress_segments(_rewind_episode([(9, 19)], gt)) == [(9, 19)]
    # One that runs past the episode's end is clipped to its last frame.
    assert evaluate.regress_segments(_rewind_episode([(9, 40)], gt)) == [(9, 19)]
    # Progress did not fall over it (undoing the approach left the task where it was).
    flat = np.r_[up, np.full(10, 0.6)]
    assert evaluate.regress_segments(_rewind_episode([(9, 19)], flat)) == []
    # The task finished inside it: the episode ended in success, no regress to detect.
    ends = np.r_[up, np.linspace(0.6, 1.0, 10)]
    assert evaluate.regress_segments(_rewind_episode([(9, 40)], ends, success_at=15)) == []
    # Without progress_gt (real data) every rewind inside the episode counts.
    nan = np.full(20, np.nan)
    assert evaluate.regress_segments(_rewind_episode([(9, 19), (19, 30)], nan)) == [(9, 19)]
