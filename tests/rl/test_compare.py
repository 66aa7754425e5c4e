"""rl-compare on synthetic metrics files: labels, censoring, ratios vs sparse, outputs."""

from __future__ import annotations

import json

import pytest

from robo.rl.compare import compare, expand_runs, method_label, success_auc
from robo.rl.report import read_metrics, write_metrics


def fake_run(seed, final, s80, hover=0.1):
    curve = [{"step": s, "eval_success_rate": min(1.0, s / 1000 * final)} for s in (0, 500, 1000)]
    return {
        "seed": seed,
        "curve": curve,
        "final_success": final,
        "final_eval": {"hover_ratio_gt": hover},
        "steps_to_50": None,
        "steps_to_80": s80,
        "hover_ratio": hover,
        "hover_ratio_gt": hover,
        "return_gap": float("nan"),
    }


def write(tmp_path, name, reward, runs, label="gt", task="toy/a"):
    out = tmp_path / name
    write_metrics(
        out,
        {"task": task, "reward": reward, "progress_label": label, "steps": 1000, "runs": runs},
    )
    return out


def test_method_labels():
    assert method_label({"reward": "sparse"}) == "sparse"
    assert method_label({"reward": "pbrs", "progress_label": "gt"}) == "gt"
    assert method_label({"reward": "pbrs", "progress_label": "grm"}) == "pbrs[grm]"
    assert method_label({"reward": "raw", "progress_label": "gt"}) == "raw[gt]"
    assert method_label({"reward": "oracle", "progress_label": "none"}) == "oracle"
    scaled = {"reward": "oracle", "progress_label": "none", "config": {"scale": 0.01}}
    assert method_label(scaled) == "oracle(λ=0.01)"
    assert method_label({"reward": "pbrs", "progress_label": "grm", "config": {"scale": 1.0}}) == (
        "pbrs[grm]"
    )


def test_compare_censors_never_reached_runs_and_reports_ratio(tmp_path):
    a = write(tmp_path, "sparse", "sparse", [fake_run(s, 0.5, None) for s in range(4)])
    b = write(tmp_path, "pbrs", "pbrs", [fake_run(s, 1.0, 400) for s in range(4)], label="grm")
    res = compare(expand_runs(f"{a},{b}"), tmp_path / "cmp", reps=100)
    per = res["per_task"]["toy/a"]
    assert per["sparse"]["steps_to_80_median"] == 1000  # censored at the budget
    assert per["sparse"]["reached_80"] == 0
    assert per["pbrs[grm]"]["steps_to_80_vs_sparse"] == pytest.approx(0.4)
    assert res["methods"]["pbrs[grm]"]["final_success_iqm"][0] == pytest.approx(1.0)
    table = (tmp_path / "cmp" / "table.md").read_text()
    assert "| toy/a | pbrs[grm] | 4 |" in table and "0.40x" in table
    assert per["pbrs[grm]"]["steps_to_80_iqm"][0] == pytest.approx(400)
    assert per["pbrs[grm]"]["steps_to_80_iqm_vs_sparse"] == pytest.approx(0.4)
    # sparse never reached 80%: 1000 is a lower bound on its steps, so 0.4 is an upper bound
    assert per["pbrs[grm]"]["steps_to_80_vs_sparse_bound"] == "at_most"
    assert "≤0.40x" in table
    assert per["sparse"]["steps_to_80_vs_sparse"] is None  # both sides censored: no ratio
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text())["per_task"]
    assert (tmp_path / "cmp" / "compare.png").exists()


def test_ratio_against_the_best_oracle_variant(tmp_path):
    a = write(tmp_path, "pbrs", "pbrs", [fake_run(s, 1.0, 400) for s in range(4)], label="grm")
    b = write(tmp_path, "oracle", "oracle", [fake_run(s, 1.0, 200) for s in range(4)])
    c = write(tmp_path, "oracle_bad", "oracle", [fake_run(s, 0.0, None) for s in range(4)])
    m = read_metrics(c)
    write_metrics(c, {**m, "config": {"scale": 0.5}})
    res = compare(expand_runs(f"{a},{b},{c}"), tmp_path / "cmp", reps=100)
    per = res["per_task"]["toy/a"]
    assert set(per) == {"pbrs[grm]", "oracle", "oracle(λ=0.5)"}
    assert per["pbrs[grm]"]["oracle_ref"] == "oracle"
    assert per["pbrs[grm]"]["steps_to_80_iqm_vs_oracle"] == pytest.approx(2.0)
    assert per["pbrs[grm]"]["steps_to_80_vs_oracle_bound"] == "exact"
    assert "| 2.00x [2.00, 2.00] |" in (tmp_path / "cmp" / "table.md").read_text()
    assert per["oracle(λ=0.5)"]["steps_to_80_vs_oracle_bound"] == "at_least"


