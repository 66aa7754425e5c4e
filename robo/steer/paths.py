"""Maps from an action chunk to the end-effector path it would produce (differentiable).

* :class:`DeltaPathMap` — end-effector delta actions (Meta-World, robosuite): the path is the
  current position plus the cumulative sum of scaled position deltas.
* :class:`FKPathMap` — absolute joint-position actions (SO-101): the path is forward
  kinematics of each commanded joint vector.

Both return float[B, H, 3] world positions [m] for actions float[B, H, A] (action units) and
read the current end-effector position / state from ``context["obs"]["state"]``. ``body(actions,
context)`` gives points along the whole arm, float[B, H, P, 3] (FK: link centre lines; deltas:
the tip plus fixed offsets, e.g. the hand above the fingertips), for costs with ``on="body"``.
``path_body_vjp(actions, context, body)`` gives both without an autograd graph plus the
vector-Jacobian product back to the actions (what closed-form cost gradients chain through).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from robo.steer.kinematics import KinematicChain, mix_points

Vjp = Callable[[torch.Tensor | None, torch.Tensor | None], torch.Tensor]
"""``vjp(d/d path float[B, H, 3] | None, d/d body float[B, H, P, 3] | None) -> d/d actions``."""


def _state(context: dict[str, Any]) -> torch.Tensor:
    obs = context.get("obs")
    if obs is None or "state" not in obs:
        raise ValueError("path maps need context['obs']['state'] (the current proprioception)")
    return torch.as_tensor(obs["state"], dtype=torch.float32)


def _dims(dims: list[int]) -> list[int] | slice:
    """``dims`` as a slice when they are consecutive and ascending (indexing by a slice is a
    view, by a list a gather; the same values), else the list."""
    if dims and dims == list(range(dims[0], dims[0] + len(dims))):
        return slice(dims[0], dims[0] + len(dims))
    return dims


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
        self._pos = _dims(self.pos_dims)
        self.scale = torch.as_tensor(scale, dtype=torch.float32)
        self.clip = clip
        offsets = [[0.0, 0.0, 0.0]] if body_offsets is None else body_offsets
        self.body_offsets = torch.as_tensor(offsets, dtype=torch.float32).reshape(-1, 3)

    def start(self, context: dict[str, Any]) -> torch.Tensor:
        """Current end-effector position float[3] [m]."""
        return _state(context)[self.state_pos_dims]

    def __call__(self, actions: torch.Tensor, context: dict[str, Any]) -> torch.Tensor:
        d = actions[..., self._pos]
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

    def path_body_vjp(
        self, actions: torch.Tensor, context: dict[str, Any], body: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None, Vjp]:
        """``(path, body or None, vjp)`` with ``vjp(d/d path float[B, H, 3] | None, d/d body
        float[B, H, P, 3] | None) -> d/d actions float[B, H, A]`` (no autograd graph)."""
        with torch.no_grad():
            d = actions[..., self._pos]
            scale = self.scale.to(actions)
            clipped = d if self.clip is None else d.clamp(-self.clip, self.clip)
            path = self.start(context).to(actions) + torch.cumsum(clipped * scale, dim=-2)
            pts = path[:, :, None, :] + self.body_offsets.to(actions) if body else None

        def vjp(g_path: torch.Tensor | None, g_body: torch.Tensor | None) -> torch.Tensor:
            g = torch.zeros_like(path) if g_path is None else g_path
            if g_body is not None:
                g = g + g_body.sum(-2)
            g = g.flip(-2).cumsum(-2).flip(-2) * scale  # the adjoint of the cumulative sum
            if self.clip is not None:  # clamp passes the gradient inside [-clip, clip]
                g = g * ((d >= -self.clip) & (d <= self.clip))
            out = torch.zeros_like(actions)
            out[..., self._pos] = g
            return out

        return path, pts, vjp


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
        self._joints = _dims(self.joint_dims)

    def start(self, context: dict[str, Any]) -> torch.Tensor:
        """Current end-effector position float[3] [m] (FK of the measured joints)."""
        return self.chain.forward(_state(context)[self.state_joint_dims][None])[0]

    def __call__(self, actions: torch.Tensor, context: dict[str, Any]) -> torch.Tensor:
        b, h = actions.shape[:2]
        q = actions[..., self._joints].reshape(b * h, -1)
        return self.chain.forward(q).view(b, h, 3)

    def body(self, actions: torch.Tensor, context: dict[str, Any]) -> torch.Tensor:
        """Points along the arm's links float[B, H, P, 3] [m]; the last point is the tip."""
        b, h = actions.shape[:2]
        q = actions[..., self._joints].reshape(b * h, -1)
        pts = self.chain.forward_points(q, self.per_segment)
        return pts.view(b, h, *pts.shape[1:])

    def path_and_body(
        self, actions: torch.Tensor, context: dict[str, Any]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(path float[B, H, 3], body float[B, H, P, 3])`` from one FK pass (tip = last point)."""
        body = self.body(actions, context)
        return body[:, :, -1], body

    def path_body_vjp(
        self, actions: torch.Tensor, context: dict[str, Any], body: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None, Vjp]:
        """``(path, body or None, vjp)`` from one FK pass without an autograd graph; ``vjp``
        maps d/d path float[B, H, 3] and d/d body float[B, H, P, 3] (either may be None) to
        d/d actions float[B, H, A] through the arm's geometric Jacobian."""
        b, h = actions.shape[:2]
        q = actions[..., self._joints].reshape(b * h, -1)
        knots, knots_vjp = self.chain.points_with_vjp(q)
        mix = self.chain.mixing(self.per_segment, q) if self.per_segment > 0 else None
        pts = None
        if body:
            pts = knots if mix is None else mix_points(mix, knots)
            pts = pts.view(b, h, -1, 3)

        def vjp(g_path: torch.Tensor | None, g_body: torch.Tensor | None) -> torch.Tensor:
            g = torch.zeros_like(knots)
            if g_body is not None:
                gb = g_body.reshape(b * h, -1, 3)
                g = mix_points(mix.T, gb) if mix is not None else gb.clone()
            if g_path is not None:
                g[:, -1] += g_path.reshape(b * h, 3)
            out = torch.zeros_like(actions)
            out[..., self._joints] = knots_vjp(g).view(b, h, -1)
            return out

        return knots[:, -1].view(b, h, 3), pts, vjp
