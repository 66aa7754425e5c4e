"""The default steering costs of `robo eval-policy` see the shift geometry (SO-101 reach)."""

import numpy as np
import torch

import sims
from robo.cli.cmd_eval_policy import default_cost, sim_path_map
from robo.steer import compile_cost
from sims.keypoints import sim_scene
from sims.so101.kinematics import HOME_Q

OPTIONAL = ("obstacle", "obstacle_half", "table", "step", "step_half")


def _step_terms(env, q):
    """Weighted values of the step terms of the default cost for a chunk holding pose ``q``."""
    cost = compile_cost(
        default_cost("so101/reach"), sim_path_map(env), gripper_dim=5,
        keypoints=lambda obs: sim_scene(env), optional=OPTIONAL,
    )  # fmt: skip
    chunk = torch.tensor(np.tile(q, (16, 1)), dtype=torch.float32)[None]
    terms = cost.per_term(chunk, {"obs": None})
    return {k.split("(")[0]: float(v) for k, v in terms.items() if "'step'" in k}


def test_surface_step_cost_penalises_the_step_not_the_target():
    env = sims.make("so101/reach", shift="surface", render=False)
    env.reset(seed=1000)
    e = env.unwrapped
    scene = sim_scene(env)
    assert np.allclose(scene["step"], e.layout.step.pos) and np.allclose(scene["table"][2], 0.0)
    inside = e.layout.step.pos + [0, 0, e.layout.step.half[2] - 0.01]
    into_step = _step_terms(env, e.kinematics.ik_steepest(inside, HOME_Q).q)
    at_target = _step_terms(env, e.kinematics.ik_steepest(e.layout.target, HOME_Q).q)
    at_home = _step_terms(env, e.joint_positions())
    env.close()
    assert into_step["avoid_box"] > 1.0 and into_step["pass_over"] > 1.0
    assert sum(at_home.values()) < 1e-4  # (a sigmoid footprint edge: not exactly 0)
    assert sum(at_target.values()) < 0.01  # the target below the step's top is not penalised


def test_nominal_scene_has_no_step_and_zero_step_cost():
    env = sims.make("so101/reach", render=False)
    env.reset(seed=1000)
    assert "step" not in sim_scene(env)
    terms = _step_terms(env, env.unwrapped.joint_positions())
    env.close()
    assert terms == {"avoid_box": 0.0, "pass_over": 0.0}


def test_shift_geometry_contacts_are_reported_as_collisions():
    """The straight expert runs into the surface step: ``info["collision"]`` turns True; the
    nominal scene never reports one."""
    from robo.cli.cmd_eval_policy import report_collisions
    from sims.so101.experts import SO101Expert

    for shift, expect in (("surface", True), (None, False)):
        env = report_collisions(sims.make("so101/reach", shift=shift, render=False))
        obs, info = env.reset(seed=1000)
        expert = SO101Expert("reach")
        expert.reset(env, obs, {**info, "seed": 1000})
        hits = []
        for _ in range(25):
            obs, _, term, trunc, info = env.step(expert.act(env, obs, info))
            hits.append(info["collision"])
            if term or trunc:
                break
        env.close()
        assert any(hits) == expect
