"""Fixtures for robo.tpo tests: the toy token policy, a one-step choice env, fake/reach."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

MOCKS = Path(__file__).resolve().parents[1] / "mocks"
if str(MOCKS) not in sys.path:
    sys.path.insert(0, str(MOCKS))

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from toy_token_policy import ToyTokenConfig, ToyTokenPolicy  # noqa: E402
from tpo_toys import ChoiceEnv  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture
def toy_policy() -> ToyTokenPolicy:
    torch.manual_seed(0)
    return ToyTokenPolicy(ToyTokenConfig(state_dim=2, action_dim=2, horizon=2, executed=1, bins=4))


@pytest.fixture
def choice_env() -> type[ChoiceEnv]:
    return ChoiceEnv
