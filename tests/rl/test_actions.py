"""Bounded joint-delta actions for absolute joint-target tasks (robo.rl.actions)."""

from __future__ import annotations

from functools import partial

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import sims
from robo.rl.actions import DeltaJointAction, DeltaTask
from robo.rl.envs import policy_state
from robo.rl.train import RLConfig


class AbsoluteArm(gym.Env):
    """Two joints + a gripper; the joints go exactly to the commanded target."""

    action_mode = "absolute"
    gripper_dims = (2,)

    def __init__(self) -> None:
        self.action_space = spaces.Box(
            np.array([-1.0, -2.0, 0.0], np.float32), np.array([1.0, 2.0, 1.5], np.float32)
        )
        self.q = np.array([0.2, -0.5, 0.7])
        self.sent: list[np.ndarray] = []

    def joint_positions(self) -> np.ndarray:
        return self.q.copy()

    def reset(self, *, seed=None, options=None):
        self.q = np.array([0.2, -0.5, 0.7])
        return {"state": self.q.astype(np.float32)}, {}

    def step(self, action):
        self.sent.append(np.asarray(action))
        self.q = np.asarray(action, dtype=np.float64)
        return {"state": self.q.astype(np.float32)}, 0.0, False, False, {}


def test_deltas_move_the_commanded_target_within_the_limits():
    env = DeltaJointAction(AbsoluteArm(), max_delta=0.1)
    env.reset()
    np.testing.assert_allclose(env.command(), [0.2, -0.5, 0.7], atol=1e-6)
    env.step(np.array([1.0, -0.5, 1.0]))
    np.testing.assert_allclose(env.unwrapped.sent[-1], [0.3, -0.55, 1.5], atol=1e-6)
    for _ in range(20):  # pushing on keeps the target at the joint limit
        env.step(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(env.unwrapped.sent[-1], [1.0, -0.55, 0.0], atol=1e-6)
    env.step(np.array([0.0, 0.0, -1.0]))  # zero holds the target
    np.testing.assert_allclose(env.unwrapped.sent[-1], [1.0, -0.55, 0.0], atol=1e-6)
    assert env.action_space.shape == (3,) and env.action_space.high.max() == 1.0


def test_expert_targets_round_trip_and_large_jumps_are_rate_limited():
    env = DeltaJointAction(AbsoluteArm(), max_delta=0.1)
    env.reset()
    a = env.to_policy_action(np.array([0.25, -0.58, 1.2]))
    np.testing.assert_allclose(env.absolute(a), [0.25, -0.58, 1.2], atol=1e-6)
    a = env.to_policy_action(np.array([0.9, -0.5, 0.0]))
    assert a[0] == 1.0
    np.testing.assert_allclose(env.absolute(a), [0.3, -0.5, 0.0], atol=1e-6)


def test_policy_state_carries_the_commanded_target():
    env = DeltaJointAction(AbsoluteArm(), max_delta=0.1)
    obs, _ = env.reset()
    obs, *_ = env.step(np.array([1.0, 0.0, 0.0]))
    state = policy_state(env, obs)
    assert state.shape == (6,)
    np.testing.assert_allclose(state[3:], env.command())


def test_refuses_tasks_that_already_act_by_deltas_and_bad_options():
    class DeltaArm(AbsoluteArm):
        action_mode = "delta"

    with pytest.raises(ValueError, match="action=native"):
        DeltaJointAction(DeltaArm())
    with pytest.raises(ValueError, match="max_delta"):
        DeltaJointAction(AbsoluteArm(), max_delta=0.0)
    with pytest.raises(ValueError, match="action='joint'"):
        RLConfig(action="joint")


def test_so101_expert_succeeds_through_the_wrapper():
    spec = sims.get_spec("so101/reach")
    env = DeltaTask(partial(sims.make, "so101/reach"), 0.15)()
    obs, info = env.reset(seed=10_000)
    expert = spec.expert()
    expert.reset(env, obs, info)
    for _ in range(40):
        a = env.to_policy_action(np.asarray(expert.act(env, obs, info), np.float32))
        assert np.all(np.abs(a) <= 1)
        obs, _, terminated, truncated, info = env.step(a)
        if info["success"] or terminated or truncated:
            break
    assert info["success"]
    env.close()
