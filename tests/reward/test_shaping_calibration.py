"""Affine calibration of Φ (state-only through the shaper, PBRS invariance kept); scaled oracle."""

from __future__ import annotations

import numpy as np
import pytest

from robo.reward.shaping import (
    AffineCalibration,
    ImageProgress,
    ProgressEstimate,
    RewardShaper,
    ShapedReward,
    ShapingConfig,
    ShapingError,
    fit_affine_calibration,
    shaped_rewards,
)
from tests.reward.test_shaping import q_iteration, random_mdp
from tests.reward.test_shaping_wrapper import LineEnv, RedProgress


def test_fit_and_apply():
    cal = fit_affine_calibration([0.36, 0.40], [0.54, 0.58])
    assert cal == pytest.approx(AffineCalibration(0.38, 0.56))
    assert cal.gain == pytest.approx(1 / 0.18)
    np.testing.assert_allclose(cal.apply([0.2, 0.38, 0.47, 0.56, 0.9]), [0, 0, 0.5, 1, 1])
    ident = AffineCalibration()
    assert ident.is_identity
    np.testing.assert_array_equal(ident.apply([0.2, 0.9]), [0.2, 0.9])
    assert ShapingConfig().calibration.is_identity


@pytest.mark.parametrize(
    ("start", "goal"), [([0.5], [0.5]), ([0.6], [0.4]), ([], [0.5]), ([-0.1], [0.5])]
)
def test_bad_calibration_raises_with_hint(start, goal):
    with pytest.raises(ShapingError, match="hint"):
        fit_affine_calibration(start, goal)


def test_config_checks_its_calibration():
    with pytest.raises(ShapingError, match="phi_start"):
        ShapingConfig(phi_start=0.7, phi_goal=0.6)
    cfg = ShapingConfig(phi_start=0.2, phi_goal=0.6)
    assert cfg.calibration == AffineCalibration(0.2, 0.6)


class TablePotential:
    """Φ and its uncertainty read from the step info (a state function by construction)."""

    name, needs_images = "table", False

    def evaluate(self, observations, infos):
        return ProgressEstimate(
            np.array([i["phi"] for i in infos]), np.array([i["u"] for i in infos])
        )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("gate", ["none", "soft"])
def test_pbrs_with_calibrated_potential_keeps_optimal_policy(seed, gate):
    # Rewards go through the RewardShaper (calibration, then gating), one env per transition.
    P, R, terminal = random_mdp(seed)
    n_s = R.shape[0]
    rng = np.random.default_rng(200 + seed)
    phi = rng.uniform(0.3, 0.7, size=n_s)  # a compressed potential, like the GRM's
    phi[:2] = [0.3, 0.7]  # below Φ_start and above Φ_goal: the clip is exercised
    u = rng.uniform(0.0, 0.3, size=n_s)
    cfg = ShapingConfig(
        "pbrs", gamma=0.95, scale=2.0, phi_start=0.35, phi_goal=0.6, gate=gate, gate_threshold=0.4
    )
    s, a, s2 = (x.ravel() for x in np.meshgrid(*map(np.arange, R.shape), indexing="ij"))
    shaper = RewardShaper(cfg, TablePotential(), num_envs=s.size)
    shaper.reset(range(s.size), [{}] * s.size, [{"phi": phi[i], "u": u[i]} for i in s])
    shaped, _, _ = shaper.step(
        R[s, a, s2],
        terminal[s2],
        np.zeros(s.size, bool),
        [{}] * s.size,
        [{"phi": phi[i], "u": u[i]} for i in s2],
    )
    Q = q_iteration(P, R, terminal, cfg.gamma)
    Qs = q_iteration(P, shaped.reshape(R.shape), terminal, cfg.gamma)
    live = ~terminal
    np.testing.assert_array_equal(Q[live].argmax(1), Qs[live].argmax(1))
    expected = np.clip((phi - 0.35) / 0.25, 0, 1)
    if gate == "soft":
        expected = expected * np.clip(1 - u / 0.4, 0, 1)
    np.testing.assert_allclose(Qs[live], Q[live] - 2.0 * expected[live, None], atol=1e-8)


def test_calibrated_potential_depends_on_the_current_state_only():
    # Two episodes reach the same states at different times and through different histories;
    # the shaped reward's Φ(s) must be the same function of the state in both.
    gamma, cal = 0.9, AffineCalibration(0.2, 0.6)
    cfg = ShapingConfig("pbrs", gamma=gamma, phi_start=cal.phi_start, phi_goal=cal.phi_goal)
    env = ShapedReward(LineEnv(max_steps=12), cfg, ImageProgress(RedProgress(), check_every=1))
    seen: dict[int, set[float]] = {}
    for actions in ([1, 1, 1, 1, 1], [0, 0, 1, 0, 1, 0, 0, 1, 1, 1]):
        env.reset(seed=0)
        shaped, true = [], []
        for act in actions:
            x_before = env.unwrapped.x
            _, r, term, trunc, info = env.step(np.array([act], np.float32))
            seen.setdefault(x_before, set()).add(round(info["shaping"]["phi"], 9))
            shaped.append(r)
            true.append(info["shaping"]["true"])
            if term or trunc:
                break
        assert term
        disc = gamma ** np.arange(len(shaped))
        # Telescoping with Φ_cal: Σ γ^t r' = Σ γ^t r − Φ_cal(s_0) (Φ_cal(terminal) = 0).
        assert np.dot(disc, shaped) == pytest.approx(np.dot(disc, true) - cal.apply([0.0])[0])
    for x, values in seen.items():
        assert len(values) == 1  # one value per state, whatever the history
        red = round(255 * x / 5) / 255.0
        assert values.pop() == pytest.approx(cal.apply([red])[0], abs=1e-9)
    assert len(seen) == 5


def test_oracle_scale_multiplies_dense_reward_and_success_bonus():
    args = dict(reward=[0.0, 1.0], terminated=[False, True], env_reward=[5.0, 10.0])
    one = shaped_rewards(ShapingConfig("oracle", gamma=0.9, oracle_max=10.0), **args)
    small = shaped_rewards(ShapingConfig("oracle", gamma=0.9, oracle_max=10.0, scale=0.01), **args)
    np.testing.assert_allclose(one, [0.5, 1.0 + 10.0])
    np.testing.assert_allclose(small, 0.01 * one)
