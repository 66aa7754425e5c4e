"""Picklable fault-injection policies (module level, so an inference process can load them).

Each returns chunks float32[n, H, 6] like an SO-101 policy.
"""

from __future__ import annotations

import time

import numpy as np
import torch


class ConstantPolicy:
    """Always the same target float[6] [rad] (NaN / out of range for fault tests)."""

    horizon, action_dim, executed = 8, 6, 4

    def __init__(self, value):
        self.value = np.asarray(value, dtype=np.float32)

    def sample(self, obs, n=1, steer=None):
        return torch.as_tensor(np.tile(self.value, (n, self.horizon, 1)))


class SleepingPolicy:
    """Holds the current pose for its first chunk, then sleeps ``stall_s`` per call."""

    horizon, action_dim, executed = 8, 6, 4

    def __init__(self, stall_s: float = 10.0):
        self.stall_s = stall_s
        self.calls = 0

    def sample(self, obs, n=1, steer=None):
        self.calls += 1
        if self.calls > 1:
            time.sleep(self.stall_s)
        return torch.as_tensor(np.tile(obs["state"], (n, self.horizon, 1)))


class RaisingPolicy:
    """Raises on its ``fail_on``-th call."""

    horizon, action_dim, executed = 8, 6, 4

    def __init__(self, fail_on: int = 2):
        self.fail_on = fail_on
        self.calls = 0

    def sample(self, obs, n=1, steer=None):
        self.calls += 1
        if self.calls >= self.fail_on:
            raise RuntimeError("injected policy fault")
        return torch.as_tensor(np.tile(obs["state"], (n, self.horizon, 1)))


class SlowFirstCallPolicy:
    """Sleeps ``first_s`` on its first call only (like a sampler that traces its network on
    first use), then holds the current pose instantly."""

    horizon, action_dim, executed = 8, 6, 4

    def __init__(self, first_s: float = 2.0):
        self.first_s = first_s
        self.calls = 0

    def sample(self, obs, n=1, steer=None):
        self.calls += 1
        if self.calls == 1:
            time.sleep(self.first_s)
        return torch.as_tensor(np.tile(obs["state"], (n, self.horizon, 1)))
