"""The cost terms of :mod:`robo.steer.cost`, each with its gradient in closed form.

Every term has two entry points that compute the same value:

* ``value(points, actions, kp)`` -> float[B]: plain differentiable torch (autograd gives the
  gradient); the reference, and what a program uses with a path map that has no VJP.
* ``value_grad(points, actions, kp, need_grad, gripper_dim)`` -> ``(value float[B], d value /
  d points float[B, N, 3] | None, d value / d actions float[B, H, A] | None)``: the same
  value plus its gradient written out, following autograd's conventions at kinks (relu and
  abs pass 0 at 0, clamp passes at its bound, max/min route to the index they return). A
  guided denoising step evaluates a cost and its gradient tens of times per chunk; doing it
  without building an autograd graph over ~100 tiny ops is what makes steering cheap.

``points`` is float[B, N, 3] [m]: the tip path (N = H) or, for ``on="body"`` terms, all arm
points (N = H * P). Equivalence of the two entry points is tested in tests/steer/test_terms.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

_EPS = 1e-9
Grads = tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]


def _any(mask: torch.Tensor) -> bool:
    """``mask.any()`` as a Python bool, and True while tracing: a traced program computes every
    gradient term (skipping all-zero ones is a data-dependent branch a trace cannot keep; the
    terms it would skip add exact zeros)."""
    return torch.jit.is_tracing() or bool(mask.any())


def _norm(v: torch.Tensor) -> torch.Tensor:
    return torch.sqrt((v * v).sum(-1) + _EPS)


class CostError(ValueError):
    """A cost expression or spec that cannot be compiled, or a missing keypoint."""


def _on(on: str) -> str:
    if on not in ("tip", "body"):
        raise CostError(f"on={on!r} must be 'tip' or 'body'")
    return on


def _pick(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``x[b, n, idx[b, n], :]`` for x float[B, N, K, D] and idx long[B, N] -> float[B, N, D]."""
    if x.shape[2] == 1:
        return x[:, :, 0]
    return x.gather(2, idx[:, :, None, None].expand(-1, -1, 1, x.shape[3]))[:, :, 0]


class Term:
    """One cost term (see the module docstring for ``value`` / ``value_grad``)."""

    name = ""
    on = "tip"

    def __init__(self, **kwargs: Any):
        self.args = kwargs

    def value(self, path: torch.Tensor, actions: torch.Tensor, kp: Callable) -> torch.Tensor:
        raise NotImplementedError

    def value_grad(
        self,
        path: torch.Tensor,
        actions: torch.Tensor,
        kp: Callable,
        need_grad: bool,
        gripper_dim: int | None = None,
    ) -> Grads:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.name}({args})"


class Reach(Term):
    name = "reach"

    def __init__(self, target: Any, at: str = "end"):
        if at not in ("end", "min"):
            raise CostError(f"reach(at={at!r}) must be 'end' or 'min'")
        super().__init__(target=target, at=at)

    def value(self, path, actions, kp):
        target = kp(self.args["target"], path)
        if self.args["at"] == "end":
            return _norm(path[:, -1] - target)
        return -torch.logsumexp(-_norm(path - target) / 0.01, dim=1) * 0.01

    def value_grad(self, path, actions, kp, need_grad, gripper_dim=None):
        target = kp(self.args["target"], path)
        if self.args["at"] == "end":
            d = path[:, -1] - target
            v = _norm(d)
            if not need_grad:
                return v, None, None
            g = torch.zeros_like(path)
            g[:, -1] = d / v[:, None]
            return v, g, None
        d = path - target
        n = _norm(d)
        v = -torch.logsumexp(-n / 0.01, dim=1) * 0.01
        if not need_grad:
            return v, None, None
        return v, (torch.softmax(-n / 0.01, dim=1) / n)[..., None] * d, None


