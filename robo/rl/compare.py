"""``robo rl-compare``: methods across tasks and seeds, IQM with stratified bootstrap 95% CIs.

A *method* is a reward scheme plus its Φ source (``pbrs[grm]``, ``pbrs[gt]`` is written ``gt``).
Steps-to-80% of a seed that never reached 80% count as the run's budget (censored), and the
table says how many seeds reached it. Ratios to sparse and to the best oracle variant carry the
censoring: ``≥`` / ``≤`` when only one side has censored seeds, ``n/a`` when both have.
"""

from __future__ import annotations

import glob
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from robo.reward.shaping import POTENTIAL_SCHEMES
from robo.rl.report import read_metrics
from robo.rl.stats import (
    exact_under_censoring,
    iqm,
    iqm_weights,
    median_weights,
    ratio_bootstrap_ci,
    stratified_bootstrap_ci,
    wilson_ci,
)


def method_label(metrics: dict[str, Any]) -> str:
    """``reward`` or ``reward[progress]`` for potential schemes; PBRS on ``gt`` Φ is ``gt``.

    A scale λ other than 1 is appended as ``(λ=...)`` so rescaled variants stay apart.
    """
    reward = metrics["reward"]
    label = metrics.get("progress_label", "gt")
    scale = float(metrics.get("config", {}).get("scale", 1.0))
    suffix = "" if scale == 1.0 else f"(λ={scale:g})"
    if reward not in POTENTIAL_SCHEMES or reward == "gt":
        return reward + suffix
    if reward == "pbrs" and label == "gt":
        return "gt" + suffix
    return f"{reward}[{label}]{suffix}"


def expand_runs(runs: list[str] | str) -> list[Path]:
    """Run directories or metrics files from paths and globs (comma-separated string ok)."""
    items = runs.split(",") if isinstance(runs, str) else list(runs)
    out: list[Path] = []
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        matches = sorted(glob.glob(item)) or [item]
        out += [Path(m) for m in matches]
    if not out:
        raise ValueError("no runs given (hint: runs=[out/rl/sparse,out/rl/pbrs] or a glob)")
    return out


