"""DAgger rounds (:mod:`robo.rft.dagger`) on the 1-D point env with the toy token policy."""

import pytest
import torch
from toy_point_env import PointEnv, expert_labeler
from toy_token_policy import ToyTokenPolicy

from robo.rft.dagger import DaggerRounds, run_dagger
from robo.rft.evaluate import success_rate_lockstep
from robo.rft.loop import TaskHooks
from robo.rft.visited import DaggerConfig

torch.set_num_threads(1)


def _hooks(labeler=lambda t: expert_labeler):
    return TaskHooks(
        make_env=lambda t: PointEnv(), demos=lambda t: [], progress=lambda t: None,
        labeler=labeler,
    )  # fmt: skip


def test_dagger_rounds_aggregate_labels_and_lift_success():
    torch.manual_seed(0)
    policy = ToyTokenPolicy(horizon=2, executed=2)
    pool = [PointEnv() for _ in range(4)]
    seeds = list(range(1000, 1016))
    before = sum(success_rate_lockstep(pool, policy, seeds)["per_seed"])
    calls = []
    conf = DaggerRounds(
        rounds=3, rollouts=8, label_prob=1.0, lockstep=4,
        finetune=DaggerConfig(steps=40, lr=1e-2, ema=0.5),
    )  # fmt: skip
    rounds = run_dagger(policy, ["toy/point"], _hooks(), [], conf, seed=0,
                        after_round=calls.append, log=lambda m: None)  # fmt: skip
    assert calls == [1, 2, 3] and len(rounds) == 3
    labels = [r["labelled_samples"] for r in rounds]
    assert labels[0] > 0 and labels[0] < labels[1] < labels[2]  # aggregated over rounds
    assert all(r["visited"]["toy/point"]["labelled"] > 0 for r in rounds)
    after = sum(success_rate_lockstep(pool, policy, seeds)["per_seed"])
    assert before <= 4 and after >= 10  # of 16 held-out starts (2 -> 12 here): the move is learnt


def test_dagger_rounds_check_their_inputs():
    with pytest.raises(ValueError, match="rounds"):
        DaggerRounds(rounds=0)
    with pytest.raises(ValueError, match="label_prob"):
        DaggerRounds(label_prob=0.0)
    with pytest.raises(ValueError, match="labeler"):
        run_dagger(ToyTokenPolicy(horizon=2, executed=2), ["toy/point"], _hooks(None), [],
                   DaggerRounds(rounds=1, rollouts=1))  # fmt: skip
