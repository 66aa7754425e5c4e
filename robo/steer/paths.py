"""Maps from an action chunk to the end-effector path it would produce (differentiable).

* :class:`DeltaPathMap` — end-effector delta actions (Meta-World, robosuite): the path is the
  current position plus the cumulative sum of scaled position deltas.
* :class:`FKPathMap` — absolute joint-position actions (SO-101): the path is forward
  kinematics of each commanded joint vector.

Both return float[B, H, 3] world positions [m] for actions float[B, H, A] (action units) and
read the current end-effector position / state from ``context["obs"]["state"]``. ``body(actions,
context)`` gives points along the whole arm, float[B, H, P, 3] (FK: link centre lines; deltas:
the tip plus fixed offsets, e.g. the hand above the fingertips), for costs with ``on="body"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from robo.steer.kinematics import KinematicChain


def _state(context: dict[str, Any]) -> torch.Tensor:
    obs = context.get("obs")
    if obs is None or "state" not in obs:
        raise ValueError("path maps need context['obs']['state'] (the current proprioception)")
    return torch.as_tensor(obs["state"], dtype=torch.float32)


class DeltaPathMap:
    """``p_t = p_0 + sum_{s <= t} scale * clip(a_s[pos_dims], -1, 1)``.

    Args:
        pos_dims: action indices of the x, y, z deltas.
        scale: metres per action unit (Meta-World: 0.01).
        state_pos_dims: state indices of the current end-effector position [m].
        clip: action bound the env clips to (None = no clip).
        body_offsets: float[P, 3] offsets [m] from the tip of the points :meth:`body` returns
            (rigid translation: a delta arm keeps its orientation); None = the tip alone.
    """

    def __init__(
        self,
        pos_dims: Sequence[int] = (0, 1, 2),
        scale: float | Sequence[float] = 0.01,
        state_pos_dims: Sequence[int] = (0, 1, 2),
        clip: float | None = 1.0,
        body_offsets: Sequence[Sequence[float]] | None = None,
    ):
        self.pos_dims, self.state_pos_dims = list(pos_dims), list(state_pos_dims)
        self.scale = torch.as_tensor(scale, dtype=torch.float32)
        self.clip = clip
        offsets = [[0.0, 0.0, 0.0]] if body_offsets is None else body_offsets
        self.body_offsets = torch.as_tensor(offsets, dtype=torch.float32).reshape(-1, 3)

    def start(self, context: dict[str, Any]) -> torch.Tensor:
        """Current end-effector position float[3] [m]."""
        return _state(context)[self.state_pos_dims]

    def __call__(self, actions: torch.Tensor, context: dict[str, Any]) -> torch.Tensor:
        d = actions[..., self.pos_dims]
        if self.clip is not None:
            d = d.clamp(-self.clip, self.clip)
        return self.start(context).to(actions) + torch.cumsum(d * self.scale.to(actions), dim=-2)

    def body(self, actions: torch.Tensor, context: dict[str, Any]) -> torch.Tensor:
        """Tip path plus ``body_offsets``: float[B, H, P, 3] [m]."""
        return self.path_and_body(actions, context)[1]

    def path_and_body(
        self, actions: torch.Tensor, context: dict[str, Any]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(path float[B, H, 3], body float[B, H, P, 3])`` from one cumulative sum."""
        path = self(actions, context)
        return path, path[:, :, None, :] + self.body_offsets.to(actions)


class FKPathMap:
    """``p_t = FK(a_t[joint_dims])`` for absolute joint-target actions [rad].

    Args:
        chain: differentiable kinematic chain (:class:`KinematicChain`).
        joint_dims: action indices of the chain's joints, in ``chain.joint_names`` order.
        state_joint_dims: state indices of the current joint angles (for :meth:`start`).
        per_segment: points inserted between consecutive link frames by :meth:`body`.
    """

    def __init__(
        self,
        chain: KinematicChain,
        joint_dims: Sequence[int] = (0, 1, 2, 3, 4),
        state_joint_dims: Sequence[int] = (0, 1, 2, 3, 4),
        per_segment: int = 2,
    ):
        self.per_segment = int(per_segment)
        if len(joint_dims) != len(chain.joint_names):
            raise ValueError(
                f"joint_dims has {len(joint_dims)} entries, chain has {chain.joint_names}"
            )
        self.chain, self.joint_dims, self.state_joint_dims = (
            chain,
            list(joint_dims),
            list(state_joint_dims),
        )

    def start(self, context: dict[str, Any]) -> torch.Tensor:
        """Current end-effector position float[3] [m] (FK of the measured joints)."""
        return self.chain.forward(_state(context)[self.state_joint_dims][None])[0]

    def __call__(self, actions: torch.Tensor, context: dict[str, Any]) -> torch.Tensor:
        b, h = actions.shape[:2]
        q = actions[..., self.joint_dims].reshape(b * h, -1)
        return self.chain.forward(q).view(b, h, 3)

    def body(self, actions: torch.Tensor, context: dict[str, Any]) -> torch.Tensor:
        """Points along the arm's links float[B, H, P, 3] [m]; the last point is the tip."""
        b, h = actions.shape[:2]
        q = actions[..., self.joint_dims].reshape(b * h, -1)
        pts = self.chain.forward_points(q, self.per_segment)
        return pts.view(b, h, *pts.shape[1:])

    def path_and_body(
        self, actions: torch.Tensor, context: dict[str, Any]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(path float[B, H, 3], body float[B, H, P, 3])`` from one FK pass (tip = last point)."""
        body = self.body(actions, context)
        return body[:, :, -1], body
