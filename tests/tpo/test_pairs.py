"""Preference-pair rules: same task + initial state only, success first, ties dropped."""

from __future__ import annotations

import numpy as np
import pytest

from robo.tpo import Trajectory, build_pairs, make_objective, prefer, score_all, unpaired_successes


def _traj(task: str, seed: int, success: bool, steps: int, contacts: int = 0) -> Trajectory:
    succ = np.zeros(steps, bool)
    if success:
        succ[-1] = True
    cons = np.zeros(steps, np.int64)
    cons[:contacts] = 1
    return Trajectory(
        task=task, init_seed=seed, sample=0, instruction="", chunks=[],
        actions=np.zeros((steps, 2), np.float32), success=succ,
        progress_gt=np.linspace(0, 1.0 if success else 0.5, steps).astype(np.float32),
        ee_path=None, contacts=cons,
    )  # fmt: skip


def test_pairs_only_inside_task_and_initial_state():
    trajs = [
        _traj("a", 0, True, 10),
        _traj("a", 1, False, 10),  # same task, other initial state
        _traj("b", 0, False, 10),  # same seed, other task
    ]
    obj = make_objective("success")
    score_all(trajs, obj)
    assert build_pairs(trajs, obj) == []
    trajs.append(_traj("a", 0, False, 10))
    score_all(trajs, obj)
    pairs = build_pairs(trajs, obj)
    assert [(p.chosen, p.rejected) for p in pairs] == [(0, 3)]


def test_unpaired_successes_are_the_successes_of_groups_without_pairs():
    trajs = [
        _traj("solved", 0, True, 10),
        _traj("solved", 0, True, 10),  # ties with the first: no pair in this group
        _traj("mixed", 0, True, 10),
        _traj("mixed", 0, False, 10),  # pairs with the success above
        _traj("failed", 0, False, 10),
        _traj("failed", 0, False, 10),
    ]
    obj = make_objective("success")
    score_all(trajs, obj)
    pairs = build_pairs(trajs, obj)
    assert [(p.chosen, p.rejected) for p in pairs] == [(2, 3)]
    assert unpaired_successes(trajs, pairs) == [0, 1]


def test_success_beats_failure_under_every_objective():
    for name in ("success", "safety", "efficiency"):
        obj = make_objective(name)
        # the success is slower and collides more: success still wins
        trajs = [_traj("a", 0, False, 20, contacts=0), _traj("a", 0, True, 200, contacts=50)]
        score_all(trajs, obj)
        (pair,) = build_pairs(trajs, obj)
        assert (pair.chosen, pair.rejected) == (1, 0)


def test_equal_success_decided_by_objective_cost_and_ties_dropped():
    eff = make_objective("efficiency", {"margin": 5.0})
    trajs = [_traj("a", 0, True, 30), _traj("a", 0, True, 50), _traj("a", 0, True, 33)]
    score_all(trajs, eff)
    got = {(p.chosen, p.rejected) for p in build_pairs(trajs, eff)}
    assert got == {(0, 1), (2, 1)}  # 30 vs 33 is within the margin: a tie, dropped
    safe = make_objective("safety", {"margin": 0.5})
    trajs = [_traj("a", 0, True, 30, contacts=4), _traj("a", 0, True, 30, contacts=0)]
    score_all(trajs, safe)
    (pair,) = build_pairs(trajs, safe)
    assert (pair.chosen, pair.rejected) == (1, 0)
    same = [_traj("a", 0, False, 30), _traj("a", 0, False, 30)]
    score_all(same, safe)
    assert build_pairs(same, safe) == []


def test_prefer_is_antisymmetric():
    obj = make_objective("efficiency", {"margin": 1.0})
    a = {"success": 1.0, "objective_cost": 10.0}
    b = {"success": 1.0, "objective_cost": 20.0}
    assert prefer(a, b, obj) == 1 and prefer(b, a, obj) == -1
    assert prefer(a, {"success": 1.0, "objective_cost": 10.5}, obj) == 0


def test_cap_keeps_widest_gaps_first():
    obj = make_objective("efficiency", {"margin": 0.0})
    trajs = [_traj("a", 0, True, n) for n in (10, 20, 30, 40)] + [_traj("a", 0, False, 40)]
    score_all(trajs, obj)
    pairs = build_pairs(trajs, obj, max_per_group=2)
    assert len(pairs) == 2
    assert all(p.gap[0] == 1.0 for p in pairs)  # success-vs-failure pairs come first


def test_unscored_and_bad_objectives_are_clear_errors():
    with pytest.raises(ValueError, match="score_all"):
        build_pairs([_traj("a", 0, True, 5)], make_objective("success"))
    with pytest.raises(ValueError, match="unknown objective"):
        make_objective("speed")
    with pytest.raises(ValueError, match="unknown feature"):
        make_objective("success", {"weights": {"colisions": 1.0}})
