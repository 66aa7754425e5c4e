"""Shaping layer: policy invariance on finite MDPs, preconditions, baselines, indicators."""

from __future__ import annotations

import numpy as np
import pytest

from robo.reward.shaping import (
    GammaMismatchError,
    ShapingConfig,
    ShapingError,
    check_learner_gamma,
    delta_rewards,
    gate_potential,
    hover_ratio,
    hover_steps,
    shaped_rewards,
)

# -- finite MDPs ----------------------------------------------------------------------------


def random_mdp(seed: int, n_states: int = 9, n_actions: int = 3, n_terminal: int = 2):
    """P[s, a, s'], R[s, a, s'] and a terminal mask (terminal states are absorbing, reward 0)."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(n_states) * 0.3, size=(n_states, n_actions))
    R = rng.normal(size=(n_states, n_actions, n_states))
    terminal = np.zeros(n_states, dtype=bool)
    terminal[-n_terminal:] = True
    return P, R, terminal


def q_iteration(P, R, terminal, gamma, iters=3000):
    """Optimal Q[s, a]; episodes end on entering a terminal state (no value after it)."""
    n_s, n_a, _ = P.shape
    Q = np.zeros((n_s, n_a))
    for _ in range(iters):
        V = np.where(terminal, 0.0, Q.max(axis=1))
        Q_new = np.einsum("sat,sat->sa", P, R + gamma * V[None, None, :])
        if np.max(np.abs(Q_new - Q)) < 1e-12:
            break
        Q = Q_new
    return Q


def shaped_table(R, terminal, phi, config):
    """R'[s, a, s'] from the library's batch reward function, one transition per entry."""
    n_s, n_a, _ = R.shape
    s, a, s2 = np.meshgrid(np.arange(n_s), np.arange(n_a), np.arange(n_s), indexing="ij")
    out = shaped_rewards(
        config, R[s, a, s2].ravel(), terminal[s2].ravel(), phi[s].ravel(), phi[s2].ravel()
    )
    return out.reshape(R.shape)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("gamma", [0.9, 0.99])
def test_pbrs_keeps_optimal_policy_on_random_mdps(seed, gamma):
    P, R, terminal = random_mdp(seed)
    # Φ of terminal states is deliberately non-zero: the shaping function must zero it.
    phi = np.random.default_rng(100 + seed).uniform(0, 1, size=R.shape[0])
    cfg = ShapingConfig("pbrs", gamma=gamma, scale=3.0)
    Q = q_iteration(P, R, terminal, gamma)
    Qs = q_iteration(P, shaped_table(R, terminal, phi, cfg), terminal, gamma)
    live = ~terminal
    np.testing.assert_array_equal(Q[live].argmax(1), Qs[live].argmax(1))
    # Stronger: Q' = Q − λΦ(s) exactly (Ng et al. 1999, Theorem 1).
    np.testing.assert_allclose(Qs[live], Q[live] - 3.0 * phi[live, None], atol=1e-8)


def trap_chain(n: int = 5):
    """A chain 0..n-1 -> goal; 'stay' keeps the state; success reward 1 on entering the goal.

    Actions: 0 = advance, 1 = stay. The goal (index n) is terminal.
    """
    n_s = n + 1
    P = np.zeros((n_s, 2, n_s))
    R = np.zeros((n_s, 2, n_s))
    for s in range(n_s):
        P[s, 0, min(s + 1, n)] = 1.0
        P[s, 1, s] = 1.0
    R[n - 1, 0, n] = 1.0
    terminal = np.zeros(n_s, dtype=bool)
    terminal[n] = True
    phi = np.linspace(0, 1, n_s)
    return P, R, terminal, phi


def test_raw_progress_reward_falls_into_the_semantic_trap_but_pbrs_does_not():
    P, R, terminal, phi = trap_chain()
    gamma = 0.99
    Q = q_iteration(P, R, terminal, gamma)
    assert (Q[:-1].argmax(1) == 0).all()  # sparse: always advance
    for scheme in ("pbrs", "raw"):
        cfg = ShapingConfig(scheme, gamma=gamma)
        Qs = q_iteration(P, shaped_table(R, terminal, phi, cfg), terminal, gamma)
        policy = Qs[:-1].argmax(1)
        if scheme == "pbrs":
            assert (policy == 0).all()
        else:
            assert policy[-1] == 1  # raw Φ: hover next to the goal forever


