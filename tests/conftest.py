"""Test-wide settings: headless software rendering, offline hub, one torch thread."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

try:  # one torch thread: tests share 2 cores with rendering; more threads only thrash
    import torch

    torch.set_num_threads(1)
except ImportError:
    pass