def collect(paths: list[Path]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """method -> task -> list of per-seed run dicts (with the job's budget attached)."""
    table: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for p in paths:
        m = read_metrics(p)
        for run in m["runs"]:
            episodes = m.get("config", {}).get("final_episodes")
            table[method_label(m)][m["task"]].append(
                {**run, "budget": m["steps"], "final_episodes": episodes}
            )
    return table


def _censored_steps(run: dict[str, Any], key: str) -> float:
    return float(run[key] if run[key] is not None else run["budget"])


def compare(paths: list[Path], out: Path, reps: int = 2000) -> dict[str, Any]:
    """Write ``compare.json``, ``table.md`` and ``compare.png`` to ``out``; return the result."""
    table = collect(paths)
    result: dict[str, Any] = {"methods": {}, "per_task": {}}
    for method, tasks in sorted(table.items()):
        final = {t: np.array([r["final_success"] for r in rs]) for t, rs in tasks.items()}
        s80 = {
            t: np.array([_censored_steps(r, "steps_to_80") for r in rs]) for t, rs in tasks.items()
        }
        result["methods"][method] = {
            "tasks": sorted(tasks),
            "runs": int(sum(len(v) for v in tasks.values())),
            "final_success_iqm": stratified_bootstrap_ci(final, iqm, reps),
            "steps_to_80_iqm": stratified_bootstrap_ci(s80, iqm, reps),
        }
        for task, rs in tasks.items():
            result["per_task"].setdefault(task, {})[method] = {
                "seeds": len(rs),
                "final_success_iqm": stratified_bootstrap_ci({task: final[task]}, iqm, reps),
                "steps_to_80_median": float(np.median(s80[task])),
                "steps_to_80_iqm": stratified_bootstrap_ci({task: s80[task]}, iqm, reps),
                "success_auc_iqm": stratified_bootstrap_ci(
                    {task: np.array([success_auc(r["curve"]) for r in rs])}, iqm, reps
                ),
                "reached_80": int(sum(r["steps_to_80"] is not None for r in rs)),
                "hover_ratio_gt": _mean([_nan(r["hover_ratio_gt"]) for r in rs]),
                "hover_ratio": _mean([_nan(r["hover_ratio"]) for r in rs]),
                "eval_hover_ratio_gt": _mean([_nan(r["final_eval"]["hover_ratio_gt"]) for r in rs]),
                "return_gap": _mean([_nan(r["return_gap"]) for r in rs]),
                "budget": int(rs[0]["budget"]),
                "final_success_pooled": pooled_wilson(rs),
                "_s80": {int(r["seed"]): _censored_steps(r, "steps_to_80") for r in rs},
                "_s80_c": {int(r["seed"]): r["steps_to_80"] is None for r in rs},
                "_s80_sustained": {
                    int(r["seed"]): _sustained_or_budget(r, 0.8, SUSTAIN_EVALS) for r in rs
                },
                "_s80_sustained_c": {
                    int(r["seed"]): steps_to_sustained(r["curve"], 0.8, SUSTAIN_EVALS) is None
                    for r in rs
                },
                "reached_80_sustained": int(
                    sum(steps_to_sustained(r["curve"], 0.8, SUSTAIN_EVALS) is not None for r in rs)
                ),
            }
            m = result["per_task"][task][method]
            m["steps_to_80_sustained_iqm"] = stratified_bootstrap_ci(
                {task: np.array(list(m["_s80_sustained"].values()))}, iqm, reps
            )
    for methods in result["per_task"].values():
        refs = {"sparse": "sparse"} if "sparse" in methods else {}
        # Against the hand-designed dense reward: its best variant (lowest steps-to-80% IQM).
        oracles = [k for k in methods if k.startswith("oracle")]
        if oracles:
            refs["oracle"] = min(oracles, key=lambda k: methods[k]["steps_to_80_iqm"][0])
        for tag, ref_name in refs.items():
            ref = methods[ref_name]
            for m in methods.values():
                m[f"{tag}_ref"] = ref_name
                for key, out_key, weights in (
                    ("steps_to_80_median", f"steps_to_80_vs_{tag}", median_weights),
                    ("steps_to_80_iqm", f"steps_to_80_iqm_vs_{tag}", iqm_weights),
                ):
                    bound = censoring_bound(m, ref, "_s80", weights)
                    m[f"{out_key}_bound"] = bound
                    a, b = _point(m[key]), _point(ref[key])
                    m[out_key] = a / b if b and bound != "unknown" else None
                m[f"steps_to_80_iqm_vs_{tag}_ci"] = (
                    _ratio_ci(m["_s80"], ref["_s80"], reps) if bound != "unknown" else None
                )
                sbound = censoring_bound(m, ref, "_s80_sustained", iqm_weights)
                m[f"steps_to_80_sustained_vs_{tag}_bound"] = sbound
                m[f"steps_to_80_sustained_iqm_vs_{tag}_ci"] = (
                    _ratio_ci(m["_s80_sustained"], ref["_s80_sustained"], reps)
                    if sbound != "unknown"
                    else None
                )
    for methods in result["per_task"].values():
        for m in methods.values():
            m["steps_to_80_per_seed"] = {str(k): v for k, v in sorted(m.pop("_s80").items())}
            m.pop("_s80_c")
            m.pop("_s80_sustained_c")
            m["steps_to_80_sustained_per_seed"] = {
                str(k): v for k, v in sorted(m.pop("_s80_sustained").items())
            }
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(_json(result), indent=2))
    (out / "table.md").write_text(markdown_table(result))
    plot_compare(table, result, out / "compare.png")
    return result


def pooled_wilson(runs: list[dict[str, Any]]) -> tuple[float, float, float] | None:
    """Final success pooled over seeds (all final episodes together) with a Wilson 95% CI.

    None when a run does not say how many final episodes it used.
    """
    if not runs or any(not r.get("final_episodes") for r in runs):
        return None
    n = sum(int(r["final_episodes"]) for r in runs)
    k = sum(int(round(r["final_success"] * int(r["final_episodes"]))) for r in runs)
    return wilson_ci(k, n)


def _ratio_ci(
    num: dict[int, float], den: dict[int, float], reps: int
) -> tuple[float, float, float]:
    """IQM ratio of steps to 80% with a bootstrap 95% CI; paired by seed when both sides ran
    the same seeds (same warm start per seed), else independent resampling."""
    paired = sorted(num) == sorted(den)
    keys = sorted(num)
    a = np.array([num[k] for k in keys])
    b = np.array([den[k] for k in (keys if paired else sorted(den))])
    return ratio_bootstrap_ci(a, b, iqm, reps=reps, paired=paired)


SUSTAIN_EVALS = 3
"""Evaluations (of 10 episodes each by default) that a sustained success level must hold over."""


