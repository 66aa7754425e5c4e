import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robo.reward.bins import HopBins, progress_from_hops, progress_std_after_hop
from robo.types import apply_hop, hop_between

unit = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(unit, unit)
def test_hop_progress_round_trip(a, b):
    h = hop_between(a, b)
    assert -1.0 <= h <= 1.0
    assert apply_hop(a, h) == pytest.approx(b, abs=1e-9)


def test_progress_from_hops_rebuilds_a_trace():
    phi = np.array([0.0, 0.1, 0.4, 0.35, 0.9, 1.0])
    hops = hop_between(phi[:-1], phi[1:])
    np.testing.assert_allclose(progress_from_hops(hops, 0.0), phi, atol=1e-9)


def test_soft_targets_mean_is_the_hop():
    bins = HopBins(25)
    hops = torch.tensor([-1.0, -0.37, 0.0, 0.013, 0.5, 1.0])
    t = bins.soft_targets(hops)
    assert torch.allclose(t.sum(-1), torch.ones(6))
    assert torch.allclose((t * bins.centers).sum(-1), hops, atol=1e-6)
    assert bins.index(np.array([0.0]))[0] == 12


def test_mean_std_of_peaked_logits():
    bins = HopBins(25)
    logits = torch.full((1, 25), -30.0)
    logits[0, 18] = 30.0
    mean, std = bins.mean_std(logits)
    assert mean.item() == pytest.approx(bins.centers[18].item(), abs=1e-5)
    assert 0 < std.item() < 0.05


def test_bad_bin_count():
    with pytest.raises(ValueError, match="odd"):
        HopBins(24)


def test_std_propagation_grows_with_inputs():
    small = progress_std_after_hop(0.5, 0.01, 0.1, 0.01)
    big = progress_std_after_hop(0.5, 0.2, 0.1, 0.01)
    assert big > small > 0
