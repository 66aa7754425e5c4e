"""bench_tpo's paired collision-reduction CI (pure function, no rollouts)."""

import pytest

from bench.bench_tpo import paired_ci


def _run(before, after):
    ev = lambda xs: {  # noqa: E731
        "episodes": [
            {"task": "t", "init_seed": i, "sample": 0, "collisions": c} for i, c in enumerate(xs)
        ]
    }
    return {"rounds": [{"eval": ev(before)}, {"eval": ev(after)}]}


def test_paired_ci_pairs_rollouts_by_initial_state():
    res = paired_ci([_run([10, 0, 20, 10], [5, 0, 10, 5])], "collisions", n_boot=200)
    assert res["reduction"] == pytest.approx(0.5) and res["n_pairs"] == 4
    lo, hi = res["ci95"]
    assert lo <= 0.5 <= hi and hi <= 0.5 + 1e-9  # every pair halves: no spread above 0.5


def test_paired_ci_needs_per_episode_records():
    old = {"rounds": [{"eval": {"mean": {}}}, {"eval": {"mean": {}}}]}
    assert paired_ci([old], "collisions") is None


def test_paired_delta_counts_rollouts_gained_and_lost():
    from bench.bench_tpo import paired_delta

    run = _run([0, 1, 1, 0], [1, 1, 0, 1])
    run = {"rounds": [{"eval": {"episodes": [{**e, "success": e.pop("collisions")}
                                             for e in r["eval"]["episodes"]]}}
                      for r in run["rounds"]]}  # fmt: skip
    res = paired_delta([run], "success", n_boot=200)
    assert res["delta"] == pytest.approx(0.25) and (res["gained"], res["lost"]) == (2, 1)
    assert res["ci95"][0] <= 0.25 <= res["ci95"][1] and res["n_pairs"] == 4


def test_add_paired_reports_every_round_against_round_zero():
    from bench.bench_tpo import add_paired

    ev = lambda xs: {  # noqa: E731
        "episodes": [
            {"task": "t", "init_seed": i, "sample": 0, "collisions": c, "success": 0.0}
            for i, c in enumerate(xs)
        ]
    }
    run = {"rounds": [{"eval": ev([10, 10])}, {"eval": ev([5, 5])}, {"eval": ev([8, 8])}]}
    s = add_paired({}, [run])
    assert [r["round"] for r in s["per_round"]] == [1, 2]
    red = [r["collision_reduction"]["reduction"] for r in s["per_round"]]
    assert red == pytest.approx([0.5, 0.2])
    assert s["collision_reduction_paired"]["reduction"] == pytest.approx(0.2)  # the last round


def test_summary_pairs_success_after_every_round():
    from bench.bench_tpo import summary

    def ev(succ):
        eps = [{"task": "t", "init_seed": i, "sample": 0, "success": s, "collisions": 0.0,
                "length": 10.0} for i, s in enumerate(succ)]  # fmt: skip
        mean = {k: sum(e[k] for e in eps) / len(eps) for k in ("success", "collisions", "length")}
        return {"episodes": eps, "mean": mean}

    run = {"rounds": [{"eval": ev([0, 0, 1, 1])}, {"eval": ev([1, 0, 1, 0])},
                      {"eval": ev([1, 1, 1, 0])}]}  # fmt: skip
    s = summary([run])
    assert s["success_per_round"] == pytest.approx([0.5, 0.5, 0.75])
    assert s["success_delta_paired"]["delta"] == pytest.approx(0.25)
    assert (s["success_delta_paired"]["gained"], s["success_delta_paired"]["lost"]) == (2, 1)
    per = s["success_delta_paired_per_round"]
    assert [p["delta"] for p in per] == pytest.approx([0.0, 0.25])
    assert (per[0]["gained"], per[0]["lost"]) == (1, 1)
