"""Build a steering method from a plain config mapping (what ``configs/steer/*.yaml`` hold).

``{"method": "smc", "particles": 8, "beta": 50, ...}`` -> :class:`ParticleSteering`;
``method`` is one of ``none``, ``guidance``, ``smc``, ``best_of_n``; the other keys are the
constructor arguments of that class (unknown keys are an error, with the valid ones named).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from robo.steer.base import Cost, Steer
from robo.steer.best_of_n import BestOfN
from robo.steer.guidance import GradientGuidance
from robo.steer.smc import ParticleSteering

METHODS: dict[str, type[Steer]] = {
    "guidance": GradientGuidance,
    "smc": ParticleSteering,
    "best_of_n": BestOfN,
}


def build_steer(config: Mapping[str, Any], cost: Cost | None) -> Steer | None:
    """A steering object for ``config`` driven by ``cost`` (``None`` for ``method: none``)."""
    config = dict(config)
    method = config.pop("method", "none")
    config.pop("cost", None)  # the cost expression is compiled by the caller
    if method in (None, "none"):
        return None
    if method not in METHODS:
        raise ValueError(f"unknown steering method {method!r}; choose none, {', '.join(METHODS)}")
    if cost is None:
        raise ValueError(f"steering method {method!r} needs a cost (hint: set steer.cost)")
    cls = METHODS[method]
    valid = set(inspect.signature(cls.__init__).parameters) - {"self", "cost", "generator"}
    unknown = set(config) - valid
    if unknown:
        raise ValueError(
            f"steer.{method} has no option(s) {sorted(unknown)}; valid: {sorted(valid)}"
        )
    return cls(cost, **config)