def test_naive_shaping_changes_the_optimal_policy_where_pbrs_does_not():
    # A progress estimate that is low on the goal frame (e.g. the arm occludes the object)
    # and an advance that costs a little: naive ΔΦ (no terminal zero, γ = 1) stops next to
    # the goal, PBRS keeps the sparse-reward policy.
    P, R, terminal, _ = trap_chain()
    R = R - 0.02 * (np.arange(2)[None, :, None] == 0)
    phi = np.array([0.0, 0.9, 0.95, 0.97, 0.99, 0.0])
    gamma = 0.9
    base = q_iteration(P, R, terminal, gamma)[:-1].argmax(1)
    assert (base == 0).all()
    pbrs = ShapingConfig("pbrs", gamma=gamma)
    naive = ShapingConfig("naive", gamma=gamma)
    Qp = q_iteration(P, shaped_table(R, terminal, phi, pbrs), terminal, gamma)
    Qn = q_iteration(P, shaped_table(R, terminal, phi, naive), terminal, gamma)
    np.testing.assert_array_equal(Qp[:-1].argmax(1), base)
    assert Qn[-2].argmax() == 1  # hovers in the state before the goal


# -- batch rewards ---------------------------------------------------------------------------


def test_terminal_zeroes_potential_but_truncation_keeps_it():
    cfg = ShapingConfig("pbrs", gamma=0.9)
    r = shaped_rewards(cfg, [0.0, 0.0], [True, False], [0.5, 0.5], [0.8, 0.8])
    np.testing.assert_allclose(r, [-0.5, 0.9 * 0.8 - 0.5])


def test_baseline_formulas():
    args = dict(reward=[1.0], terminated=[False], phi_prev=[0.25], phi_next=[0.5])
    f = lambda scheme, **kw: shaped_rewards(ShapingConfig(scheme, gamma=0.5, **kw), **args)[0]  # noqa: E731
    assert f("sparse") == 1.0
    assert f("naive") == pytest.approx(1.25)
    assert f("raw") == pytest.approx(1.5)
    assert f("clip", eta=0.75) == pytest.approx(0.75)
    assert f("clip", eta=0.25) == pytest.approx(1.0)
    assert f("delta") == pytest.approx(1.5)
    assert f("gt") == f("pbrs") == pytest.approx(1.0 + 0.25 - 0.25)
    oracle = ShapingConfig("oracle", gamma=0.5, oracle_max=10.0)
    assert shaped_rewards(oracle, [0.0], [False], env_reward=[5.0])[0] == pytest.approx(0.5)
    assert shaped_rewards(oracle, [1.0], [True], env_reward=[10.0])[0] == pytest.approx(3.0)
    with pytest.raises(ShapingError, match="env_reward"):
        shaped_rewards(oracle, [0.0], [False], env_reward=[np.nan])


def test_delta_return_to_go_is_next_progress():
    rng = np.random.default_rng(0)
    phi = rng.uniform(size=7)
    d = delta_rewards(np.zeros(6), phi)
    togo = np.cumsum(d[::-1])[::-1]
    np.testing.assert_allclose(togo, phi[1:])
    with pytest.raises(ShapingError):
        delta_rewards(np.zeros(6), phi[:-1])


def test_gamma_mismatch_raises():
    cfg = ShapingConfig("pbrs", gamma=0.99)
    check_learner_gamma(cfg, 0.99)
    with pytest.raises(GammaMismatchError, match="gamma"):
        check_learner_gamma(cfg, 0.98)
    # naive uses γ = 1 inside the difference but still checks the learner's configured γ
    assert ShapingConfig("naive", gamma=0.9).shaping_gamma == 1.0
    with pytest.raises(ShapingError):
        ShapingConfig("bogus")
    with pytest.raises(ShapingError):
        ShapingConfig("pbrs", gamma=0.0)


def test_uncertainty_gating_is_a_state_function():
    phi, unc = np.array([0.5, 0.5, 0.5]), np.array([0.0, 0.1, 0.4])
    hard = ShapingConfig(gate="hard", gate_threshold=0.2)
    soft = ShapingConfig(gate="soft", gate_threshold=0.2)
    np.testing.assert_allclose(gate_potential(phi, unc, hard), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(gate_potential(phi, unc, soft), [0.5, 0.25, 0.0])
    np.testing.assert_allclose(gate_potential(phi, unc, ShapingConfig()), phi)


# -- hack indicators --------------------------------------------------------------------------


def test_hover_ratio_counts_high_progress_steps_before_success():
    phi = np.array([0.1, 0.85, 0.9, 0.95, 0.99, 0.99])
    success = np.array([0, 0, 0, 0, 1, 1], dtype=bool)
    assert hover_steps(phi, success, 0.8) == 3
    assert hover_ratio(phi, success, 0.8) == pytest.approx(3 / 6)
    assert hover_ratio(phi, np.zeros(6, bool), 0.8) == pytest.approx(5 / 6)
    assert hover_ratio(np.zeros(0), np.zeros(0, bool)) == 0.0
    with pytest.raises(ValueError):
        hover_ratio(phi, success[:3])