def test_success_auc_is_the_trapezoid_mean():
    curve = [{"step": s, "eval_success_rate": v} for s, v in ((0, 0.0), (500, 1.0), (1500, 1.0))]
    assert success_auc(curve) == pytest.approx((0.5 * 500 + 1000) / 1500)
    assert success_auc(curve[:1]) == 0.0


def test_read_metrics_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="robo rl"):
        read_metrics(tmp_path)
    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(ValueError, match="missing"):
        read_metrics(tmp_path)
    with pytest.raises(ValueError, match="no runs"):
        expand_runs("")


def test_ratio_ci_and_pooled_wilson(tmp_path):
    runs_a = [fake_run(s, 0.5, 800 + 50 * s) for s in range(4)]
    runs_b = [fake_run(s, 1.0, 400 + 25 * s) for s in range(4)]
    a = write(tmp_path, "sparse", "sparse", runs_a)
    b = tmp_path / "pbrs"
    write_metrics(
        b,
        {
            "task": "toy/a",
            "reward": "pbrs",
            "progress_label": "grm",
            "steps": 1000,
            "config": {"final_episodes": 20},
            "runs": runs_b,
        },
    )
    res = compare(expand_runs(f"{a},{b}"), tmp_path / "cmp", reps=200)
    m = res["per_task"]["toy/a"]["pbrs[grm]"]
    # every pbrs seed took exactly half of sparse's steps: the paired CI is a point
    assert m["steps_to_80_vs_sparse_bound"] == "exact"
    assert m["steps_to_80_iqm_vs_sparse_ci"] == pytest.approx((0.5, 0.5, 0.5))
    assert m["steps_to_80_per_seed"] == {"0": 400, "1": 425, "2": 450, "3": 475}
    assert m["final_success_pooled"][0] == pytest.approx(1.0)
    assert 0.9 < m["final_success_pooled"][1] < 1.0
    assert res["per_task"]["toy/a"]["sparse"]["final_success_pooled"] is None  # no episode count
    table = (tmp_path / "cmp" / "table.md").read_text()
    assert "0.50x [0.50, 0.50]" in table


def test_steps_to_sustained_needs_the_level_over_the_window():
    from robo.rl.compare import steps_to_sustained

    rates = [0.4, 0.8, 0.5, 0.6, 0.8, 0.9, 0.8, 0.7]
    curve = [{"step": 500 * i, "eval_success_rate": v} for i, v in enumerate(rates)]
    assert steps_to_sustained(curve, 0.8, window=1) == 500  # the first hit
    assert steps_to_sustained(curve, 0.8, window=3) == 2000  # 0.8, 0.9, 0.8
    assert steps_to_sustained(curve[:6], 0.8, window=3) is None  # window runs past the end


def test_iqm_ratio_stays_an_upper_bound_with_one_censored_seed(tmp_path):
    a = write(tmp_path, "sparse", "sparse", [fake_run(s, 0.4, None) for s in range(5)])
    runs = [fake_run(s, 0.9, v) for s, v in enumerate((200, 300, 400, 500, None))]
    b = write(tmp_path, "pbrs", "pbrs", runs, label="grm")
    res = compare(expand_runs(f"{a},{b}"), tmp_path / "cmp", reps=100)
    m = res["per_task"]["toy/a"]["pbrs[grm]"]
    # both sides have never-reached seeds, but pbrs's one is in the IQM's top quarter
    assert m["steps_to_80_iqm_vs_sparse_bound"] == "at_most"
    assert m["steps_to_80_iqm_vs_sparse"] == pytest.approx(400 / 1000)
    assert m["steps_to_80_vs_sparse_bound"] == "at_most"  # the median (400) is exact too
    runs2 = [fake_run(s, 0.9, v) for s, v in enumerate((200, 300, 400, None, None))]
    c = write(tmp_path, "pbrs2", "pbrs", runs2, label="grm2")
    res2 = compare(expand_runs(f"{a},{c}"), tmp_path / "cmp2", reps=100)
    assert res2["per_task"]["toy/a"]["pbrs[grm2]"]["steps_to_80_iqm_vs_sparse_bound"] == "unknown"
    assert res2["per_task"]["toy/a"]["pbrs[grm2]"]["steps_to_80_iqm_vs_sparse"] is None