class AvoidSphere(Term):
    name = "avoid_sphere"

    def __init__(self, center: Any, radius: float, margin: float = 0.02, on: str = "tip"):
        super().__init__(center=center, radius=float(radius), margin=float(margin), on=_on(on))
        self.on = on

    def value(self, path, actions, kp):
        c = kp(self.args["center"], path).reshape(-1, 3)
        sd = _norm(path[:, :, None, :] - c) - self.args["radius"]  # [B, H, N]
        return torch.relu(self.args["margin"] - sd.min(-1).values).pow(2).sum(1)

    def value_grad(self, path, actions, kp, need_grad, gripper_dim=None):
        c = kp(self.args["center"], path).reshape(-1, 3)
        d = path[:, :, None, :] - c  # [B, N, K, 3]
        n = _norm(d)
        sd, k = (n - self.args["radius"]).min(-1)
        viol = torch.relu(self.args["margin"] - sd)  # [B, N]
        v = viol.pow(2).sum(1)
        if not need_grad or not _any(viol):
            return v, None, None
        return v, (-2 * viol)[..., None] * _pick(d / n[..., None], k), None


class AvoidBox(Term):
    name = "avoid_box"

    def __init__(self, center: Any, half: Any, margin: float = 0.02, on: str = "tip"):
        super().__init__(center=center, half=half, margin=float(margin), on=_on(on))
        self.on = on

    def value(self, path, actions, kp):
        c = kp(self.args["center"], path).reshape(-1, 3)
        half = kp(self.args["half"], path).reshape(-1, 3)
        q = (path[:, :, None, :] - c).abs() - half  # [B, H, N, 3]
        outside = _norm(torch.relu(q))
        inside = torch.clamp(q.max(-1).values, max=0.0)
        sd = (outside + inside).min(-1).values
        return torch.relu(self.args["margin"] - sd).pow(2).sum(1)

    def value_grad(self, path, actions, kp, need_grad, gripper_dim=None):
        c = kp(self.args["center"], path).reshape(-1, 3)
        half = kp(self.args["half"], path).reshape(-1, 3)
        single = c.shape[0] == 1 and half.shape[0] == 1  # one box: no min over boxes
        d = path - c[0] if single else path[:, :, None, :] - c  # [B, N, (K,) 3]
        q = d.abs() - (half[0] if single else half)
        rq = torch.relu(q)
        outside = _norm(rq)
        qmax, axis = q.max(-1)
        sd = outside + torch.clamp(qmax, max=0.0)
        if not single:
            sd, k = sd.min(-1)
        viol = torch.relu(self.args["margin"] - sd)  # [B, N]
        v = viol.pow(2).sum(1)
        if not need_grad or not _any(viol):  # nothing within the margin: zero gradient
            return v, None, None
        # d sd / d q: the outside distance's direction, plus the deepest axis when inside.
        dq = rq / outside[..., None]
        inside = qmax <= 0
        if _any(inside):
            dq = dq + torch.zeros_like(q).scatter_(-1, axis[..., None], inside[..., None].to(q))
        dd = dq * d.sign()
        return v, (-2 * viol)[..., None] * (dd if single else _pick(dd, k)), None


class PassOver(Term):
    name = "pass_over"

    def __init__(
        self, center: Any, half: Any, clearance: float = 0.04, margin: float = 0.03,
        on: str = "tip",
    ):  # fmt: skip
        super().__init__(
            center=center, half=half, clearance=float(clearance), margin=float(margin), on=_on(on)
        )
        self.on = on

    def value(self, path, actions, kp):
        c = kp(self.args["center"], path).reshape(-1, 3)
        half = kp(self.args["half"], path).reshape(-1, 3)
        d = (path[:, :, None, :2] - c[:, :2]).abs()  # [B, N, K, 2]
        inside = torch.sigmoid((half[:, :2] + self.args["margin"] - d) / 0.005).prod(-1)
        top = c[:, 2] + half[:, 2] + self.args["clearance"]  # [K]
        return (inside * torch.relu(top - path[..., 2:3]).pow(2)).sum((1, 2))

    def value_grad(self, path, actions, kp, need_grad, gripper_dim=None):
        c = kp(self.args["center"], path).reshape(-1, 3)
        half = kp(self.args["half"], path).reshape(-1, 3)
        s = path[:, :, None, :2] - c[:, :2]  # [B, N, K, 2]
        z = torch.sigmoid((half[:, :2] + self.args["margin"] - s.abs()) / 0.005)
        inside = z.prod(-1)  # [B, N, K]
        top = c[:, 2] + half[:, 2] + self.args["clearance"]  # [K]
        h = torch.relu(top - path[..., 2:3])
        h2 = h.pow(2)
        v = (inside * h2).sum((1, 2))
        if not need_grad or not _any(h):  # every point above the top: zero gradient
            return v, None, None
        g = torch.empty_like(path)
        g[..., 2] = -2 * (inside * h).sum(-1)
        # d inside / d z_i = z_other; sigmoid' = z (1 - z); d u / d |s| = -1 / 0.005
        gz = h2[..., None] * z.flip(-1) * z * (1 - z) * (-1 / 0.005)
        g[..., :2] = (gz * s.sign()).sum(2)
        return v, g, None


