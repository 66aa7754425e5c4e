"""Closed-form cost gradients (``CostProgram.value_and_grad``) against plain autograd
(``CostProgram.reference``): same values and gradients on random chunks, for every term, on
both path maps (end-effector deltas with body offsets, SO-101 forward kinematics)."""

import numpy as np
import pytest
import torch

from robo.steer import DeltaPathMap, FKPathMap, KinematicChain, compile_cost
from robo.steer.base import cost_gradient
from sims.so101.assets import arm_xml

TERMS = [
    "reach(goal)",
    "reach(goal, at='min')",
    "avoid_sphere(obstacle, radius=0.04, margin=0.03, on={on})",
    "avoid_box(box, half, margin=0.03, on={on})",
    "avoid_box(boxes, halves, margin=0.03, on={on})",
    "above(table, margin=0.02, on={on})",
    "pass_over(box, half, clearance=0.03, margin=0.02, on={on})",
    "gripper_closed(closed=0.5, when=carrying)",
    "smooth()",
    "100 * avoid_box(box, half, margin=0.02, on=body) + 100 * above(table, margin=0.01, on=body)"
    " + 100 * pass_over(box, half, clearance=0.02, margin=0.02, on=body) + reach(goal)",
]


def _setup(kind: str, dtype: torch.dtype, on: str = "body"):
    """(path map, context, actions float[B, H, A]) with keypoints placed on the path itself,
    so every term is active somewhere (inside and outside boxes, below the table, ...)."""
    g = torch.Generator().manual_seed(1)
    if kind == "delta":
        path_map = DeltaPathMap(scale=0.05, body_offsets=[[0, 0, 0], [0, 0, 0.04], [0, 0, 0.08]])
        state = np.array([0.0, 0.6, 0.2, 0.0], np.float32)
        actions = torch.rand(6, 8, 4, generator=g, dtype=torch.float64) * 2.4 - 1.2
    else:
        path_map = FKPathMap(KinematicChain.from_mjcf(arm_xml(), "tip"), per_segment=2)
        state = np.zeros(12, np.float32)
        actions = torch.rand(6, 8, 6, generator=g, dtype=torch.float64) * 2.4 - 1.2
    ctx = {"obs": {"state": state}}
    with torch.no_grad():
        path, body = path_map.path_and_body(actions, ctx)
    pts = (body if on == "body" else path).reshape(-1, 3).numpy()
    mid = pts[len(pts) // 2]  # on the path: boxes and spheres around it are active
    ctx["keypoints"] = {
        "goal": pts[0] + 0.05,
        "obstacle": np.stack([mid, pts[-1]]),
        "box": mid,
        "half": [0.03, 0.04, 0.05],
        "boxes": np.stack([mid, pts[3]]),
        "halves": [[0.03, 0.04, 0.05], [0.02, 0.02, 0.02]],
        "table": [0.0, 0.0, float(np.quantile(pts[:, 2], 0.3))],
        "carrying": 1.0,
    }
    return path_map, ctx, actions.to(dtype)


CASES = [(e, on) for e in TERMS for on in (("tip", "body") if "{on}" in e else ("body",))]


@pytest.mark.parametrize("kind", ["delta", "fk"])
@pytest.mark.parametrize("expr, on", CASES)
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-9), (torch.float32, 1e-5)])
def test_closed_form_matches_autograd(kind, expr, on, dtype, tol):
    path_map, ctx, actions = _setup(kind, dtype, on)
    program = compile_cost(expr.format(on=on), path_map, gripper_dim=3)
    assert program.closed_form
    ref_in = actions.clone().requires_grad_(True)
    ref = program.reference(ref_in, ctx)
    (g_ref,) = torch.autograd.grad(ref.sum(), ref_in)
    value, grad = program.value_and_grad(actions, ctx)
    scale = max(float(ref.detach().abs().max()), 1.0)
    torch.testing.assert_close(value, ref.detach(), atol=tol * scale, rtol=tol)
    gscale = max(float(g_ref.abs().max()), 1.0)
    torch.testing.assert_close(grad, g_ref, atol=tol * gscale, rtol=tol)
    assert float(ref.detach().abs().sum()) > 0 and float(g_ref.abs().sum()) > 0  # active
    # __call__ goes through the closed form: with and without grad, same numbers
    new_in = actions.clone().requires_grad_(True)
    (g_call,) = torch.autograd.grad(program(new_in, ctx).sum(), new_in)
    torch.testing.assert_close(g_call, grad)
    with torch.no_grad():
        torch.testing.assert_close(program(actions, ctx), value)


def test_steering_gradient_uses_the_closed_form_and_matches_autograd():
    """``cost_gradient`` (what guidance and SMC call) through a process's ``to_actions``."""
    path_map, ctx, actions = _setup("fk", torch.float32)
    program = compile_cost(TERMS[-1], path_map)

    class Process:
        context = ctx

        @staticmethod
        def to_actions(x):
            return x * 1.3 + 0.1

    x0 = (actions - 0.1) / 1.3
    c, g = cost_gradient(program, Process, x0)
    x = x0.clone().requires_grad_(True)
    ref = program.reference(Process.to_actions(x), ctx)
    (g_ref,) = torch.autograd.grad(ref.sum(), x)
    ref = ref.detach()
    torch.testing.assert_close(c, ref, atol=1e-5 * float(ref.abs().max()), rtol=1e-5)
    torch.testing.assert_close(g, g_ref, atol=1e-5 * float(g_ref.abs().max()), rtol=1e-5)


def test_path_maps_without_a_vjp_fall_back_to_autograd():
    program = compile_cost(
        "reach(goal)", lambda a, c: torch.cumsum(a[..., :3], dim=1), keypoints=lambda o: {}
    )
    assert not program.closed_form
    actions = torch.rand(2, 4, 4, requires_grad=True)
    c = program(actions, {"keypoints": {"goal": [0.0, 0.0, 0.0]}})
    (g,) = torch.autograd.grad(c.sum(), actions)
    assert g[..., :3].abs().sum() > 0
