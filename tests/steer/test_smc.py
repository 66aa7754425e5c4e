import pytest
import torch

from robo.steer.best_of_n import BestOfN
from robo.steer.guidance import GradientGuidance
from robo.steer.smc import ParticleSteering, effective_sample_size, systematic_resample

W = torch.tensor([1.0, 0.0])  # reward w.x; cost = -w.x
BETA = 1.0


def linear_cost(actions, context):
    return -(actions[:, -1, :] @ W)


def _stats(x):
    x = x[:, 0, :].double()
    right = x[:, 0] > 0
    return right.double().mean().item(), x[right, 0].mean().item(), x[~right, 0].mean().item()


@pytest.mark.parametrize("ess_threshold", [0.5, 1.01])  # 1.01: resample at every step
def test_smc_matches_analytic_tilted_distribution(two_blobs, ess_threshold):
    pi, mu = two_blobs.tilted(W, BETA)
    smc = ParticleSteering(
        linear_cost, particles=3000, beta=BETA, eta=1.0, select="sample",
        ess_threshold=ess_threshold, generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    x, info = smc.run(two_blobs.process(40, eta=1.0), 3000)
    frac, m_right, m_left = _stats(x)
    assert frac == pytest.approx(pi[1].item(), abs=0.04)  # 0.88 analytic vs 0.5 untilted
    assert m_right == pytest.approx(mu[1, 0].item(), abs=0.04)
    assert m_left == pytest.approx(mu[0, 0].item(), abs=0.08)
    if ess_threshold > 1:
        assert info["resamples"] == 40


def test_guided_smc_keeps_correct_weights(two_blobs):
    """Guided proposals alone miss the tilted target; the importance correction recovers it."""
    pi, mu = two_blobs.tilted(W, BETA)
    kw = dict(guidance_scale=0.01, eta=1.0, beta=BETA, select="sample")
    smc = ParticleSteering(
        linear_cost, particles=3000, generator=torch.Generator().manual_seed(1), **kw
    )
    x, _ = smc.run(two_blobs.process(40, eta=1.0, seed=1), 3000)
    frac, m_right, _ = _stats(x)
    assert frac == pytest.approx(pi[1].item(), abs=0.05)
    assert m_right == pytest.approx(mu[1, 0].item(), abs=0.06)
    # Guidance alone (no weights) lands somewhere else: the correction is doing the work.
    g, _ = GradientGuidance(linear_cost, scale=0.01, eta=1.0).run(
        two_blobs.process(40, eta=1.0, seed=1), 3000
    )
    assert _stats(g)[0] < 0.6


def test_repulsion_keeps_target_and_needs_eta():
    with pytest.raises(ValueError, match="eta > 0"):
        ParticleSteering(linear_cost, guidance_scale=0.1, eta=0.0)


def test_smc_beats_plain_on_cost_and_counts_nfe(two_blobs):
    proc = two_blobs.process(10, eta=1.0)
    smc = ParticleSteering(
        linear_cost, particles=8, beta=20.0, repulsion_scale=0.2, guidance_scale=0.1
    )
    x, info = smc.run(proc, 1)
    assert proc.nfe == 8 * 10
    assert x.shape == (1, 1, 2)
    assert info["cost"][0] == min(info["cost_all"])


def test_best_of_n_picks_lowest_cost(two_blobs):
    proc = two_blobs.process(10, eta=0.0)
    x, info = BestOfN(linear_cost, num_samples=16).run(proc, 2)
    assert proc.nfe == 16 * 10
    assert info["cost"] == sorted(info["cost_all"])[:2]
    with pytest.raises(ValueError, match="only num_samples"):
        BestOfN(linear_cost, num_samples=2).run(two_blobs.process(10, eta=0.0), 3)


def test_ess_and_systematic_resampling():
    assert effective_sample_size(torch.zeros(10)) == pytest.approx(10)
    assert effective_sample_size(torch.tensor([0.0, -1e9, -1e9])) == pytest.approx(1)
    log_w = torch.tensor([0.0, 0.0, -1e9, 0.0]).log_softmax(0)
    idx = systematic_resample(log_w, torch.Generator().manual_seed(0))
    assert 2 not in idx.tolist() and len(idx) == 4
    w = torch.tensor([0.7, 0.2, 0.1])
    counts = torch.zeros(3)
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        counts += torch.bincount(systematic_resample(w.log(), g), minlength=3)
    torch.testing.assert_close(counts / counts.sum(), w, atol=0.02, rtol=0)
