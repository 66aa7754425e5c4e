"""Chosen/rejected pairs of rollouts that share a task and an initial state.

Rules (every pair is (chosen τ_w, rejected τ_l) from the same ``Trajectory.group``):

1. A success beats a failure (when ``objective.success_first``).
2. Among equal success, the lower ``objective_cost`` wins if the costs differ by more than
   ``objective.margin``; otherwise the two are a tie and form no pair.
3. Per group at most ``max_per_group`` pairs are kept, the widest gaps first (success gap,
   then cost gap), so each group contributes its clearest preferences.

Groups whose rollouts all tie form no pair; :func:`unpaired_successes` lists their successful
rollouts so training can replay them (a task the policy already solves gives DPO nothing to
learn from, and would otherwise drift while the shared trunk trains on the other tasks).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from robo.tpo.rollouts import Trajectory
from robo.tpo.scoring import Objective


@dataclass(frozen=True)
class Pair:
    """Indices into the rollout list: ``chosen`` is preferred over ``rejected``; ``gap`` is
    (success gap in {0, 1}, cost gap >= 0)."""

    chosen: int
    rejected: int
    gap: tuple[float, float]


def prefer(a: dict[str, float], b: dict[str, float], objective: Objective) -> int:
    """+1 if scores ``a`` are preferred, −1 if ``b`` is, 0 for a tie (needs ``objective_cost``)."""
    if objective.success_first and a["success"] != b["success"]:
        return 1 if a["success"] > b["success"] else -1
    diff = b["objective_cost"] - a["objective_cost"]
    if abs(diff) <= objective.margin:
        return 0
    return 1 if diff > 0 else -1


def build_pairs(
    trajectories: Sequence[Trajectory], objective: Objective, max_per_group: int = 4
) -> list[Pair]:
    """All preference pairs under :func:`prefer`, grouped by (task, initial seed).

    Raises:
        ValueError: a trajectory has not been scored (hint: run ``score_all`` first).
    """
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, traj in enumerate(trajectories):
        if "objective_cost" not in traj.scores:
            raise ValueError(
                f"rollout {i} ({traj.task}, seed {traj.init_seed}) is not scored "
                "(hint: call robo.tpo.scoring.score_all first)"
            )
        groups[traj.group].append(i)
    pairs: list[Pair] = []
    for members in groups.values():
        found = []
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                a, b = trajectories[i].scores, trajectories[j].scores
                p = prefer(a, b, objective)
                if p == 0:
                    continue
                w, lose = (i, j) if p > 0 else (j, i)
                sw, sl = trajectories[w].scores, trajectories[lose].scores
                gap = (sw["success"] - sl["success"], sl["objective_cost"] - sw["objective_cost"])
                found.append(Pair(w, lose, gap))
        found.sort(key=lambda q: q.gap, reverse=True)
        pairs.extend(found[: max(0, int(max_per_group))])
    return pairs


def unpaired_successes(trajectories: Sequence[Trajectory], pairs: Sequence[Pair]) -> list[int]:
    """Indices of successful rollouts whose (task, initial state) group formed no pair.

    These are the states the policy already solves every time (all rollouts tie), so DPO has
    no preference there; replaying them with an NLL term anchors those tasks.
    """
    paired = {trajectories[i].group for p in pairs for i in (p.chosen, p.rejected)}
    return [i for i, t in enumerate(trajectories) if t.succeeded and t.group not in paired]
