"""The General Reward Model (GRM): multi-view, step-discretised progress from hops.

Main entry points (heavy imports stay inside the submodules):

* :class:`~robo.reward.model.ProgressRewardModel` / :class:`~robo.reward.model.RewardModelConfig`
* :func:`~robo.reward.checkpoint.load_checkpoint` / :func:`~robo.reward.checkpoint.save_checkpoint`
* :func:`~robo.reward.scoring.score_episode` and :class:`~robo.reward.scoring.ProgressTracker`
  (online Φ with uncertainty, one encoder pass per camera per step)
* :func:`~robo.reward.labels.progress_labels` (automatic subtask segmentation)
* :func:`~robo.reward.train.train`, :func:`~robo.reward.adapt.adapt_one_shot`
* :func:`~robo.reward.metrics.metrics_report` (VOC, AUROC, ECE, ... + time-only baseline)

The default checkpoint of ``robo train-reward`` lands in ``outputs/reward/default``.
"""

DEFAULT_CHECKPOINT = "outputs/reward/default"

__all__ = ["DEFAULT_CHECKPOINT"]
