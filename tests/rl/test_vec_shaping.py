"""VecShapedReward on SB3 vector envs, callbacks, and the demo warm start (toy env)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from robo.reward.shaping import (
    GammaMismatchError,
    ImageProgress,
    PrivilegedProgress,
    ProgressEstimate,
    ShapingConfig,
)
from robo.rl.envs import PolicyObservation, VecShapedReward

torch.set_num_threads(1)


class Line(gym.Env):
    """x in {0..n}; action[0] > 0 moves +1. Success (terminal) at x = n; truncation at T."""

    def __init__(self, n=4, max_steps=6):
        self.n, self.max_steps = n, max_steps
        self.action_space = gym.spaces.Box(-1, 1, (1,), np.float32)
        self.x = self.t = 0

    def _obs(self):
        img = np.full((4, 4, 3), int(255 * self.x / self.n), np.uint8)
        return {
            "images": {"front": img},
            "state": np.array([self.x], np.float32),
            "instruction": "go",
        }

    def _info(self):
        return {"success": self.x >= self.n, "progress_gt": self.x / self.n}

    def reset(self, *, seed=None, options=None):
        self.x = self.t = 0
        return self._obs(), self._info()

    def step(self, a):
        self.t += 1
        self.x = min(self.x + (1 if a[0] > 0 else 0), self.n)
        term = self.x >= self.n
        return self._obs(), float(term), term, self.t >= self.max_steps and not term, self._info()


class Gray:
    def __init__(self):
        self.calls = []

    def __call__(self, observations):
        self.calls.append(len(observations))
        phi = np.array([o["images"]["front"].mean() / 255 for o in observations])
        return ProgressEstimate(phi, np.zeros(len(phi)))


def make_venv(potential, scheme="pbrs", gamma=0.9, n=2):
    venv = DummyVecEnv([lambda: PolicyObservation(Line()) for _ in range(n)])
    return VecShapedReward(venv, ShapingConfig(scheme, gamma=gamma), potential)


def test_vec_shaping_batches_and_handles_terminal_truncation_and_autoreset():
    fn = Gray()
    venv = make_venv(ImageProgress(fn, check_every=0))
    venv.reset()
    assert fn.calls == [2]
    # env 0 always advances (terminates after 4 steps); env 1 stays (truncates after 6)
    rewards = []
    for _ in range(6):
        obs, r, dones, infos = venv.step(np.array([[1.0], [-1.0]], np.float32))
        rewards.append(r)
        assert "reward_obs" not in infos[0]
    rewards = np.array(rewards)
    # env 0: steps 1-3: 0.9*Φ' − Φ, step 4 terminal: 1 − 0.75; then a new episode
    np.testing.assert_allclose(
        rewards[:4, 0],
        [0.9 * 0.25, 0.9 * 0.5 - 0.25, 0.9 * 0.75 - 0.5, 1 - 0.75],
        atol=5e-3,  # Φ from uint8 pixels
    )
    np.testing.assert_allclose(rewards[4, 0], 0.9 * 0.25 - 0.0, atol=5e-3)  # Φ(s0) of new ep = 0
    np.testing.assert_allclose(rewards[:, 1], 0.0, atol=1e-6)
    eps = venv.shaper.drain()
    assert [e.success for e in eps] == [True, False]
    assert max(fn.calls) == 2  # one batched model call per step (plus reset batches)


def test_policy_observation_is_flat_state_and_reward_obs_only_when_rendered():
    env = PolicyObservation(Line())
    obs, info = env.reset()
    assert obs.dtype == np.float32 and obs.shape == (1,)
    assert set(info["reward_obs"]) == {"images", "instruction"}


def test_gamma_check_callback_raises_before_training():
    from stable_baselines3 import SAC

    from robo.rl.callbacks import GammaCheck

    venv = make_venv(PrivilegedProgress(), gamma=0.9)
    model = SAC("MlpPolicy", venv, gamma=0.99, learning_starts=10, device="cpu", buffer_size=100)
    with pytest.raises(GammaMismatchError):
        model.learn(5, callback=[GammaCheck()])


def test_delta_correction_fixes_stored_rewards():
    from stable_baselines3 import SAC

    from robo.rl.callbacks import DeltaCorrection

    venv = make_venv(PrivilegedProgress(), scheme="delta", n=1)
    model = SAC(
        "MlpPolicy", venv, gamma=0.9, learning_starts=100, device="cpu", seed=0, buffer_size=100
    )
    model.learn(12, callback=[DeltaCorrection()])
    buf = model.replay_buffer
    r = buf.rewards[: buf.pos, 0]
    done = buf.dones[: buf.pos, 0].astype(bool)
    nxt = buf.next_observations[: buf.pos, 0, 0] / 4.0  # Φ(s') = x / n
    # within an episode: r_t = Φ(s_{t+1}) − Φ(s_{t+2}) + success; last step: Φ(s_T) + success
    for t in range(buf.pos - 1):
        expect = nxt[t] + (1.0 if (done[t] and nxt[t] == 1.0) else 0.0)
        if not done[t]:
            expect -= nxt[t + 1]
        assert r[t] == pytest.approx(expect, abs=1e-5)


def test_demo_warm_start_fills_buffer_and_bc_fits():
    from stable_baselines3 import SAC

    from robo.rl.demos import add_to_replay_buffer, behaviour_clone, collect_demos

    class Expert:
        def reset(self, env, obs, info):
            pass

        def act(self, env, obs, info):
            return np.array([0.7], np.float32)

    cfg = ShapingConfig("pbrs", gamma=0.9)
    demos = collect_demos(Line(), Expert(), 3, 0, cfg, PrivilegedProgress())
    assert demos.successes == 3 and len(demos) == 12
    np.testing.assert_allclose(demos.reward[:4], [0.225, 0.2, 0.175, 0.25], atol=1e-6)
    venv = make_venv(PrivilegedProgress(), n=2)
    model = SAC("MlpPolicy", venv, gamma=0.9, device="cpu", seed=0, buffer_size=100)
    assert add_to_replay_buffer(model, demos) == 12
    assert model.replay_buffer.pos == 6
    loss = behaviour_clone(model, demos, steps=200, lr=3e-3)
    assert loss < 0.01
    act, _ = model.predict(demos.obs[:1], deterministic=True)
    assert act[0, 0] == pytest.approx(0.7, abs=0.1)
