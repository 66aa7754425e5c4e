"""The reference checkpoints kept in git (checkpoints/) still load with today's code."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import torch

from robo.policy.base import ChunkPolicy
from robo.policy.checkpoint import load_policy
from robo.reward.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1] / "checkpoints"
REWARDS = sorted(p.parent for p in (ROOT / "reward").glob("*/model.safetensors"))
POLICIES = sorted(p.parent for p in (ROOT / "policies").glob("*/model.safetensors"))


def _listed(row: str) -> set[str]:
    """The folders a README row names: `a/b-s{0,1,2}` expands to a/b-s0, a/b-s1, a/b-s2."""
    m = re.match(r"^\| `([^`{]*)(?:\{([^}]*)\}([^`]*))?`", row)
    if m is None:
        return set()
    head, items, tail = m.groups()
    return {head} if items is None else {f"{head}{i.strip()}{tail}" for i in items.split(",")}


def test_every_checkpoint_is_listed_with_its_hash() -> None:
    readme = (ROOT / "README.md").read_text()
    for folder in REWARDS + POLICIES:
        digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()[:16]
        rel = f"{folder.parent.name}/{folder.name}"
        row = next((ln for ln in readme.splitlines() if rel in _listed(ln)), None)
        assert row is not None, f"{folder} has no row in checkpoints/README.md"
        assert digest in row, f"{folder}: sha256 {digest} not in its README row"


@pytest.mark.parametrize("folder", REWARDS, ids=lambda p: p.name)
def test_reward_checkpoint_loads_and_scores(folder: Path) -> None:
    model = load_checkpoint(folder)
    assert sum(p.numel() for p in model.parameters()) > 0
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("folder", POLICIES, ids=lambda p: p.name)
def test_policy_checkpoint_loads(folder: Path) -> None:
    policy = load_policy(folder)
    want = json.loads((folder / "config.json").read_text())["config"]["action_dim"]
    assert isinstance(policy, ChunkPolicy)
    assert policy.action_dim == want
    assert all(torch.isfinite(p).all() for p in policy.parameters())
