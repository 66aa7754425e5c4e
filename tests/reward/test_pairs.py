"""Pair sampling: hard negatives from failure episodes take their share of every batch."""

import numpy as np

from robo.reward.bins import HopBins
from robo.reward.pairs import EpisodeStore
from robo.reward.synthetic import make_dataset

BINS = HopBins(25)


def _store():
    eps = make_dataset(("synth/left", "synth/up"), {"expert": 3, "failure": 2}, length=16,
                       image_size=24)  # fmt: skip
    return EpisodeStore(eps, ("front", "side", "wrist"), 24, text_backend="hash", max_frames=16)


def _failure_after_share(store, hard_frac, seed=0, n=20):
    """Fraction of pairs whose AFTER frame belongs to a failure episode (by frame identity)."""
    rng = np.random.default_rng(seed)
    fail_frames = {f.tobytes() for i in range(len(store)) if store.kinds[i] == "failure"
                   for f in store.frames[i]}  # fmt: skip
    shares = []
    for _ in range(n):
        b = store.sample_batch(rng, BINS, episodes=4, frames=4, pairs=64, swap_prob=0.0,
                               hard_frac=hard_frac)  # fmt: skip
        after = b.frames[b.after].numpy()
        shares.append(np.mean([a.tobytes() in fail_frames for a in after]))
    return float(np.mean(shares))


def test_store_indexes_failures_per_task():
    store = _store()
    assert {t: len(v) for t, v in store.failures.items()} == {"synth/left": 2, "synth/up": 2}
    assert all(store.kinds[i] == "failure" for v in store.failures.values() for i in v)


def test_random_action_episodes_are_negatives_too():
    eps = make_dataset(("synth/left",), {"expert": 2, "failure": 1}, length=16, image_size=24)
    eps[-1].kind = "random"  # an unsuccessful random-action episode
    store = EpisodeStore(eps, ("front", "side", "wrist"), 24, text_backend="hash", max_frames=16)
    assert store.failures == {"synth/left": [2]}
    assert np.all(store.phi[2] == 0.0)


def test_hard_negatives_raise_failure_share():
    store = _store()
    plain = _failure_after_share(store, 0.0)
    hard = _failure_after_share(store, 0.5)
    assert hard >= 0.4 and hard > plain + 0.15


def test_cross_pairs_regress_from_demo_progress_to_zero():
    store = _store()
    rng = np.random.default_rng(1)
    b = store.sample_batch(rng, BINS, episodes=4, frames=4, pairs=256, swap_prob=0.0,
                           goal_dropout=0.0, hard_frac=1.0)  # fmt: skip
    # every pair ends on a failure frame (Φ = 0): no hop rises; demo/goal frames -> failure
    # frames regress fully, failure -> failure frames stay put
    hop = b.hop.numpy()
    assert np.all(hop <= 1e-6)
    assert (hop <= -0.99).any() and (np.abs(hop) < 1e-6).any()


def test_fail_decay_turns_forward_failure_pairs_into_regress():
    store = _store()

    def hops(decay):
        rng = np.random.default_rng(2)
        b = store.sample_batch(rng, BINS, episodes=4, frames=4, pairs=256, swap_prob=0.0,
                               goal_dropout=0.0, hard_frac=1.0, fail_decay=decay)  # fmt: skip
        return b.hop.numpy()

    partial = lambda h: ((h < -0.01) & (h > -0.99)).mean()  # noqa: E731
    # without decay a failure frame is reached by hop 0 or -1 only; with it, later frames of a
    # failure regress by part of the way
    assert partial(hops(0.0)) == 0.0
    assert partial(hops(1.0)) > 0.1
    assert np.all(hops(1.0) <= 1e-6)


def test_fail_decay_hop_is_proportional_to_the_time_between_frames():
    cand: list = []
    EpisodeStore._episode_pairs(cand, 0, -1, np.zeros(3), np.array([0, 3, 5]), "t", 0.1)
    hop = {(c[0], c[1]): c[4] for c in cand}
    assert np.isclose(hop[(0, 2)], -0.5) and np.isclose(hop[(0, 1)], -0.3)
    assert hop[(2, 0)] == 0.0 and hop[(1, 1)] == 0.0
