"""bench_vla_decode's classifier: every draw is counted once, under a known outcome."""

import numpy as np
import torch

from bench.bench_vla_decode import classify
from robo.policy.vla import DCTBPETokenizer, VLAConfig, VLAPolicy


def test_classify_counts_every_draw_under_a_known_outcome():
    torch.manual_seed(0)
    cfg = VLAConfig(action_dim=2, state_dim=3, horizon=4, executed=2, tokenizer="fast",
                    fast_vocab=64, d_model=16, heads=2, layers=1, text_backend="hash")  # fmt: skip
    policy = VLAPolicy(cfg).eval()
    g = torch.Generator().manual_seed(1)
    policy.fit_tokenizer(torch.rand(50, 1, 2, generator=g).expand(50, 4, 2) * 2 - 1)
    obs = [{"images": {}, "state": np.full(3, v, np.float32), "instruction": "x"} for v in (0, 1)]
    counts, mean_len = classify(policy, obs, samples=40, temperature=1.0, seed=0)
    assert sum(counts.values()) == 80
    assert set(counts) <= {"ok", *DCTBPETokenizer.INVALID_REASONS}
    assert counts["ok"] < 80  # an untrained policy rarely lands on exactly H x A integers
    if counts["ok"]:
        assert 1 <= mean_len <= 8
    # greedy draws of the same state agree, so their outcome is one class
    greedy, _ = classify(policy, obs[:1], samples=5, temperature=0.0, seed=0)
    assert len(greedy) == 1 and sum(greedy.values()) == 5
