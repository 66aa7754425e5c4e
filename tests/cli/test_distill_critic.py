"""`robo distill-critic` (GRM progress -> chunk critic) and steering with it in
`robo eval-policy critic=...`, at a tiny budget on SO-101 reach."""

import json

import pytest
import torch

from robo.cli.cmd_distill_critic import split_episodes
from robo.cli.main import main
from robo.steer import ChunkCritic


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "so101-reach-noisy"
    rc = main([
        "collect", "task=so101/reach", "episodes=3", "kind=noisy", "image_size=32", "video=false",
        "max_episode_steps=20", f"out={out}",
    ])  # fmt: skip
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def grm(tmp_path_factory):
    from robo.reward.checkpoint import save_checkpoint
    from robo.reward.model import ProgressRewardModel, RewardModelConfig

    torch.manual_seed(0)
    cfg = RewardModelConfig(
        image_size=32, channels=(8, 16, 16), embed_dim=16, fusion_layers=1, heads=2, n_bins=9,
        text_backend="hash",
    )  # fmt: skip
    return save_checkpoint(ProgressRewardModel(cfg), tmp_path_factory.mktemp("grm") / "grm")


@pytest.fixture(scope="module")
def critic(data, grm, tmp_path_factory):
    out = tmp_path_factory.mktemp("critic")
    rc = main([
        "distill-critic", f"data={data}", f"progress={grm}", "horizon=8", "steps=20",
        "hidden=16", "batch_size=32", f"out={out}",
    ])  # fmt: skip
    assert rc == 0
    return out


def test_split_keeps_one_of_each_and_is_seeded():
    train, test = split_episodes(5, 0.2, seed=3)
    assert len(test) == 1 and sorted(train + test) == list(range(5))
    assert split_episodes(5, 0.2, seed=3) == (train, test)
    assert split_episodes(1, 0.5, seed=0) == ([0], [])
    assert split_episodes(4, 0.0, seed=0) == ([0, 1, 2, 3], [])
    with pytest.raises(ValueError, match="held_out"):
        split_episodes(4, 1.0, seed=0)


def test_distill_writes_a_loadable_critic_and_metrics(critic, data):
    c = ChunkCritic.load(critic)
    assert c.config.horizon == 8 and c.config.action_dim == 6
    m = json.loads((critic / "metrics.json").read_text())
    assert m["progress"].endswith("grm") and m["tasks"] == ["so101/reach"]
    assert m["episodes"] == {"train": 2, "held_out": 1}
    from robo.reward.data import load_episodes

    steps = sorted(len(e) for e in load_episodes([str(data)]))
    assert m["held_out"]["windows"] in steps  # one window per step of the held-out episode
    assert m["held_out"]["windows"] + m["train"]["windows"] == sum(steps)
    assert m["held_out"]["mse"] >= 0


def test_distill_from_gt_progress(data, tmp_path):
    rc = main([
        "distill-critic", f"data={data}", "progress=gt", "horizon=4", "steps=5", "hidden=8",
        "held_out=0", f"out={tmp_path}",
    ])  # fmt: skip
    assert rc == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["progress"] == "gt" and m["held_out"] == {"windows": 0}


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    pol = tmp_path_factory.mktemp("policy")
    assert main([
        "train-policy", "task=so101/reach", "episodes=2", "goal_in_state=true",
        "policy.model.cameras=[]", "policy.model.unet_dims=[16,32]", "policy.model.horizon=8",
        "policy.model.executed=4", "policy.train.steps=3", "policy.train.batch_size=4",
        f"out={pol}",
    ]) == 0  # fmt: skip
    return pol


def test_eval_policy_steers_with_the_critic(critic, policy, tmp_path):
    out = tmp_path / "eval"
    rc = main([
        "eval-policy", f"ckpt={policy}", "steer=smc", f"critic={critic}", "critic_weight=5",
        "episodes=1", "videos=0", "max_episode_steps=8", f"out={out}",
    ])  # fmt: skip
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["critic"] == str(critic) and m["critic_weight"] == 5.0 and m["n"] == 1


def test_bad_inputs_exit_2(critic, data, policy, tmp_path, capsys):
    assert main(["distill-critic", f"data={data}", f"progress={tmp_path / 'nope'}"]) == 2
    assert "no reward model" in capsys.readouterr().err
    assert main(["distill-critic", f"data={tmp_path / 'missing'}", "progress=gt"]) == 2
    capsys.readouterr()
    assert main(["eval-policy", f"ckpt={policy}", f"critic={critic}", f"out={tmp_path}/e"]) == 2
    assert "only acts through steering" in capsys.readouterr().err
    assert main(["eval-policy", f"ckpt={policy}", "steer=smc", f"critic={tmp_path}"]) == 2
    assert "no critic.safetensors" in capsys.readouterr().err


def test_goal_in_state_rebuilds_the_wrapper_goal(data):
    from robo.cli.cmd_distill_critic import with_goal_in_state
    from robo.cli.cmd_train_policy import rollout_demos
    from robo.reward.data import load_episodes

    episodes = load_episodes([str(data)], cameras=[])
    extended = with_goal_in_state(episodes)
    for ep, ext in zip(episodes, extended):
        assert ext.state.shape == (len(ep), ep.state.shape[1] + 3)
        assert (ext.state[:, : ep.state.shape[1]] == ep.state).all()
        # the goal the eval/training wrapper appends for the same reset seed
        (ref,) = rollout_demos("so101/reach", 1, ep.seed, (), goal=True, max_episode_steps=2)
        assert abs(ext.state[:, -3:] - ref.state[0, -3:]).max() < 1e-6


def test_goal_critic_and_critic_only_steering(data, policy, tmp_path, capsys):
    critic = tmp_path / "critic"
    assert main([
        "distill-critic", f"data={data}", "progress=gt", "goal_in_state=true", "horizon=8",
        "steps=5", "hidden=8", f"out={critic}",
    ]) == 0  # fmt: skip
    assert ChunkCritic.load(critic).config.state_dim == 12 + 3  # proprio + goal
    out = tmp_path / "eval"
    for method in ("smc", "best_of_n"):
        assert main([
            "eval-policy", f"ckpt={policy}", f"steer={method}", "steer.cost=none",
            f"critic={critic}", "episodes=1", "videos=0", "max_episode_steps=8", f"out={out}",
        ]) == 0  # fmt: skip
        m = json.loads((out / "metrics.json").read_text())
        assert m["steer"]["cost"] == "none" and m["critic"] == str(critic)
    capsys.readouterr()
    assert main([
        "eval-policy", f"ckpt={policy}", "steer=smc", "steer.cost=none", "episodes=1",
        "videos=0", f"out={tmp_path}/e2",
    ]) == 2  # fmt: skip
    assert "leaves no cost" in capsys.readouterr().err


def test_cost_none_is_the_critic_alone_and_null_keeps_the_task_cost(critic):
    import sims
    from robo.cli.cmd_eval_policy import make_steer_factory
    from robo.steer import CriticCost, SumCost

    env = sims.make("so101/reach", render=False)
    c = CriticCost(ChunkCritic.load(critic), 2.0)
    alone = make_steer_factory(env, {"method": "best_of_n", "cost": "none"}, c)(env, {})
    assert alone.cost is c
    summed = make_steer_factory(env, {"method": "best_of_n", "cost": None}, c)(env, {})
    assert isinstance(summed.cost, SumCost) and summed.cost.costs[1] is c
    env.close()
