"""Keypoint detectors for `robo deploy keypoints_fn=...` tests (a detector on hardware maps an
observation to keypoints in the arm base frame [m])."""

from __future__ import annotations

from typing import Any

CALLS: list[int] = []
"""Number of state entries of each observation :func:`goal_ahead` was called with."""


def goal_ahead(obs: dict[str, Any]) -> dict[str, Any]:
    CALLS.append(len(obs["state"]))
    return {"goal": [0.22, 0.03, 0.1]}


def not_a_dict(obs: dict[str, Any]) -> list[float]:
    return [0.0, 0.0, 0.0]
