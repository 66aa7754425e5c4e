"""Simulated worlds behind Gymnasium: ``sims.make(name, **overrides) -> gymnasium.Env``.

Every env returns the observation contract of :mod:`robo.types` and puts ``success`` and a
privileged ``progress_gt`` in ``info``.
"""

import contextlib
import os

# Headless offscreen rendering unless the caller chose a backend (must precede mujoco imports).
os.environ.setdefault("MUJOCO_GL", "egl")

# torchvision must be loaded before the first EGL (llvmpipe) context exists: importing it
# afterwards segfaults on this software-rendering stack (LLVM symbol clash). Rendering code lives
# under sims, so loading it here makes every later `import torchvision` (lerobot, models) safe.
with contextlib.suppress(ImportError):  # torch-free installs only lose the guard
    import torchvision  # noqa: F401

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
