"""ExpertLookahead: the expert's chunk from any state, computed in a private copy."""

import numpy as np
import pytest

import sims
from sims.experts.kinds import make_expert
from sims.experts.lookahead import ExpertLookahead, LookaheadUnsupportedError


@pytest.mark.parametrize("task", ["metaworld/reach", "metaworld/pick-place"])
def test_labels_equal_the_experts_next_actions_and_leave_the_env_alone(task):
    env = sims.make(task)
    look = ExpertLookahead(lambda: sims.make(task), horizon=4)
    expert = make_expert(env, "expert", np.random.default_rng(0))
    obs, info = env.reset(seed=3)
    expert.reset(env, obs, info)
    labels, actions = [], []
    for _ in range(24):
        raw = env.unwrapped.raw_observation
        labels.append(look(env))
        assert np.array_equal(env.unwrapped.raw_observation, raw)  # the env was not stepped
        actions.append(expert.act(env, obs, info))
        obs, _, term, trunc, info = env.step(actions[-1])
    actions = np.array(actions)
    for t in range(len(actions) - 4):
        np.testing.assert_array_equal(labels[t], actions[t : t + 4])
    assert labels[0].shape == (4, 4) and labels[0].dtype == np.float32
    look.close()


def test_a_new_episode_resyncs_the_shadow_and_bad_inputs_fail():
    env = sims.make("metaworld/reach")
    look = ExpertLookahead(lambda: sims.make("metaworld/reach"), horizon=2)
    env.reset(seed=1)
    first = look(env)
    env.reset(seed=2)  # another goal: the label must follow it
    assert not np.array_equal(look(env), first)
    with pytest.raises(ValueError, match="horizon"):
        ExpertLookahead(lambda: env, 0)

    class NoCopy:
        unwrapped = object()

    with pytest.raises(LookaheadUnsupportedError, match="cannot copy"):
        ExpertLookahead(lambda: NoCopy(), 2)(env)