def steps_to_sustained(
    curve: list[dict[str, Any]], threshold: float, window: int = SUSTAIN_EVALS
) -> int | None:
    """First evaluated env step from which the mean success of ``window`` consecutive
    evaluations (that one and the next ``window - 1``) is >= ``threshold``; None if never.

    The first-hit steps to 80% rewards a noisy 60% policy that draws 8/10 once; this one asks
    for the level over ``window`` x eval_episodes episodes.
    """
    succ = [row["eval_success_rate"] for row in curve]
    for i in range(len(succ) - window + 1):
        if np.mean(succ[i : i + window]) >= threshold:
            return int(curve[i]["step"])
    return None


def _sustained_or_budget(run: dict[str, Any], threshold: float, window: int) -> float:
    s = steps_to_sustained(run["curve"], threshold, window)
    return float(s if s is not None else run["budget"])


def success_auc(curve: list[dict[str, Any]]) -> float:
    """Mean evaluated success over a run's curve (trapezoid over steps, in [0, 1]).

    Not censored, unlike steps-to-80%: it separates methods that never reach 80%. It
    depends on the budget, so compare runs with the same budget only.
    """
    steps = np.array([row["step"] for row in curve], dtype=np.float64)
    succ = np.array([row["eval_success_rate"] for row in curve], dtype=np.float64)
    if len(steps) < 2 or steps[-1] <= steps[0]:
        return float(succ.mean()) if len(succ) else float("nan")
    area = np.sum((succ[1:] + succ[:-1]) / 2 * np.diff(steps))
    return float(area / (steps[-1] - steps[0]))


def censoring_bound(
    method: dict[str, Any],
    ref: dict[str, Any],
    key: str = "_s80",
    weights: Callable[[int], np.ndarray] = median_weights,
) -> str:
    """What a steps-to-80% ratio method / ref means when seeds never reached 80%.

    A never-reached seed counts as its budget, a lower bound on its true steps, so a statistic
    over seeds is exact only when no censored seed carries weight in it (e.g. one censored seed
    of 5 sits in the IQM's discarded top quarter) and a lower bound otherwise (see
    :func:`robo.rl.stats.exact_under_censoring`). ``method[key]`` / ``method[key + "_c"]`` are
    seed -> steps and seed -> censored. Returns ``exact``, ``at_least`` (only the method's
    statistic is a lower bound: the true ratio is >= the shown one), ``at_most`` (only the
    reference's is) or ``unknown`` (both are: no ratio is reported).
    """

    def exact(m: dict[str, Any]) -> bool:
        seeds = sorted(m[key])
        return exact_under_censoring(
            np.array([m[key][s] for s in seeds]), np.array([m[key + "_c"][s] for s in seeds]),
            weights,
        )  # fmt: skip

    a, b = not exact(method), not exact(ref)
    if a and b:
        return "unknown"
    return "at_least" if a else ("at_most" if b else "exact")


def _point(x: Any) -> float:
    return float(x[0] if isinstance(x, (list, tuple)) else x)


