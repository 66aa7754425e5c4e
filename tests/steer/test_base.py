import pytest
import torch

from robo.policy.ddim import DDIMProcess, cosine_alphas_cumprod
from robo.steer.base import cost_gradient

from .test_cost import EXPRESSIONS, KEYPOINTS, _ctx, _program

LOW = torch.tensor([-0.3, -1.2, 0.1, -0.5])
SPAN = torch.tensor([0.8, 2.5, 0.4, 1.0])


def _process(program, with_vjp: bool) -> DDIMProcess:
    return DDIMProcess(
        lambda x, t: torch.zeros_like(x), cosine_alphas_cumprod(20), 4, (6, 4),
        to_actions=lambda x: (x + 1.0) * 0.5 * SPAN + LOW,  # a policy's unnormaliser
        to_actions_vjp=(lambda g: g * SPAN * 0.5) if with_vjp else None,
        context=_ctx(**KEYPOINTS),
    )  # fmt: skip


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_closed_form_cost_gradient_equals_the_autograd_path(expr):
    """With the process's VJP of ``to_actions`` the gradient skips autograd: same numbers."""
    program = _program(expr)
    assert program.closed_form
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(5, 6, 4, generator=g) * 1.8 - 0.9
    c_fast, g_fast = cost_gradient(program, _process(program, True), x0)
    c_ref, g_ref = cost_gradient(program, _process(program, False), x0)
    torch.testing.assert_close(c_fast, c_ref, atol=0, rtol=0)
    torch.testing.assert_close(g_fast, g_ref, atol=0, rtol=0)  # the same operations
    assert g_fast.abs().sum() > 0 or expr.startswith("gripper")  # a real gradient is compared


def test_plain_callable_costs_still_use_autograd():
    def cost(actions, context):
        return (actions[..., 0] - 0.5).pow(2).sum(1)

    x0 = torch.zeros(2, 6, 4)
    c, grad = cost_gradient(cost, _process(None, True), x0)
    # d/dx0 of (0.5 (x0 + 1) span_0 + low_0 - 0.5)^2 at x0 = 0
    expected = 2 * (0.5 * SPAN[0] + LOW[0] - 0.5) * 0.5 * SPAN[0]
    torch.testing.assert_close(grad[..., 0], torch.full((2, 6), float(expected)))
    assert torch.all(grad[..., 1:] == 0) and c.shape == (2,)
