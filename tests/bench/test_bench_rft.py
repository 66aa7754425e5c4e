"""bench_rft's summary of DAgger evaluations after earlier rounds (pure functions, no rollouts)."""

import pytest

from bench.bench_rft import intermediate_rounds


def _seed(seed, before, before_greedy, mid, mid_greedy):
    return {
        "seed": seed,
        "before": {"t": before},
        "before_greedy": {"t": before_greedy},
        "after_r2": {"t": mid},
        "after_greedy_r2": {"t": mid_greedy},
    }


def test_intermediate_rounds_pools_and_pairs_each_round():
    per_seed = [
        _seed(0, [0, 0, 1, 1], [0, 1, 1, 1], [1, 1, 1, 0], [1, 1, 1, 1]),
        _seed(1, [0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]),
    ]
    out = intermediate_rounds(per_seed, ["t"])
    assert list(out) == ["round_2"]
    r2 = out["round_2"]
    assert r2["after_r2"]["mean"] == pytest.approx((0.75 + 0.25) / 2)
    assert r2["lift_points_sampled"] == pytest.approx(100 * (0.5 - 0.25))
    assert r2["lift_points_greedy"] == pytest.approx(100 * (0.5 - 0.375))
    assert (r2["paired_sampled"]["all"]["gained"], r2["paired_sampled"]["all"]["lost"]) == (3, 1)
    assert (r2["paired_greedy"]["all"]["gained"], r2["paired_greedy"]["all"]["lost"]) == (1, 0)


def test_intermediate_rounds_skips_rounds_a_seed_lacks():
    a = _seed(0, [1], [1], [0], [0])
    b = {k: v for k, v in _seed(1, [1], [1], [0], [0]).items() if not k.startswith("after")}
    assert intermediate_rounds([a, b], ["t"]) == {}
    no_greedy = {k: v for k, v in a.items() if k != "before_greedy"}
    out = intermediate_rounds([no_greedy], ["t"])["round_2"]
    assert "lift_points_sampled" in out and "lift_points_greedy" not in out
