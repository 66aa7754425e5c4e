"""bench_reward: the one-shot per-perspective breakdown scores each estimate on its own; the
no-goal arm drops the demo's goal frame."""

from __future__ import annotations

import torch

from bench.bench_reward import no_goal_metrics, per_perspective
from robo.reward.evaluate import score_for_metrics
from robo.reward.metrics import compute_metrics
from robo.reward.model import ProgressRewardModel, RewardModelConfig
from robo.reward.scoring import PERSPECTIVES
from robo.reward.synthetic import make_episode


def _setup() -> tuple[ProgressRewardModel, list, dict]:
    torch.manual_seed(0)
    model = ProgressRewardModel(RewardModelConfig(image_size=32, text_backend="hash")).eval()
    eps = [make_episode(seed=s, length=10, image_size=32) for s in range(3)]
    eps.append(make_episode(kind="failure", seed=7, length=10, image_size=32))
    return model, eps, {eps[0].task: [eps[0]]}


def test_per_perspective_scores_each_estimate_alone():
    model, eps, demos = _setup()
    out = per_perspective(model, eps[1:], demos)
    assert set(out) == set(PERSPECTIVES)
    for p in PERSPECTIVES:
        assert set(out[p]) == {"voc_s", "auroc", "voc_fail"}
        alone = score_for_metrics(model, eps[1:], demos, perspectives=(p,), reverse=False)[0]
        assert out[p]["voc_s"] == compute_metrics(alone)["voc_s"]
    fused = compute_metrics(score_for_metrics(model, eps[1:], demos, reverse=False)[0])
    # Not the fused number three times: the perspective choice reaches the scorer.
    assert len({round(out[p]["voc_fail"], 9) for p in PERSPECTIVES} | {fused["voc_fail"]}) > 1


def test_no_goal_metrics_score_without_the_demo_goal_frame():
    model, eps, demos = _setup()
    out = no_goal_metrics(model, eps[1:], demos)
    _, traces = score_for_metrics(model, eps[1:], demos, use_goal=False)
    assert out == compute_metrics(score_for_metrics(model, eps[1:], demos, use_goal=False)[0])
    # No goal frame: the backward-anchored estimate is absent on every step.
    assert all(not tr.weights[1:, 2].any() for tr in traces)
    with_goal = compute_metrics(score_for_metrics(model, eps[1:], demos)[0])
    assert out["voc_rev"] != with_goal["voc_rev"]
