"""A tiny TPO round on a toy problem must raise the probability of the preferred behaviour."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from toy_token_policy import toy_obs
from tpo_toys import ChoiceEnv, wall_probe

from robo.tpo import TPOConfig, build_pairs, collect, make_objective, run_tpo, score_all
from robo.tpo.dpo import trajectory_log_probs
from robo.tpo.train import train_on_pairs

OBS = toy_obs([0.5, -0.5])


def p_first_dim(policy, positive_bins: tuple[int, ...]) -> float:
    """Exact probability that the first token (step 0, action dim 0) is in ``positive_bins``."""
    tokens = torch.tensor([[b, 0, 0, 0] for b in range(policy.tokenizer.vocab_size)])
    with torch.no_grad():
        lp = policy.token_log_probs(OBS, tokens)[:, 0]
    return float(lp.exp()[list(positive_bins)].sum())


def test_one_round_raises_the_chosen_behaviour(toy_policy):
    """Success = first action dim > 0 (bins 2, 3 of 4): DPO must make those tokens likelier."""
    before = p_first_dim(toy_policy, (2, 3))
    obj = make_objective("success")
    trajs = collect(lambda t: ChoiceEnv(t), toy_policy, ["toy"], list(range(12)), 4,
                    seed=0, progress=False, resample_invalid=2)  # fmt: skip
    score_all(trajs, obj)
    pairs = build_pairs(trajs, obj)
    assert pairs and all(
        trajs[p.chosen].succeeded and not trajs[p.rejected].succeeded for p in pairs
    )
    ref = copy.deepcopy(toy_policy)
    cfg = TPOConfig(beta=0.5, lr=5e-2, epochs=3, pair_batch=8)
    opt = torch.optim.Adam(toy_policy.parameters(), lr=cfg.lr)
    stats = train_on_pairs(toy_policy, ref, trajs, pairs, cfg, opt)
    after = p_first_dim(toy_policy, (2, 3))
    assert after > before + 0.1, (before, after)
    assert stats["last_loss"] < stats["first_loss"]
    assert stats["first_loss"] == __import__("pytest").approx(0.6931, abs=1e-3)  # π = π_ref


def test_replay_of_unpaired_successes_adds_an_anchor(toy_policy):
    """With replay, the same DPO pairs also raise the likelihood of the replayed successes;
    the stats report the replay term; a negative weight is refused."""
    obj = make_objective("success")
    trajs = collect(lambda t: ChoiceEnv(t), toy_policy, ["toy"], list(range(12)), 4,
                    seed=0, progress=False, resample_invalid=2)  # fmt: skip
    score_all(trajs, obj)
    pairs = build_pairs(trajs, obj)
    replay = [i for i, t in enumerate(trajs) if t.succeeded]
    ref = copy.deepcopy(toy_policy)
    runs = {}
    for w in (0.0, 5.0):
        pol = copy.deepcopy(toy_policy)
        cfg = TPOConfig(beta=0.5, lr=1e-2, epochs=1, pair_batch=4, replay_weight=w)
        opt = torch.optim.Adam(pol.parameters(), lr=cfg.lr)
        stats = train_on_pairs(pol, ref, trajs, pairs, cfg, opt, torch.Generator().manual_seed(0),
                               replay)  # fmt: skip
        with torch.no_grad():
            lp = trajectory_log_probs(pol, [trajs[i] for i in replay], True)
        runs[w] = (stats, float(lp.mean()))
    assert "replay_nll" not in runs[0.0][0]
    assert runs[5.0][0]["replay_trajectories"] == len(replay)
    assert runs[5.0][1] > runs[0.0][1]
    with pytest.raises(ValueError, match="replay_weight"):
        TPOConfig(replay_weight=-1.0)


def test_safety_objective_lowers_collisions_at_equal_success(toy_policy):
    """Every rollout succeeds or fails alike on dim 0; collisions (dim 1 > 0) decide pairs."""
    before = p_first_dim_dim1(toy_policy)
    cfg = TPOConfig(rounds=1, train_seeds=list(range(10)), eval_seeds=[100, 101],
                    samples_per_init=4, beta=0.5, lr=5e-2, epochs=3, max_pairs_per_group=6)  # fmt: skip
    obj = make_objective(
        "safety", {"margin": 0.5, "cost_expr": None, "weights": {"collisions": 1.0}}
    )
    _, hist = run_tpo(toy_policy, lambda t: ChoiceEnv(t), ["toy"], obj, cfg, probe=wall_probe,
                      progress=False)  # fmt: skip
    assert hist[1]["pairs"] > 0 and hist[1]["dpo"]["steps"] > 0
    assert p_first_dim_dim1(toy_policy) < before - 0.1


def p_first_dim_dim1(policy) -> float:
    """Exact P(second token, action dim 1, in the positive bins 2, 3 | first token)."""
    vocab = policy.tokenizer.vocab_size
    tokens = torch.tensor([[a, b, 0, 0] for a in range(4) for b in range(vocab)])
    with torch.no_grad():
        lp = policy.token_log_probs(OBS, tokens)
    joint = (lp[:, 0] + lp[:, 1]).exp().reshape(4, vocab)
    return float(joint[:, 2:4].sum() / joint.sum())


def test_rounds_with_previous_reference_write_history(toy_policy):
    cfg = TPOConfig(rounds=2, train_seeds=[0, 1, 2], eval_seeds=[50, 51, 52], samples_per_init=3,
                    reference="previous", lr=1e-2, epochs=1)  # fmt: skip
    _, hist = run_tpo(toy_policy, lambda t: ChoiceEnv(t), ["toy"], make_objective("success"), cfg,
                      progress=False)  # fmt: skip
    assert [h["round"] for h in hist] == [0, 1, 2]
    assert {"success", "collisions", "length"} <= set(hist[-1]["eval"]["mean"])
    assert "toy" in hist[-1]["eval"]["per_task"]
    eps = hist[-1]["eval"]["episodes"]  # one record per rollout, keyed to pair rounds
    assert sorted(e["init_seed"] for e in eps) == [50, 51, 52]
    assert np.mean([e["success"] for e in eps]) == hist[-1]["eval"]["mean"]["success"]


def test_non_token_policy_is_refused():
    import pytest

    with pytest.raises(TypeError, match="TokenChunkPolicy"):
        run_tpo(object(), lambda t: ChoiceEnv(t), ["toy"], make_objective("success"), TPOConfig())


def test_fresh_states_roll_out_new_initial_states_every_round(toy_policy):
    """fresh_states: round r resets at train_seeds shifted by (r - 1) x span, never twice the
    same state; without it every round reuses train_seeds; a clash with eval seeds is refused."""
    seen: dict[str, set[int]] = {"all": set()}

    class Recording(ChoiceEnv):
        def reset(self, *, seed=None, options=None):
            seen["all"].add(seed)
            return super().reset(seed=seed, options=options)

    for fresh in (False, True):
        seen["all"].clear()
        cfg = TPOConfig(rounds=3, train_seeds=[10, 11], eval_seeds=[100], samples_per_init=2,
                        fresh_states=fresh, lr=1e-2, epochs=1)  # fmt: skip
        run_tpo(copy.deepcopy(toy_policy), lambda t: Recording(t), ["toy"],
                make_objective("success"), cfg, progress=False)  # fmt: skip
        train = {s for s in seen["all"] if s is not None and s < 100}
        assert train == ({10, 11, 12, 13, 14, 15} if fresh else {10, 11}), (fresh, train)
    assert TPOConfig(train_seeds=[4, 6], fresh_states=True).round_seeds(2) == [7, 9]
    with pytest.raises(ValueError, match="eval seed 1002"):
        TPOConfig(rounds=3, train_seeds=list(range(1000, 1001)), eval_seeds=[1002],
                  fresh_states=True)  # fmt: skip