def _nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _mean(values: list[float]) -> float:
    """Mean over the finite values (NaN when there are none)."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else float("nan")


def _json(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def _ci(t: tuple[float, float, float], fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(t[0])} [{fmt.format(t[1])}, {fmt.format(t[2])}]"


def markdown_table(result: dict[str, Any]) -> str:
    """Per-task and aggregate tables in Markdown."""
    lines = [
        "| task | method | seeds | final success IQM [95% CI] | final success pooled "
        "[Wilson 95%] | steps to 80% (median) | "
        "steps to 80% IQM [95% CI] | reached 80% | vs sparse (median) | vs sparse (IQM) | "
        "vs oracle (IQM) | success AUC IQM [95% CI] | hover (gt Φ, train) | hover (own Φ) | "
        "return gap |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def ratio(m: dict[str, Any], key: str, tag: str) -> str:
        bound = m.get(f"{key}_bound")
        if bound is None:
            return "-"
        if bound == "unknown":
            return "n/a"
        prefix = {"at_least": "≥", "at_most": "≤"}.get(bound, "")
        ci = m.get(f"{key}_ci") if "iqm" in key else None
        tail = f" [{ci[1]:.2f}, {ci[2]:.2f}]" if ci and np.isfinite(ci[1]) else ""
        return f"{prefix}{m[key]:.2f}x{tail}"

    def sustained_ratio(m: dict[str, Any], tag: str) -> str:
        bound = m.get(f"steps_to_80_sustained_vs_{tag}_bound")
        if bound is None:
            return "-"
        ci = m.get(f"steps_to_80_sustained_iqm_vs_{tag}_ci")
        if bound == "unknown" or not ci:
            return "n/a"
        prefix = {"at_least": "≥", "at_most": "≤"}.get(bound, "")
        return f"{prefix}{ci[0]:.2f}x [{ci[1]:.2f}, {ci[2]:.2f}]"

    def pooled(m: dict[str, Any]) -> str:
        p = m.get("final_success_pooled")
        return _ci(p) if p else "-"

    for task, methods in sorted(result["per_task"].items()):
        for name, m in sorted(methods.items()):
            lines.append(
                f"| {task} | {name} | {m['seeds']} | {_ci(m['final_success_iqm'])} | "
                f"{pooled(m)} | "
                f"{m['steps_to_80_median']:.0f} | {_ci(m['steps_to_80_iqm'], '{:.0f}')} | "
                f"{m['reached_80']}/{m['seeds']} | "
                f"{ratio(m, 'steps_to_80_vs_sparse', 'sparse')} | "
                f"{ratio(m, 'steps_to_80_iqm_vs_sparse', 'sparse')} | "
                f"{ratio(m, 'steps_to_80_iqm_vs_oracle', 'oracle')} | "
                f"{_ci(m['success_auc_iqm'])} | {m['hover_ratio_gt']:.3f} | "
                f"{m['hover_ratio']:.3f} | {m['return_gap']:.2f} |"
            )
    lines += [
        "",
        f"Sustained: first step from which {SUSTAIN_EVALS} consecutive evaluations average "
        ">= 80% success (never: counted as the budget).",
        "",
        "| task | method | reached 80% sustained | steps to 80% sustained IQM [95% CI] | "
        "vs sparse (IQM) | vs oracle (IQM) |",
        "|---|---|---|---|---|---|",
    ]
    for task, methods in sorted(result["per_task"].items()):
        for name, m in sorted(methods.items()):
            lines.append(
                f"| {task} | {name} | {m['reached_80_sustained']}/{m['seeds']} | "
                f"{_ci(m['steps_to_80_sustained_iqm'], '{:.0f}')} | "
                f"{sustained_ratio(m, 'sparse')} | {sustained_ratio(m, 'oracle')} |"
            )
    lines += [
        "",
        "Ratios: ≥ / ≤ = bound (seeds that never reached 80% count as their budget on one "
        "side); n/a = on both sides such seeds carry weight in the statistic. "
        "vs oracle = vs the best oracle variant. "
        "IQM ratios carry a bootstrap 95% CI (paired by seed when both ran the same seeds). "
        "Success AUC = mean evaluated success over the run (depends on the budget).",
        "",
        "| method | tasks | runs | final success IQM [95% CI] | steps to 80% IQM [95% CI] |",
        "|---|---|---|---|---|",
    ]
    for name, m in sorted(result["methods"].items()):
        lines.append(
            f"| {name} | {len(m['tasks'])} | {m['runs']} | {_ci(m['final_success_iqm'])} | "
            f"{_ci(m['steps_to_80_iqm'], '{:.0f}')} |"
        )
    return "\n".join(lines) + "\n"


def plot_compare(table: dict[str, Any], result: dict[str, Any], path: Path) -> None:
    """Left: IQM final success with 95% CIs per method. Right: IQM success-vs-steps curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = sorted(result["methods"])
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=120)
    for k, name in enumerate(methods):
        p, lo, hi = result["methods"][name]["final_success_iqm"]
        ax0.errorbar(p, k, xerr=[[p - lo], [hi - p]], fmt="o", capsize=4, color=f"C{k}")
        runs = [r for rs in table[name].values() for r in rs]
        grids = {tuple(row["step"] for row in r["curve"]) for r in runs}
        if len(grids) == 1:
            steps = np.array(next(iter(grids)))
            ys = np.array([[row["eval_success_rate"] for row in r["curve"]] for r in runs])
            curve = np.array([iqm(ys[:, j]) for j in range(ys.shape[1])])
            ax1.plot(steps, curve, color=f"C{k}", label=name)
    ax0.set(yticks=range(len(methods)), yticklabels=methods, xlabel="final success (IQM)")
    ax0.set_xlim(-0.05, 1.05)
    ax0.grid(alpha=0.3)
    ax1.set(xlabel="environment steps", ylabel="success (IQM over runs)", ylim=(-0.03, 1.03))
    ax1.grid(alpha=0.3)
    if methods:
        ax1.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
