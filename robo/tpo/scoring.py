"""Scores of rollouts: success, progress (privileged or the GRM's), collisions, time, costs.

:func:`features` measures one trajectory (all from what the sim recorded, not from a model of
it), :class:`Objective` turns features into a scalar cost (lower is better) that ranks
trajectories of equal success. Features (``Trajectory.scores`` after :func:`score_all`):

* ``success``: 1.0 if any step succeeded, else 0.0.
* ``progress``: final ``progress_gt`` in [0, 1] (0 where unknown); ``grm_progress``: the GRM's
  fused final Φ in [0, 1] (only when a reward model is given; NaN otherwise).
* ``length`` [control steps] to the first success, or all steps run; ``time`` = length · dt [s].
* ``path_length`` [m]: end-effector path length over ``length`` steps (0 without an EE).
* ``collisions``: control steps with >= 1 collision contact; ``contacts``: total contacts
  (both measured from sim contacts by the rollout's probe).
* ``invalid``: sampled chunks that did not decode.
* ``cost``: a :mod:`robo.steer.cost` expression (e.g. ``avoid_box(obstacle, obstacle_half)``)
  evaluated on the executed end-effector path and actions (0 when none is configured).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from robo.tpo.rollouts import Trajectory

FEATURES = (
    "success",
    "progress",
    "grm_progress",
    "length",
    "time",
    "path_length",
    "collisions",
    "contacts",
    "cost",
    "invalid",
)


@dataclass
class Objective:
    """What a preference means: ``cost = Σ_k weights[k] · feature_k`` (lower is better).

    Success always ranks first (a success beats a failure under every objective); ``cost``
    decides between trajectories of equal success, and only when they differ by more than
    ``margin`` (else the pair is a tie and dropped). ``cost_expr`` is a steering cost-DSL
    expression scored on the executed path (feature ``cost``).
    """

    name: str
    weights: dict[str, float]
    margin: float = 0.0
    cost_expr: str | None = None
    success_first: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.weights) - set(FEATURES))
        if unknown:
            raise ValueError(
                f"objective {self.name!r}: unknown feature(s) {unknown}; features: {', '.join(FEATURES)}"
            )
        if self.margin < 0:
            raise ValueError(f"objective {self.name!r}: margin={self.margin} must be >= 0")

    def cost(self, scores: Mapping[str, float]) -> float:
        total = 0.0
        for k, w in self.weights.items():
            v = float(scores.get(k, float("nan")))
            if not np.isfinite(v):
                raise ValueError(
                    f"objective {self.name!r} weighs {k!r} but it was not measured "
                    f"(hint: grm_progress needs reward=<checkpoint>)"
                )
            total += w * v
        return total


PRESETS: dict[str, dict[str, Any]] = {
    # higher final progress is better among equal success
    "success": {"weights": {"progress": -1.0}, "margin": 0.05},
    # fewer steps in collision (measured from contacts), then the DSL cost
    "safety": {
        "weights": {"collisions": 1.0, "cost": 1.0},
        "margin": 1.0,
        "cost_expr": "10 * avoid_box(obstacle, obstacle_half, margin=0.01)",
    },
    # shorter episodes (to success)
    "efficiency": {"weights": {"length": 1.0}, "margin": 5.0},
}


def make_objective(name: str, overrides: Mapping[str, Any] | None = None) -> Objective:
    """A preset objective (``success``, ``safety``, ``efficiency``) with keys overridden."""
    if name not in PRESETS:
        raise ValueError(f"unknown objective {name!r}; choose one of {', '.join(PRESETS)}")
    spec = {**PRESETS[name], **{k: v for k, v in dict(overrides or {}).items() if v is not None}}
    return Objective(name=name, **spec)


def _dsl_cost(traj: Trajectory, expr: str, gripper_dim: int | None) -> float:
    from robo.steer.cost import compile_cost

    if traj.ee_path is None or len(traj.actions) == 0:
        return 0.0
    n = traj.length
    path = torch.as_tensor(traj.ee_path[1 : n + 1], dtype=torch.float64)[None]
    actions = torch.as_tensor(traj.actions[:n], dtype=torch.float64)[None]
    program = compile_cost(
        expr,
        path_map=lambda a, ctx: ctx["path"],
        gripper_dim=gripper_dim,
        keypoints=lambda obs: traj.scene,
        optional=("obstacle", "obstacle_half"),
    )
    with torch.no_grad():
        return float(program(actions, {"path": path})[0])


def features(
    traj: Trajectory,
    cost_expr: str | None = None,
    gripper_dim: int | None = None,
    grm_progress: float = float("nan"),
) -> dict[str, float]:
    """The feature dict of one trajectory (see the module docstring for units)."""
    n = traj.length
    prog = traj.progress_gt[:n]
    finite = prog[np.isfinite(prog)]
    path_len = 0.0
    if traj.ee_path is not None and len(traj.ee_path) > 1:
        seg = np.diff(traj.ee_path[: n + 1], axis=0)
        path_len = float(np.linalg.norm(seg, axis=-1).sum())
    return {
        "success": float(traj.succeeded),
        "progress": float(finite[-1]) if finite.size else 0.0,
        "grm_progress": float(grm_progress),
        "length": float(n),
        "time": float(n * traj.control_dt),
        "path_length": path_len,
        "collisions": float(traj.collisions),
        "contacts": float(traj.contacts.sum()),
        "cost": _dsl_cost(traj, cost_expr, gripper_dim) if cost_expr else 0.0,
        "invalid": float(traj.invalid),
    }


def grm_final_progress(model: Any, traj: Trajectory) -> float:
    """The reward model's fused Φ at the end of ``traj`` (frames at chunk starts + the end);
    ``model`` may be the members of an ensemble (a list: the mean of their Φ).

    Raises:
        ValueError: the rollout kept no camera frames (hint: the env must render the GRM's views).
    """
    from robo.reward.ensemble import as_members, score_episode_ensemble
    from robo.types import Episode

    if not traj.frames or not traj.frames[0]:
        raise ValueError(
            f"{traj.task}: rollouts have no camera frames for the reward model "
            "(hint: render the GRM's cameras, or use objective weights without grm_progress)"
        )
    cams = list(traj.frames[0])
    t = len(traj.frames)
    ep = Episode(
        task=traj.task,
        instruction=traj.instruction,
        kind="policy",
        seed=traj.init_seed,
        images={c: np.stack([f[c] for f in traj.frames]) for c in cams},
        state=np.zeros((t, 1), np.float32),
        action=np.zeros((t, 1), np.float32),
        success=np.zeros(t, bool),
        progress_gt=np.full(t, np.nan, np.float32),
        timestamp=np.arange(t, dtype=np.float64),
    )
    return float(score_episode_ensemble(as_members(model), ep).phi[-1])


def score_all(
    trajectories: Sequence[Trajectory],
    objective: Objective,
    gripper_dim: int | None = None,
    reward_model: Any | None = None,
) -> list[float]:
    """Fill every ``traj.scores`` with :func:`features` plus ``objective_cost``; return the costs."""
    costs = []
    for traj in trajectories:
        grm = grm_final_progress(reward_model, traj) if reward_model is not None else float("nan")
        traj.scores = features(traj, objective.cost_expr, gripper_dim, grm)
        traj.scores["objective_cost"] = objective.cost(traj.scores)
        costs.append(traj.scores["objective_cost"])
    return costs


def summarize(trajectories: Sequence[Trajectory]) -> dict[str, float]:
    """Means over rollouts: success rate, collisions (steps), episode length (steps), ..."""
    if not trajectories:
        return {}
    keys = [k for k in FEATURES if k != "grm_progress"]
    out = {k: float(np.mean([t.scores[k] for t in trajectories])) for k in keys}
    succ = [t.scores for t in trajectories if t.scores["success"] > 0]
    out["length_success"] = float(np.mean([s["length"] for s in succ])) if succ else float("nan")
    out["collision_rate"] = float(np.mean([t.scores["collisions"] > 0 for t in trajectories]))
    out["n"] = float(len(trajectories))
    return out
