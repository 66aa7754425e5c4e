"""Hardware tests: one torch thread, and lerobot imported before any MuJoCo EGL context.

Importing lerobot's robot classes after an EGL context was used segfaults (see
``hardware.drivers.lerobot_arm.preload_lerobot``), and tests here mix the twin and the mock.
"""

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mocks"))  # import feetech_bus

import torch  # noqa: E402

from hardware.drivers.lerobot_arm import preload_lerobot  # noqa: E402

torch.set_num_threads(1)
preload_lerobot()


@pytest.fixture(scope="session")
def so101_limits():
    from hardware.config import robot_config

    return robot_config("so101_sim").limits()
