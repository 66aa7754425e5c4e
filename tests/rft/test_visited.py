"""Expert-chunk rewards at visited states (mode ``visited``) and the DAgger fine-tune, on a
1-D point env with the toy token policy and a scripted "expert" labeler."""

import numpy as np
import pytest
import torch
from toy_point_env import PointEnv, at_state, expert_labeler, obs_at
from toy_token_policy import ToyTokenPolicy

from robo.rft.loop import RunConfig, TaskHooks, run_rft
from robo.rft.rewards import RewardWeights
from robo.rft.trainer import DemoSample, GRPOTrainer, RFTConfig
from robo.rft.visited import DaggerConfig, finetune_on_samples, visited_samples

torch.set_num_threads(1)


def test_expert_reward_is_one_for_the_expert_chunk_and_lower_when_perturbed():
    policy = ToyTokenPolicy(horizon=2, executed=2)
    trainer = GRPOTrainer(
        policy, RFTConfig(group_size=3), RewardWeights(ctar=0, fcr=0, expert_ctar=1.0)
    )
    expert = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    tok = policy.tokenizer
    centre, _ = tok.decode(tok.encode(expert[None]))  # the expert chunk, quantised
    chunks = torch.cat([centre, centre + torch.tensor([-0.5, 0.0]), -centre])
    tokens = tok.encode(chunks)
    trainer.sample_group = lambda obs, n=None: (tokens, *tok.decode(tokens))
    sample = DemoSample(obs_at(0.0, 0.6), centre[0], "toy/point")
    for name, w in (("expert_ctar", {"expert_ctar": 1.0}), ("expert_qacr", {"expert_qacr": 1.0})):
        trainer.weights = RewardWeights(ctar=0, fcr=0, **w)
        rows, means = trainer.offline_rows([sample], term_prefix="expert_")
        assert set(means) >= {"expert_ctar", "expert_qacr", "fcr", "reward"}
        adv = rows.advantages
        assert adv[0] > adv[1] > adv[2] or (name == "expert_qacr" and adv[0] > adv[1] >= adv[2])
    from robo.rft.rewards import ctar, qacr

    valid = torch.ones(3, dtype=torch.bool)
    r = ctar(chunks, valid, centre[0])
    assert r[0] == pytest.approx(1.0) and r[1] < 1.0 and r[2] < r[1]
    q = qacr(tokens, tokens[0])
    assert q[0] == 1.0 and q[1] < 1.0
    with pytest.raises(ValueError, match="were not computed"):  # unprefixed rows lack the term
        trainer.offline_rows([sample])


def test_visited_samples_label_the_policys_own_states():
    torch.manual_seed(0)
    policy = ToyTokenPolicy(horizon=2, executed=2)
    envs = [PointEnv() for _ in range(3)]
    samples, stats = visited_samples(envs, policy, [1, 2, 3, 4], expert_labeler)
    assert stats["labelled"] == stats["visited"] == len(samples) > 0
    for s in samples:  # each label is the expert's chunk at the observed state
        x, g = s.obs["state"]
        assert torch.equal(s.chunk, torch.from_numpy(expert_labeler(at_state(x, g))))
        assert s.task == "toy/point"
    half, st = visited_samples(envs, policy, [1, 2, 3, 4], expert_labeler, 0.5,
                               np.random.default_rng(1))  # fmt: skip
    assert 0 < st["labelled"] < st["visited"]
    with pytest.raises(ValueError, match="label_prob"):
        visited_samples(envs, policy, [1], expert_labeler, 0.0)