class Above(Term):
    name = "above"

    def __init__(self, height: Any, margin: float = 0.0, on: str = "tip"):
        super().__init__(height=height, margin=float(margin), on=_on(on))
        self.on = on

    def _height(self, path: torch.Tensor, kp: Callable) -> torch.Tensor:
        h = kp(self.args["height"], path).reshape(-1)
        return h[2] if h.numel() == 3 else h[0]

    def value(self, path, actions, kp):
        h = self._height(path, kp)
        return torch.relu(h + self.args["margin"] - path[..., 2]).pow(2).sum(1)

    def value_grad(self, path, actions, kp, need_grad, gripper_dim=None):
        viol = torch.relu(self._height(path, kp) + self.args["margin"] - path[..., 2])
        v = viol.pow(2).sum(1)
        if not need_grad or not _any(viol):
            return v, None, None
        g = torch.zeros_like(path)
        g[..., 2] = -2 * viol
        return v, g, None


class GripperClosed(Term):
    name = "gripper_closed"
    needs_gripper = True

    def __init__(self, closed: float = 1.0, direction: float = 1.0, when: str | None = None):
        super().__init__(closed=float(closed), direction=float(direction), when=when)

    def value(self, path, actions, kp, gripper: torch.Tensor | None = None):
        if gripper is None:
            raise CostError(
                "gripper_closed needs the program's gripper_dim (hint: set gripper_dim)"
            )
        pen = torch.relu(self.args["direction"] * (self.args["closed"] - gripper)).pow(2).mean(1)
        if self.args["when"] is not None:
            pen = pen * kp(self.args["when"], path).reshape(-1)[0]
        return pen

    def value_grad(self, path, actions, kp, need_grad, gripper_dim=None):
        if gripper_dim is None:
            raise CostError(
                "gripper_closed needs the program's gripper_dim (hint: set gripper_dim)"
            )
        gripper = actions[..., gripper_dim]
        viol = torch.relu(self.args["direction"] * (self.args["closed"] - gripper))  # [B, H]
        pen = viol.pow(2).mean(1)
        scale = None
        if self.args["when"] is not None:
            scale = kp(self.args["when"], path).reshape(-1)[0]
            pen = pen * scale
        if not need_grad:
            return pen, None, None
        g = torch.zeros_like(actions)
        gg = viol * (-2 * self.args["direction"] / gripper.shape[1])
        g[..., gripper_dim] = gg if scale is None else gg * scale
        return pen, None, g


class Smooth(Term):
    name = "smooth"

    def value(self, path, actions, kp):
        return (actions[:, 1:] - actions[:, :-1]).pow(2).sum(-1).mean(1)

    def value_grad(self, path, actions, kp, need_grad, gripper_dim=None):
        diff = actions[:, 1:] - actions[:, :-1]
        v = diff.pow(2).sum(-1).mean(1)
        if not need_grad:
            return v, None, None
        gd = diff * (2 / diff.shape[1])
        g = torch.zeros_like(actions)
        g[:, 1:] += gd
        g[:, :-1] -= gd
        return v, None, g


TERMS: dict[str, type[Term]] = {
    t.name: t for t in (Reach, AvoidSphere, AvoidBox, PassOver, Above, GripperClosed, Smooth)
}
