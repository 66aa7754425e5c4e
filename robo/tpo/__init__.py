"""Trajectory preference alignment (``robo tpo``): GRAPE-style trajectory DPO for token policies.

Rollouts per task and initial state (:mod:`.rollouts`), scores from the sim and the cost DSL
(:mod:`.scoring`), chosen/rejected pairs inside (task, initial state) groups (:mod:`.pairs`),
the trajectory DPO loss (:mod:`.dpo`) and the iterative loop (:mod:`.train`).
"""

from robo.tpo.dpo import DPOStats, chunk_masks, dpo_loss, trajectory_log_probs
from robo.tpo.pairs import Pair, build_pairs, prefer, unpaired_successes
from robo.tpo.report import plot_rounds, write_metrics
from robo.tpo.rollouts import ChunkRecord, Probe, Trajectory, clone_policy, collect, rollout
from robo.tpo.scoring import PRESETS, Objective, features, make_objective, score_all, summarize
from robo.tpo.train import TPOConfig, evaluate, run_tpo, train_on_pairs

__all__ = [
    "PRESETS",
    "ChunkRecord",
    "DPOStats",
    "Objective",
    "Pair",
    "Probe",
    "TPOConfig",
    "Trajectory",
    "build_pairs",
    "unpaired_successes",
    "chunk_masks",
    "clone_policy",
    "collect",
    "dpo_loss",
    "evaluate",
    "features",
    "make_objective",
    "plot_rounds",
    "prefer",
    "rollout",
    "run_tpo",
    "score_all",
    "summarize",
    "train_on_pairs",
    "trajectory_log_probs",
    "write_metrics",
]
