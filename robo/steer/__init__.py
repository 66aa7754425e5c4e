"""Inference-time steering of frozen generative policies.

Methods drive a denoising process step by step (the policy's weights are never touched):
:class:`GradientGuidance` (unit-normalised gradients on the Tweedie estimate, scheduled),
:class:`ParticleSteering` (Feynman-Kac SMC with ESS resampling, exact weights under guidance,
diversity repulsion) and :class:`BestOfN` (the compute-matched baseline). Costs come from a
small DSL compiled to torch (:func:`compile_cost`) over end-effector paths
(:class:`DeltaPathMap`, :class:`FKPathMap`), or from a learned :class:`ChunkCritic`.
"""

from robo.steer.base import Cost, DenoisingProcess, Steer, SumCost
from robo.steer.best_of_n import BestOfN
from robo.steer.cost import CostError, CostProgram, compile_cost
from robo.steer.critic import ChunkCritic, CriticCost, distill_critic, progress_from_gt
from robo.steer.factory import METHODS, build_steer
from robo.steer.guidance import GradientGuidance, schedule_weights
from robo.steer.kinematics import KinematicChain
from robo.steer.paths import DeltaPathMap, FKPathMap
from robo.steer.smc import ParticleSteering

__all__ = [
    "METHODS",
    "BestOfN",
    "ChunkCritic",
    "Cost",
    "CostError",
    "CostProgram",
    "CriticCost",
    "DeltaPathMap",
    "DenoisingProcess",
    "FKPathMap",
    "GradientGuidance",
    "KinematicChain",
    "ParticleSteering",
    "Steer",
    "SumCost",
    "build_steer",
    "compile_cost",
    "distill_critic",
    "progress_from_gt",
    "schedule_weights",
]
