"""Online rows (groups of rollouts from one reset seed), hold on invalid chunks, transfer
metrics, and a tiny staged run on a 1-D point env with the toy token policy."""

import numpy as np
import pytest
import torch
from toy_point_env import PointEnv
from toy_token_policy import ToyTokenPolicy

from robo.rft.evaluate import success_rate, success_rate_lockstep
from robo.rft.loop import RunConfig, TaskHooks, run_rft, transfer_metrics
from robo.rft.online import MissingGRMError, online_rows, rollout, rollouts_lockstep
from robo.rft.rewards import RewardWeights
from robo.rft.trainer import DemoSample, GRPOTrainer, RFTConfig


def test_online_rows_group_advantages_per_seed_and_grm_guard():
    torch.manual_seed(0)
    env = PointEnv()
    trainer = GRPOTrainer(ToyTokenPolicy(horizon=2, executed=2), RFTConfig())
    w = RewardWeights(ctar=0, fcr=0.1, success=1.0)
    rows, means = online_rows(env, trainer, seeds=[1, 2], group=4, weights=w)
    assert len(rows) == rows.tokens.shape[0] == len(rows.advantages) > 0
    assert set(means) == {"grm", "success", "fcr", "reward", "flat_groups"}
    with pytest.raises(MissingGRMError, match="GRM checkpoint"):
        online_rows(env, trainer, [1], 2, RewardWeights(grm=1.0))
    with pytest.raises(ValueError, match="demo chunks"):
        online_rows(env, trainer, [1], 2, RewardWeights(qacr=1.0))


def _always_right() -> ToyTokenPolicy:
    """A toy policy that (almost surely) always commands a = +1 (the last bin)."""
    policy = ToyTokenPolicy(horizon=2, executed=2)
    with torch.no_grad():
        policy.head.bias.fill_(-30.0)
        policy.head.bias[policy.tokenizer.bins - 1] = 30.0
    return policy


def test_lockstep_rollouts_and_evaluation_match_one_at_a_time():
    trainer = GRPOTrainer(_always_right(), RFTConfig())
    seeds = [1, 2, 3, 4, 5]
    single = [rollout(PointEnv(), trainer, s) for s in seeds]
    many = rollouts_lockstep([PointEnv() for _ in range(2)], trainer, seeds)
    assert [r.success for r in many] == [r.success for r in single]
    assert [r.steps for r in many] == [r.steps for r in single]
    assert [len(r.tokens) for r in many] == [len(r.tokens) for r in single]
    goals = [PointEnv().reset(seed=s)[0]["state"][1] for s in seeds]
    assert [r.success for r in many] == [g > 0 for g in goals]  # x moves right only
    assert any(r.success for r in many) and not all(r.success for r in many)
    lock = success_rate_lockstep([PointEnv() for _ in range(3)], trainer.policy, seeds)
    assert lock == success_rate(PointEnv(), trainer.policy, seeds)
    rows, means = online_rows(
        [PointEnv() for _ in range(4)], trainer, [1, 2], 2, RewardWeights(ctar=0, success=1.0)
    )
    # a certain policy gives equal outcomes within each seed's group: flat, left out
    assert means["flat_groups"] == 1.0 and len(rows) == 0


def test_invalid_chunks_hold_the_robot():
    torch.manual_seed(0)
    policy = ToyTokenPolicy(horizon=2, executed=1)
    with torch.no_grad():  # make the never-decoding id certain
        policy.head.bias.fill_(-20.0)
        policy.head.bias[policy.tokenizer.invalid_id] = 20.0
    env = PointEnv()
    trainer = GRPOTrainer(policy, RFTConfig())
    rows, means = online_rows(env, trainer, [3], 2, RewardWeights(ctar=0, fcr=1.0))
    assert means["fcr"] == 0.0 and env.holds == 16  # 2 rollouts x 8 steps, all held
    # both rollouts scored 0: a flat group, left out of the rows (zero advantages, no signal)
    assert means["flat_groups"] == 1.0 and len(rows) == 0 and rows.tokens.shape == (0, 4)
    trainer.config.drop_flat_groups = False
    rows, _ = online_rows(env, trainer, [3], 2, RewardWeights(ctar=0, fcr=1.0))
    assert len(rows) == 16 and torch.equal(rows.advantages, torch.zeros(16))


def test_transfer_metrics_by_hand():
    success = {
        "before": {"a": 0.5, "b": 0.2, "c": 0.1},
        "after_0": {"a": 0.9, "b": 0.4, "c": 0.3},
        "after_1": {"a": 0.7, "b": 0.6, "c": 0.4},
    }
    m = transfer_metrics(success, [["a"], ["b", "c"]])
    assert m["bwt"] == pytest.approx(-0.2)
    assert m["old_drop_points"] == pytest.approx(20.0)
    assert m["fwt"] == pytest.approx(((0.4 - 0.2) + (0.3 - 0.1)) / 2)


def test_staged_offline_run_reports_every_stage():
    torch.manual_seed(0)
    policy = ToyTokenPolicy(horizon=2, executed=2)

    def demos(task):
        g = 0.6 if task == "p/right" else -0.6
        return [DemoSample({"images": {}, "state": np.array([x, g], np.float32),
                            "instruction": "reach", "timestamp": np.zeros(())},
                           torch.tensor([[np.sign(g - x), 0.0]] * 2, dtype=torch.float32), task)
                for x in (-0.4, 0.0, 0.4)]  # fmt: skip

    hooks = TaskHooks(make_env=lambda t: PointEnv(), demos=demos, progress=lambda t: None)
    cfg = RunConfig(steps=2, eval_seeds=(0, 1), stages=[["p/left"], ["p/right"]])
    trainer = GRPOTrainer(policy, RFTConfig(group_size=4, obs_per_step=4))
    m = run_rft(trainer, ["p/left", "p/right"], hooks, cfg, log=lambda s: None)
    assert list(m["success"]) == ["before", "after_0", "after_1"]
    assert m["transfer"]["old_tasks"] == ["p/left"] and len(m["curves"]) == 4
    with pytest.raises(ValueError, match="not in tasks"):
        run_rft(trainer, ["p/left"], hooks, RunConfig(stages=[["x"]]), log=lambda s: None)


def test_grm_progress_of_an_ensemble_is_the_members_mean():
    from robo.reward.model import ProgressRewardModel, RewardModelConfig
    from robo.rft.online import GRMProgress

    members = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        cfg = RewardModelConfig(image_size=32, text_backend="hash")
        members.append(ProgressRewardModel(cfg).eval())
    rng = np.random.default_rng(0)
    views = members[0].config.views
    frames = [
        {v: rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for v in views} for _ in range(3)
    ]

    def trace(model):
        fn = GRMProgress(model)
        return [
            fn({"images": f, "instruction": "reach"}, reset=i == 0) for i, f in enumerate(frames)
        ]

    alone = [trace(m) for m in members]
    assert not np.allclose(alone[0], alone[1])
    np.testing.assert_allclose(trace(members), np.mean(alone, axis=0), atol=1e-6)
    with pytest.raises(RuntimeError, match="before an episode reset"):
        GRMProgress(members)({"images": frames[0], "instruction": "reach"}, reset=False)
