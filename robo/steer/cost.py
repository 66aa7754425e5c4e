"""A small cost language compiled to differentiable torch.

An expression such as ::

    "10 * avoid_sphere(obstacle, radius=0.05, margin=0.02) + reach(goal) + 0.1 * smooth()"

(or the same as a YAML list of ``{term: avoid_sphere, weight: 10, center: obstacle, ...}``)
compiles to a :class:`CostProgram`: ``program(actions float[B, H, A], context) -> float[B]``.
Bare names (``obstacle``, ``goal``) are keypoints resolved at call time from
``context["keypoints"]``, filled by a provider callback (sim state in simulation, a detector
on hardware); numbers and lists are literals. Positions are metres in the world frame.

Terms (p_t = end-effector path from the program's path map, float[B, H, 3]):

* ``reach(target, at="end")``: ``||p_H - target||`` (``at="min"``: closest point).
* ``avoid_sphere(center, radius, margin=0.02, on="tip")``: ``sum_t relu(margin - sd_t)^2``
  with signed distance ``sd_t = ||p_t - center|| - radius`` (center float[3] or float[N, 3]:
  nearest).
* ``avoid_box(center, half, margin=0.02, on="tip")``: same with the box signed distance.
* ``above(height, margin=0.0, on="tip")``: ``sum_t relu(height + margin - z_t)^2`` (height a
  number or a keypoint whose z is used).

``on="body"`` applies a term to every point along the arm (the path map's ``body``: link centre
lines by forward kinematics, float[B, H, P, 3]) instead of the tip alone, so an obstacle that
blocks the arm's links, not the gripper, is seen too; the sum then runs over steps and points.
* ``pass_over(center, half, clearance=0.04, margin=0.03, on="tip")``: ``sum_t w_t
  relu(top + clearance - z_t)^2`` with ``top`` the box's top [m] and ``w_t`` a smooth indicator
  (product of sigmoids, 5 mm soft edge) of ``p_t`` being over the box's footprint grown by
  ``margin``: lifts a path over an obstacle instead of stopping it in front (``avoid_box``
  alone pushes points out through the nearest face, which for a path running into the front
  face means backwards).
* ``gripper_closed(closed=1.0, direction=1.0, when=None)``: ``mean_t relu(direction
  (closed - g_t))^2`` on the gripper action, multiplied by keypoint ``when`` (e.g. carrying).
* ``smooth()``: mean squared change between consecutive actions.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import torch

KeypointFn = Callable[[Any], dict[str, Any]]
_EPS = 1e-9


def _norm(v: torch.Tensor) -> torch.Tensor:
    return torch.sqrt((v * v).sum(-1) + _EPS)


class CostError(ValueError):
    """A cost expression or spec that cannot be compiled, or a missing keypoint."""


class _Absent(Exception):
    """An optional keypoint is absent: the term that needs it contributes 0."""


class Term:
    """One cost term; ``value(path, actions, kp)`` -> float[B]. ``path`` is float[B, N, 3]:
    the tip path (N = H) or, for ``on="body"`` terms, all arm points (N = H * P)."""

    name = ""
    on = "tip"

    def __init__(self, **kwargs: Any):
        self.args = kwargs

    def value(self, path: torch.Tensor, actions: torch.Tensor, kp: Callable) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.name}({args})"


def _on(on: str) -> str:
    if on not in ("tip", "body"):
        raise CostError(f"on={on!r} must be 'tip' or 'body'")
    return on


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


class AvoidSphere(Term):
    name = "avoid_sphere"

    def __init__(self, center: Any, radius: float, margin: float = 0.02, on: str = "tip"):
        super().__init__(center=center, radius=float(radius), margin=float(margin), on=_on(on))
        self.on = on

    def value(self, path, actions, kp):
        c = kp(self.args["center"], path).reshape(-1, 3)
        sd = _norm(path[:, :, None, :] - c) - self.args["radius"]  # [B, H, N]
        return torch.relu(self.args["margin"] - sd.min(-1).values).pow(2).sum(1)


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


class Above(Term):
    name = "above"

    def __init__(self, height: Any, margin: float = 0.0, on: str = "tip"):
        super().__init__(height=height, margin=float(margin), on=_on(on))
        self.on = on

    def value(self, path, actions, kp):
        h = kp(self.args["height"], path).reshape(-1)
        h = h[2] if h.numel() == 3 else h[0]
        return torch.relu(h + self.args["margin"] - path[..., 2]).pow(2).sum(1)


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


class Smooth(Term):
    name = "smooth"

    def value(self, path, actions, kp):
        return (actions[:, 1:] - actions[:, :-1]).pow(2).sum(-1).mean(1)


TERMS: dict[str, type[Term]] = {
    t.name: t for t in (Reach, AvoidSphere, AvoidBox, PassOver, Above, GripperClosed, Smooth)
}


class CostProgram:
    """A compiled weighted sum of terms: ``program(actions [B, H, A], context) -> float[B]``.

    Args:
        terms: (weight, term) pairs.
        path_map: ``path_map(actions, context) -> float[B, H, 3]`` (see :mod:`robo.steer.paths`).
        gripper_dim: action index of the gripper command (for ``gripper_closed``).
        keypoints: ``keypoints(obs) -> {name: float[3] | float[N, 3] | float}``, called once per
            context when ``context`` has no ``"keypoints"`` yet.
        optional: keypoint names that may be absent (e.g. ``obstacle`` when the scene has
            none); a term needing an absent optional keypoint contributes 0. Any other missing
            name is an error.
    """

    def __init__(
        self,
        terms: list[tuple[float, Term]],
        path_map: Callable[[torch.Tensor, dict[str, Any]], torch.Tensor],
        gripper_dim: int | None = None,
        keypoints: KeypointFn | None = None,
        optional: tuple[str, ...] = (),
    ):
        self.terms, self.path_map = terms, path_map
        self.gripper_dim, self.keypoints = gripper_dim, keypoints
        self.optional = frozenset(optional)

    def resolve_keypoints(self, context: dict[str, Any]) -> dict[str, Any]:
        if "keypoints" not in context:
            context["keypoints"] = self.keypoints(context.get("obs")) if self.keypoints else {}
        return context["keypoints"]

    def path(self, actions: torch.Tensor, context: dict[str, Any]) -> torch.Tensor:
        """End-effector path float[B, H, 3] of the chunks."""
        return self.path_map(actions, context)

    def per_term(self, actions: torch.Tensor, context: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Weighted value of every term, ``{repr(term): float[B]}``."""
        named = self.resolve_keypoints(context)

        def kp(ref: Any, like: torch.Tensor) -> torch.Tensor:
            if isinstance(ref, str):
                if ref not in named and ref in self.optional:
                    raise _Absent(ref)
                if ref not in named:
                    raise CostError(f"keypoint {ref!r} not provided; have {sorted(named)}")
                ref = named[ref]
            return torch.as_tensor(ref, dtype=like.dtype)

        body = None
        if any(term.on == "body" for _, term in self.terms):
            if not hasattr(self.path_map, "body"):
                raise CostError(
                    f"{type(self.path_map).__name__} has no body(); use on='tip' or a path map "
                    "with arm points (FKPathMap, DeltaPathMap)"
                )
            if hasattr(self.path_map, "path_and_body"):  # one kinematics pass for both
                path, body = self.path_map.path_and_body(actions, context)
            else:
                path, body = self.path_map(actions, context), self.path_map.body(actions, context)
            body = body.flatten(1, 2)  # [B, H * P, 3]
        else:
            path = self.path_map(actions, context)
        gripper = actions[..., self.gripper_dim] if self.gripper_dim is not None else None
        out = {}
        for w, term in self.terms:
            points = body if term.on == "body" else path
            try:
                if getattr(term, "needs_gripper", False):
                    v = term.value(points, actions, kp, gripper=gripper)
                else:
                    v = term.value(points, actions, kp)
            except _Absent:
                v = path[:, 0, 0] * 0.0  # keeps the graph (and dtype) for autograd
            out[repr(term)] = w * v
        return out

    def __call__(self, actions: torch.Tensor, context: dict[str, Any]) -> torch.Tensor:
        return torch.stack(list(self.per_term(actions, context).values())).sum(0)

    def __repr__(self) -> str:
        return " + ".join(f"{w:g} * {t!r}" for w, t in self.terms)


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_literal(node.operand)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e) for e in node.elts]
    raise CostError(
        f"unsupported argument {ast.unparse(node)!r} (use numbers, lists or keypoint names)"
    )


