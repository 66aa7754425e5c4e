"""ShapedReward wrapper on a fake env with fake progress functions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from robo.reward.shaping import (
    GammaMismatchError,
    ImageProgress,
    NonMarkovianPotentialError,
    PotentialRangeError,
    PrivilegedProgress,
    ProgressEstimate,
    RewardShaper,
    ShapedReward,
    ShapingConfig,
    ShapingError,
    summarize,
)


class LineEnv(gym.Env):
    """x in {0..n}; action > 0 moves +1, else stays. Success (terminal) at x = n.

    The front image encodes x in its red channel, so an image-only Φ can read progress.
    """

    def __init__(self, n: int = 5, max_steps: int = 8, terminate: bool = True):
        self.n, self.max_steps, self.terminate = n, max_steps, terminate
        self.action_space = gym.spaces.Box(-1, 1, (1,), np.float32)
        self.x = 0
        self.t = 0

    def _obs(self):
        img = np.zeros((4, 4, 3), np.uint8)
        img[..., 0] = int(round(255 * self.x / self.n))
        return {
            "images": {"front": img},
            "state": np.array([self.x], np.float32),
            "instruction": "go right",
        }

    def _info(self):
        return {"success": self.x >= self.n, "progress_gt": self.x / self.n, "env_reward": -1.0}

    def reset(self, *, seed=None, options=None):
        self.x, self.t = 0, 0
        return self._obs(), self._info()

    def step(self, action):
        self.t += 1
        if float(np.asarray(action).ravel()[0]) > 0:
            self.x = min(self.x + 1, self.n)
        success = self.x >= self.n
        terminated = success and self.terminate
        truncated = self.t >= self.max_steps and not terminated
        return self._obs(), float(success), terminated, truncated, self._info()


class RedProgress:
    """Fake GRM: Φ = mean red / 255 of the front camera; records what it was given."""

    def __init__(self):
        self.seen_keys: set[str] = set()
        self.batches: list[int] = []

    def __call__(self, observations):
        self.batches.append(len(observations))
        for o in observations:
            self.seen_keys |= set(o)
        phi = np.array([o["images"]["front"][..., 0].mean() / 255.0 for o in observations])
        return ProgressEstimate(phi, np.full(len(phi), 0.05))


def rollout(env, actions):
    obs, info = env.reset(seed=0)
    out = []
    for a in actions:
        obs, r, term, trunc, info = env.step(np.array([a], np.float32))
        out.append((r, term, trunc, info))
        if term or trunc:
            break
    return out


def test_pbrs_telescopes_on_termination_and_model_sees_images_only():
    fn = RedProgress()
    gamma = 0.9
    env = ShapedReward(LineEnv(), ShapingConfig("pbrs", gamma=gamma), ImageProgress(fn))
    steps = rollout(env, [1, 0, 1, 1, 1, 1])
    assert steps[-1][1]  # terminated at the goal
    shaped = np.array([s[0] for s in steps])
    true = np.array([s[3]["shaping"]["true"] for s in steps])
    disc = gamma ** np.arange(len(shaped))
    # Σ γ^t r'_t = Σ γ^t r_t − Φ(s_0) with Φ(terminal) = 0; Φ(s_0) = 0 here.
    assert np.dot(disc, shaped) == pytest.approx(np.dot(disc, true))
    assert steps[-1][0] == pytest.approx(1.0 - 0.8)  # r − Φ(s) on the terminal step
    assert fn.seen_keys == {"images", "instruction"}  # no state, no info
    ind = steps[-1][3]["episode_indicators"]
    assert ind["success"] and ind["success_step"] == 6 and ind["steps"] == 6


def test_truncation_keeps_the_potential():
    gamma = 0.9
    env = ShapedReward(
        LineEnv(max_steps=3), ShapingConfig("pbrs", gamma=gamma), PrivilegedProgress()
    )
    steps = rollout(env, [1, 1, 1])
    assert steps[-1][2] and not steps[-1][1]
    # last step: Φ(s)=0.4 -> Φ(s')=0.6, truncated: r' = γ·0.6 − 0.4
    assert steps[-1][0] == pytest.approx(gamma * 0.6 - 0.4)
    shaped = np.array([s[0] for s in steps])
    disc = gamma ** np.arange(3)
    assert np.dot(disc, shaped) == pytest.approx(gamma**3 * 0.6 - 0.0)


def test_wrapper_gamma_check():
    env = ShapedReward(LineEnv(), ShapingConfig("pbrs", gamma=0.99), PrivilegedProgress())
    env.check_learner_gamma(0.99)
    with pytest.raises(GammaMismatchError):
        env.check_learner_gamma(0.95)


def test_history_dependent_progress_is_refused():
    class Counter:
        """Φ grows with the number of calls: depends on history, not the state."""

        def __init__(self):
            self.calls = 0

        def __call__(self, observations):
            self.calls += 1
            v = min(0.01 * self.calls, 1.0)
            return ProgressEstimate(np.full(len(observations), v), np.zeros(len(observations)))

    env = ShapedReward(
        LineEnv(max_steps=50), ShapingConfig("pbrs"), ImageProgress(Counter(), check_every=5)
    )
    with pytest.raises(NonMarkovianPotentialError, match="current state"):
        rollout(env, [0] * 20)

    class Declared(Counter):
        markovian = False

    with pytest.raises(NonMarkovianPotentialError, match="markovian"):
        ImageProgress(Declared())


def test_bad_potentials_raise():
    class TooBig:
        def __call__(self, observations):
            return ProgressEstimate(np.full(len(observations), 1.5), np.zeros(len(observations)))

    env = ShapedReward(LineEnv(), ShapingConfig("pbrs"), ImageProgress(TooBig()))
    with pytest.raises(PotentialRangeError, match=r"\[0, 1\]"):
        env.reset()

    class WrongShape:
        def __call__(self, observations):
            return ProgressEstimate(np.zeros(3), np.zeros(3))

    env = ShapedReward(LineEnv(), ShapingConfig("pbrs"), ImageProgress(WrongShape()))
    with pytest.raises(PotentialRangeError, match="shape"):
        env.reset()
    with pytest.raises(ShapingError, match="needs a potential"):
        ShapedReward(LineEnv(), ShapingConfig("pbrs"), None)


def test_batched_shaper_calls_the_model_once_per_step_and_delta_corrections_match():
    fn = RedProgress()
    cfg = ShapingConfig("delta", gamma=0.9)
    shaper = RewardShaper(cfg, ImageProgress(fn, check_every=0), num_envs=3)
    envs = [LineEnv(max_steps=4) for _ in range(3)]
    starts = [e.reset() for e in envs]
    shaper.reset([0, 1, 2], [s[0] for s in starts], [s[1] for s in starts])
    stored = [[] for _ in envs]
    phis = [[0.0] for _ in envs]
    for t in range(4):
        outs = [e.step(np.array([1.0 if (i + t) % 2 else -1.0])) for i, e in enumerate(envs)]
        shaped, corr, _ = shaper.step(
            np.array([o[1] for o in outs]),
            np.array([o[2] for o in outs]),
            np.array([o[3] for o in outs]),
            [o[0] for o in outs],
            [o[4] for o in outs],
        )
        for i, o in enumerate(outs):
            if stored[i]:
                stored[i][-1] += corr[i]
            stored[i].append(shaped[i])
            phis[i].append(o[4]["progress_gt"])
    assert fn.batches == [3] * 5
    from robo.reward.shaping import delta_rewards

    for i in range(3):
        np.testing.assert_allclose(stored[i], delta_rewards(np.zeros(4), np.array(phis[i])))
    stats = summarize(shaper.drain())
    assert stats["episodes"] == 3 and stats["success_rate"] == 0.0


def test_raw_progress_hovering_shows_in_indicators():
    # Hover next to the goal (x = 4 of 5, Φ = 0.8 + ε would be needed: use threshold 0.7).
    cfg = ShapingConfig("raw", gamma=0.9, hover_threshold=0.7)
    env = ShapedReward(LineEnv(max_steps=10), cfg, PrivilegedProgress())
    steps = rollout(env, [1, 1, 1, 1] + [0] * 6)
    ind = steps[-1][3]["episode_indicators"]
    assert not ind["success"]
    assert ind["hover_steps"] == 6 and ind["hover_steps_gt"] == 6
    assert ind["shaped_return"] - ind["true_return"] == pytest.approx(0.2 + 0.4 + 0.6 + 0.8 * 7)
