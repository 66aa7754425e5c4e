"""Scripted experts and their labelled suboptimal variants (:func:`make_expert`)."""

from sims.experts.base import Expert
from sims.experts.kinds import KINDS, MIXED_WEIGHTS, PARAMS, LabelledExpert, make_expert

__all__ = ["KINDS", "MIXED_WEIGHTS", "PARAMS", "Expert", "LabelledExpert", "make_expert"]