def _term(node: ast.AST) -> tuple[float, Term]:
    weight = 1.0
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        left, right = node.left, node.right
        if isinstance(right, ast.Constant):
            left, right = right, left
        if not isinstance(left, ast.Constant):
            raise CostError(f"{ast.unparse(node)!r}: write weights as 'number * term(...)'")
        weight, node = float(left.value), right
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise CostError(f"{ast.unparse(node)!r} is not a term call; terms: {', '.join(TERMS)}")
    return weight, make_term(
        node.func.id,
        *[_literal(a) for a in node.args],
        **{k.arg: _literal(k.value) for k in node.keywords},
    )


def make_term(name: str, *args: Any, **kwargs: Any) -> Term:
    """Build one term by name (``make_term("reach", "goal")``)."""
    if name not in TERMS:
        raise CostError(f"unknown cost term {name!r}; terms: {', '.join(TERMS)}")
    try:
        return TERMS[name](*args, **kwargs)
    except TypeError as err:
        raise CostError(f"{name}: {err}") from None


def parse_terms(spec: str | list[dict[str, Any]]) -> list[tuple[float, Term]]:
    """(weight, term) pairs from an expression string or a list of dicts."""
    if isinstance(spec, str):
        try:
            tree = ast.parse(spec, mode="eval").body
        except SyntaxError as err:
            raise CostError(f"cannot parse cost {spec!r}: {err.msg}") from None
        parts: list[ast.AST] = []
        while isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.Add):
            parts.insert(0, tree.right)
            tree = tree.left
        parts.insert(0, tree)
        return [_term(p) for p in parts]
    out = []
    for item in spec:
        item = dict(item)
        if "term" not in item:
            raise CostError(f"cost entry {item} lacks 'term'; terms: {', '.join(TERMS)}")
        name, weight = item.pop("term"), float(item.pop("weight", 1.0))
        out.append((weight, make_term(name, **item)))
    return out


def compile_cost(
    spec: str | list[dict[str, Any]],
    path_map: Callable[[torch.Tensor, dict[str, Any]], torch.Tensor],
    gripper_dim: int | None = None,
    keypoints: KeypointFn | None = None,
    optional: tuple[str, ...] = (),
) -> CostProgram:
    """Compile a cost expression / spec list into a differentiable :class:`CostProgram`."""
    terms = parse_terms(spec)
    if not terms:
        raise CostError("empty cost expression")
    return CostProgram(terms, path_map, gripper_dim, keypoints, optional)
