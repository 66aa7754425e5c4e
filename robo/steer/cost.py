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

The terms live in :mod:`robo.steer.terms`, each with its gradient in closed form; a program whose
path map has a VJP (:class:`~robo.steer.paths.DeltaPathMap`, :class:`~robo.steer.paths.FKPathMap`)
evaluates cost and gradient without an autograd graph (:meth:`CostProgram.value_and_grad`), which
is what makes guided sampling cheap; :meth:`CostProgram.reference` is the plain-autograd version.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import torch

from robo.steer.terms import (
    TERMS,
    Above,
    AvoidBox,
    AvoidSphere,
    CostError,
    GripperClosed,
    PassOver,
    Reach,
    Smooth,
    Term,
)

__all__ = [
    "TERMS", "Above", "AvoidBox", "AvoidSphere", "CostError", "CostProgram", "GripperClosed",
    "PassOver", "Reach", "Smooth", "Term", "compile_cost", "make_term", "parse_terms",
]  # fmt: skip

KeypointFn = Callable[[Any], dict[str, Any]]


class _Absent(Exception):
    """An optional keypoint is absent: the term that needs it contributes 0."""


class _ClosedFormCost(torch.autograd.Function):
    """``program(actions)`` whose backward is the gradient the program computed in closed form
    alongside the value (one autograd node instead of a graph over every term's ops)."""

    @staticmethod
    def forward(actions: torch.Tensor, program: CostProgram, context: dict) -> torch.Tensor:
        value, grad = program.value_and_grad(actions.detach(), context)
        return value, grad

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.save_for_backward(output[1])
        ctx.mark_non_differentiable(output[1])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_value: torch.Tensor, _grad_grad: torch.Tensor):
        (grad,) = ctx.saved_tensors
        return grad_value[:, None, None] * grad, None, None


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
        self._tensors: tuple[Any, dict] = (None, {})  # (keypoint dict, its tensors by dtype)
        self.fast = True
        self._traces: dict[tuple, Any] = {}

    @property
    def closed_form(self) -> bool:
        """Whether :meth:`value_and_grad` applies: the path map has a VJP and every term a
        closed-form gradient (the built-in ones do; otherwise calls fall back to autograd)."""
        return hasattr(self.path_map, "path_body_vjp") and all(
            type(t).value_grad is not Term.value_grad for _, t in self.terms
        )

    def resolve_keypoints(self, context: dict[str, Any]) -> dict[str, Any]:
        if "keypoints" not in context:
            context["keypoints"] = self.keypoints(context.get("obs")) if self.keypoints else {}
        return context["keypoints"]

    def _kp(self, context: dict[str, Any]) -> Callable[[Any, torch.Tensor], torch.Tensor]:
        """``kp(ref, like)``: keypoint name or literal -> tensor in ``like``'s dtype (converted
        once per context's keypoint dict)."""
        named = self.resolve_keypoints(context)
        if self._tensors[0] is not named:
            self._tensors = (named, {})
        cache = self._tensors[1]

        def kp(ref: Any, like: torch.Tensor) -> torch.Tensor:
            key = (ref if isinstance(ref, str) else id(ref), like.dtype, like.device)
            if key in cache:
                return cache[key]
            value = ref
            if isinstance(ref, str):
                if ref not in named and ref in self.optional:
                    raise _Absent(ref)
                if ref not in named:
                    raise CostError(f"keypoint {ref!r} not provided; have {sorted(named)}")
                value = named[ref]
            out = torch.as_tensor(value, dtype=like.dtype, device=like.device)
            if isinstance(ref, str):  # literals are re-read (their id may be reused)
                cache[key] = out
            return out

        return kp

    def path(self, actions: torch.Tensor, context: dict[str, Any]) -> torch.Tensor:
        """End-effector path float[B, H, 3] of the chunks."""
        return self.path_map(actions, context)

    def _needs_body(self) -> bool:
        if not any(term.on == "body" for _, term in self.terms):
            return False
        if not hasattr(self.path_map, "body"):
            raise CostError(
                f"{type(self.path_map).__name__} has no body(); use on='tip' or a path map "
                "with arm points (FKPathMap, DeltaPathMap)"
            )
        return True

    def per_term(self, actions: torch.Tensor, context: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Weighted value of every term, ``{repr(term): float[B]}`` (plain autograd)."""
        kp = self._kp(context)
        body = None
        if self._needs_body():
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

    def reference(self, actions: torch.Tensor, context: dict[str, Any]) -> torch.Tensor:
        """The cost through plain autograd (what :meth:`__call__` computes in closed form)."""
        return torch.stack(list(self.per_term(actions, context).values())).sum(0)

    def value_and_grad(
        self, actions: torch.Tensor, context: dict[str, Any], need_grad: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(cost float[B], d cost / d actions float[B, H, A])`` in closed form, no autograd
        (needs :attr:`closed_form`); the gradient is None when ``need_grad`` is False.

        With :attr:`fast` (default), for float32 chunks on CPU (what samplers pass), the whole
        computation runs as a ``torch.jit.trace`` of it per program structure (batch shape,
        which keypoints are present and their shapes; keypoint values and the state are
        inputs), built on first use and checked against this eager code on that call
        (``torch.jit.trace`` is deprecated from torch 2.14 but works; ``program.fast = False``
        keeps the eager code). A trace computes every term's gradient (the eager code skips
        all-zero ones, which add exact zeros): the same numbers. Not for float64: a trace
        turns shape-derived Python numbers (``2 / H``) into float32 tensors.
        """
        if (
            self.fast
            and actions.dtype == torch.float32
            and actions.device.type == "cpu"
            and not torch.jit.is_tracing()
        ):
            traced = self._traced(actions, context, need_grad)
            if traced is not None:
                return traced
        return self._value_and_grad(actions, context, need_grad)

    def _traced(
        self, actions: torch.Tensor, context: dict[str, Any], need_grad: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None] | None:
        """:meth:`_value_and_grad` through a checked trace (None: no usable trace)."""
        named = self.resolve_keypoints(context)
        kp = self._kp(context)
        obs = context.get("obs") or {}
        state = torch.as_tensor(obs["state"], dtype=torch.float32) if "state" in obs else None
        try:
            names = sorted(named)
            tensors = [kp(name, actions) for name in names]
        except (TypeError, ValueError, RuntimeError):  # a keypoint that is not numeric
            return None
        key = (
            need_grad, tuple(actions.shape), actions.dtype,
            None if state is None else tuple(state.shape),
            tuple((n, tuple(t.shape)) for n, t in zip(names, tensors)),
        )  # fmt: skip
        inputs = (actions, *([] if state is None else [state]), *tensors)
        if key not in self._traces:
            self._traces[key] = self._build_trace(key, names, state is not None, inputs, context)
        fn = self._traces[key]
        if fn is None:
            return None
        out = fn(*inputs)
        return (out[0], out[1]) if need_grad else (out, None)

    def _build_trace(
        self, key: tuple, names: list[str], has_state: bool, inputs: tuple, context: dict
    ) -> Any:
        import warnings

        need_grad = key[0]

        def program(actions: torch.Tensor, *rest: torch.Tensor):
            state, kps = (rest[0], rest[1:]) if has_state else (None, rest)
            ctx: dict[str, Any] = {"keypoints": dict(zip(names, kps))}
            if has_state:
                ctx["obs"] = {"state": state}
            value, grad = self._value_and_grad(actions, ctx, need_grad)
            return (value, grad) if need_grad else value

        # eager first: the reference, and it fills every lazy cache (the chain's constants in
        # this dtype, interpolation matrices), which the trace then holds as constants
        value, grad = self._value_and_grad(inputs[0], context, need_grad)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # torch.jit.trace: deprecated
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                fn = torch.jit.trace(program, inputs, check_trace=False)
            got = fn(*inputs)
        except CostError:  # a bad program or context: the eager code raises it too
            raise
        except Exception as exc:  # noqa: BLE001 - any tracing failure means: stay eager
            msg = f"cost trace failed ({type(exc).__name__}: {exc}); using the eager code"
            warnings.warn(msg, stacklevel=4)
            return None
        finally:
            self._tensors = (None, {})  # the trace's keypoint dict is not the context's
        got_value, got_grad = (got[0], got[1]) if need_grad else (got, None)
        ok = torch.allclose(got_value, value, rtol=1e-6, atol=1e-9) and (
            grad is None or torch.allclose(got_grad, grad, rtol=1e-6, atol=1e-9)
        )
        if not ok:
            warnings.warn(
                "traced cost differs from the eager one; using the eager code "
                "(hint: program.fast = False)",
                stacklevel=4,
            )
            return None
        return fn

    def _value_and_grad(
        self, actions: torch.Tensor, context: dict[str, Any], need_grad: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        kp = self._kp(context)
        path, body, vjp = self.path_map.path_body_vjp(actions, context, self._needs_body())
        if body is not None:
            body = body.flatten(1, 2)  # [B, H * P, 3]
        values, g_path, g_body, g_actions = [], None, None, None
        for w, term in self.terms:
            on_body = term.on == "body"
            try:
                v, gp, ga = term.value_grad(
                    body if on_body else path, actions, kp, need_grad, self.gripper_dim
                )
            except _Absent:
                v, gp, ga = path[:, 0, 0] * 0.0, None, None
            values.append(w * v)
            if gp is not None:
                if on_body:
                    g_body = w * gp if g_body is None else g_body + w * gp
                else:
                    g_path = w * gp if g_path is None else g_path + w * gp
            if ga is not None:
                g_actions = w * ga if g_actions is None else g_actions + w * ga
        value = torch.stack(values).sum(0)
        if not need_grad:
            return value, None
        if g_path is None and g_body is None:  # no path term is active: skip the VJP
            return value, torch.zeros_like(actions) if g_actions is None else g_actions
        if g_body is not None:
            g_body = g_body.view(*body.shape[:1], actions.shape[1], -1, 3)
        grad = vjp(g_path, g_body)
        if g_actions is not None:
            grad = grad + g_actions
        return value, grad

    def __call__(self, actions: torch.Tensor, context: dict[str, Any]) -> torch.Tensor:
        if not self.closed_form:
            return self.reference(actions, context)
        if torch.is_grad_enabled() and actions.requires_grad:
            return _ClosedFormCost.apply(actions, self, context)[0]
        return self.value_and_grad(actions, context, need_grad=False)[0]

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