def test_selective_labels_skip_states_where_the_policy_already_agrees():
    """min_disagreement keeps only drawn states whose sampled chunk departs from the expert's."""
    seen: list[tuple[torch.Tensor, np.ndarray]] = []

    class Spy(ToyTokenPolicy):
        def sample(self, obs, n=1, **kw):
            out = super().sample(obs, n=n, **kw)
            seen.append((out[0], obs["state"].copy()))
            return out

    envs = [PointEnv() for _ in range(3)]
    torch.manual_seed(0)
    all_, st_all = visited_samples(envs, Spy(horizon=2, executed=2), [1, 2, 3, 4], expert_labeler)
    gaps = [
        float((c - torch.from_numpy(expert_labeler(at_state(*x)))).abs().mean()) for c, x in seen
    ]
    cut = float(np.median(gaps))
    assert st_all["disagreement_median"] == pytest.approx(cut, abs=1e-6)
    torch.manual_seed(0)
    some, st = visited_samples(
        envs, Spy(horizon=2, executed=2), [1, 2, 3, 4], expert_labeler, min_disagreement=cut
    )
    assert st["visited"] == st_all["visited"]  # same rollouts: labelling never touches the env
    assert 0 < len(some) < len(all_) and len(some) == sum(g >= cut for g in gaps)
    torch.manual_seed(0)
    top, st_q = visited_samples(
        envs, Spy(horizon=2, executed=2), [1, 2, 3, 4], expert_labeler, disagreement_quantile=0.5
    )
    assert len(top) == len(some)  # the median as a per-call quantile = the same cut
    with pytest.raises(ValueError, match="disagreement_quantile"):
        visited_samples(envs, Spy(horizon=2, executed=2), [1], expert_labeler,
                        disagreement_quantile=1.0)  # fmt: skip
    with pytest.raises(ValueError, match="min_disagreement"):
        visited_samples(envs, Spy(horizon=2, executed=2), [1], expert_labeler, min_disagreement=-1)


def test_visited_run_moves_the_policy_towards_the_expert():
    torch.manual_seed(0)
    policy = ToyTokenPolicy(horizon=2, executed=2)
    hooks = TaskHooks(
        make_env=lambda t: PointEnv(), demos=lambda t: [], progress=lambda t: None,
        labeler=lambda t: expert_labeler,
    )  # fmt: skip
    weights = RewardWeights(ctar=0, fcr=0.1, expert_ctar=1.0)
    trainer = GRPOTrainer(policy, RFTConfig(group_size=8, obs_per_step=16, lr=3e-3), weights)
    probe = [DemoSample(obs_at(x, g), torch.from_numpy(expert_labeler(at_state(x, g))),
                        "toy/point") for x in (-0.4, 0.0, 0.4) for g in (-0.6, 0.6)]  # fmt: skip

    def expert_logp() -> float:
        tokens = policy.tokenizer.encode(torch.stack([p.chunk for p in probe]))
        with torch.no_grad():
            return float(policy.token_log_probs_batch([p.obs for p in probe], tokens).mean())

    start = expert_logp()
    cfg = RunConfig(mode="visited", steps=6, eval_seeds=(0, 1), lockstep_envs=4, label_prob=1.0)
    m = run_rft(trainer, ["toy/point"], hooks, cfg, log=lambda s: None)
    assert len(m["curves"]) == 6 and "expert_ctar" in m["curves"][0]
    assert m["curves"][0]["labelled"] > 0
    assert expert_logp() > start + 0.05
    with pytest.raises(ValueError, match="labeler"):
        no_lab = TaskHooks(make_env=lambda t: PointEnv(), demos=lambda t: [],
                           progress=lambda t: None)  # fmt: skip
        run_rft(trainer, ["toy/point"], no_lab, cfg, log=lambda s: None)


def test_dagger_finetune_clones_the_labels():
    torch.manual_seed(0)
    policy = ToyTokenPolicy(horizon=2, executed=2)
    samples, _ = visited_samples([PointEnv(), PointEnv()], policy, [1, 2, 3], expert_labeler)
    tokens = policy.tokenizer.encode(torch.stack([s.chunk for s in samples]))
    obs = [s.obs for s in samples]
    with torch.no_grad():
        before = float(policy.token_log_probs_batch(obs, tokens).mean())
    stats = finetune_on_samples(policy, [], samples, DaggerConfig(steps=40, lr=1e-2, ema=0.5))
    with torch.no_grad():
        after = float(policy.token_log_probs_batch(obs, tokens).mean())
    assert after > before + 0.5 and stats["labelled_samples"] == len(samples)
    assert stats["demo_fraction"] == 0.0 and stats["nll_last"] < stats["nll_first"]
    with pytest.raises(ValueError, match="nothing to clone"):
        finetune_on_samples(policy, [], [], DaggerConfig(steps=1))
