"""SO-101 policy_state: proprioception plus tip, cube and target positions [m]."""

from __future__ import annotations

import numpy as np

import sims


def test_policy_state_has_goal_and_changes_with_scene():
    env = sims.make("so101/reach", render=False)
    obs, _ = env.reset(seed=0)
    s0 = env.unwrapped.policy_state()
    assert s0.shape == (21,) and s0.dtype == np.float32
    np.testing.assert_allclose(s0[:12], obs["state"], atol=1e-6)
    np.testing.assert_allclose(s0[12:15], env.unwrapped.tip_pos(), atol=1e-6)
    np.testing.assert_allclose(s0[18:21], env.unwrapped.layout.target, atol=1e-6)
    env.reset(seed=1)
    s1 = env.unwrapped.policy_state()
    assert not np.allclose(s0[18:21], s1[18:21])  # the target moves with the seed
    env.close()
