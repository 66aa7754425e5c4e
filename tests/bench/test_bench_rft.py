"""bench_rft's summary of DAgger evaluations after earlier rounds (pure functions, no rollouts)."""

from pathlib import Path

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


def _partial(path, seed, rounds, mid=None):
    import json

    r = {"seed": seed, "after": {"t": [1]}, "after_greedy": {"t": [1]},
         "dagger": {"rounds": [{}] * rounds}}  # fmt: skip
    if mid is not None:
        r.update({f"after_r{mid}": {"t": [0]}, f"after_greedy_r{mid}": {"t": [0]}})
    path.write_text(json.dumps({"command": f"run {seed}", "args": {"tasks": ["t"]}, "per_seed": r}))
    return str(path)


def test_load_partials_takes_the_evaluation_after_the_asked_round(tmp_path):
    from bench.bench_rft import load_partials

    four = _partial(tmp_path / "a.json", 3, rounds=4, mid=3)
    three = _partial(tmp_path / "b.json", 0, rounds=3)
    per_seed, args, commands = load_partials([three, four], at_round=3)
    assert [r["after"]["t"] for r in per_seed] == [[1], [0]]  # b ran 3 rounds; a's after_r3
    assert [r["after_greedy"]["t"] for r in per_seed] == [[1], [0]]
    assert args == {"tasks": ["t"]} and commands == ["run 0", "run 3"]
    assert load_partials([four], at_round=None)[0][0]["after"]["t"] == [1]  # as run
    with pytest.raises(SystemExit, match="no evaluation after round 2"):
        load_partials([four], at_round=2)
    with pytest.raises(SystemExit, match="repeat"):
        load_partials([three, three], at_round=None)
    other = tmp_path / "c.json"
    other.write_text(Path(three).read_text().replace('"tasks": ["t"]', '"tasks": ["u"]'))
    with pytest.raises(SystemExit, match="differs"):
        load_partials([three, str(other)], at_round=None)
    with pytest.raises(SystemExit, match="does not exist"):
        load_partials([str(tmp_path / "missing.json")], at_round=None)
