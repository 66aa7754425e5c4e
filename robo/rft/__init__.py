"""Chunk-level reinforcement fine-tuning of token policies (``robo rft``).

GRPO over groups of action-token chunks with a clipped ratio on the executed prefix and a KL
to the reference policy (:mod:`robo.rft.grpo`, :mod:`robo.rft.trainer`), process rewards
QACR/CTAR/FCR against demonstrations (:mod:`robo.rft.rewards`), online rollouts scored by
the GRM and success (:mod:`robo.rft.online`), and continual fine-tuning over task sequences
(:mod:`robo.rft.continual`).
"""

from robo.rft.grpo import GRPOStats, group_advantages, grpo_loss
from robo.rft.rewards import (
    GRIPPER_BY_FAMILY,
    REWARD_NAMES,
    GripperSpec,
    RewardWeights,
    ctar,
    fcr,
    gripper_spec,
    qacr,
)
from robo.rft.trainer import DemoSample, GRPOTrainer, RFTConfig, Rows, expected_offline_reward

__all__ = [
    "GRIPPER_BY_FAMILY",
    "REWARD_NAMES",
    "DemoSample",
    "GRPOStats",
    "GRPOTrainer",
    "GripperSpec",
    "RFTConfig",
    "RewardWeights",
    "Rows",
    "ctar",
    "expected_offline_reward",
    "fcr",
    "group_advantages",
    "grpo_loss",
    "gripper_spec",
    "qacr",
]
