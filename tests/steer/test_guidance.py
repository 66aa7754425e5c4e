import pytest
import torch

from robo.policy.ddim import sample_plain
from robo.steer.guidance import GradientGuidance, repulsion, schedule_weights, unit

TARGET = torch.tensor([1.0, 0.5])


def dist_to_target(actions, context):
    return (actions[:, -1, :] - TARGET).pow(2).sum(-1).sqrt()


def test_guidance_moves_samples_toward_lower_cost(two_blobs):
    plain = sample_plain(two_blobs.process(20, eta=0.0), 400)
    guide = GradientGuidance(dist_to_target, scale=0.3, schedule="constant")
    guided, info = guide.run(two_blobs.process(20, eta=0.0), 400)
    c_plain, c_guided = dist_to_target(plain, {}), dist_to_target(guided, {})
    assert c_guided.mean() < 0.5 * c_plain.mean()
    # Most guided samples end near the known target, plain ones split between the blobs.
    assert (c_guided < 0.3).float().mean() > 0.6
    assert (c_plain < 0.3).float().mean() < 0.3
    assert len(info["cost"]) == 400


def test_guidance_costs_no_network_evaluations(two_blobs):
    proc = two_blobs.process(10, eta=0.0)
    GradientGuidance(dist_to_target, scale=0.3, inner_steps=3).run(proc, 8)
    assert proc.nfe == 8 * 10


def test_zero_scale_equals_plain_sampling(two_blobs):
    plain = sample_plain(two_blobs.process(10, eta=0.0, seed=3), 16)
    same, _ = GradientGuidance(dist_to_target, scale=0.0).run(
        two_blobs.process(10, eta=0.0, seed=3), 16
    )
    torch.testing.assert_close(plain, same)


def test_schedules():
    assert schedule_weights("constant", 4) == [1.0] * 4
    up = schedule_weights("linear_up", 5)
    assert up == sorted(up) and up[-1] == 1.0
    assert schedule_weights("linear_down", 4)[0] == 1.0
    assert schedule_weights("constant", 10, start=0.5) == [0.0] * 5 + [1.0] * 5
    with pytest.raises(ValueError, match="unknown guidance schedule"):
        schedule_weights("bogus", 3)


def test_unit_and_repulsion():
    v = torch.randn(5, 4, 2)
    torch.testing.assert_close(unit(v).flatten(1).norm(dim=1), torch.ones(5))
    assert unit(torch.zeros(2, 3)).abs().sum() == 0
    x = torch.tensor([[[0.0, 0.0]], [[0.1, 0.0]]])
    f = repulsion(x)
    assert f[0, 0, 0] < 0 < f[1, 0, 0]  # pushed apart along x
    assert repulsion(x[:1]).abs().sum() == 0


def test_repulsion_bandwidth_uses_exactly_the_off_diagonal_distances():
    """The strided off-diagonal view is the boolean-mask selection, element for element."""
    g = torch.Generator().manual_seed(0)
    for b in (2, 3, 8):
        d2 = torch.rand(b, b, generator=g)
        masked = d2[~torch.eye(b, dtype=torch.bool)]
        strided = d2.flatten()[1:].view(b - 1, b + 1)[:, :-1]
        assert torch.equal(strided.flatten(), masked)
        assert torch.equal(strided.median(), masked.median())
