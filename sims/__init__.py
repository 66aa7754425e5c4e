"""Simulated worlds behind Gymnasium: ``sims.make(name, **overrides) -> gymnasium.Env``.

Every env returns the observation contract of :mod:`robo.types` and puts ``success`` and a
privileged ``progress_gt`` in ``info``.
"""

from sims.config import TaskConfig
from sims.errors import BadOverrideError, SimError, UnknownShiftError, UnknownTaskError
from sims.registry import TaskSpec, get_spec, list_tasks, make, make_config, register

__all__ = [
    "BadOverrideError",
    "SimError",
    "TaskConfig",
    "TaskSpec",
    "UnknownShiftError",
    "UnknownTaskError",
    "get_spec",
    "list_tasks",
    "make",
    "make_config",
    "register",
]
