"""bench_vla_tokenizer's pure parts: chunking of demo actions and the per-tokenizer score."""

import numpy as np
import torch

from bench.bench_vla_tokenizer import chunks_of, score
from robo.policy.vla import BinningTokenizer, DCTBPETokenizer
from robo.types import Episode


def _episode(actions: np.ndarray) -> Episode:
    t = len(actions)
    return Episode(
        task="toy", instruction="", kind="expert", seed=0, images={},
        state=np.zeros((t, 1), np.float32), action=actions.astype(np.float32),
        success=np.ones(t, bool), progress_gt=np.linspace(0, 1, t), timestamp=np.arange(t) * 0.1,
    )  # fmt: skip


def test_chunks_repeat_the_last_action_past_the_end():
    act = np.arange(10, dtype=np.float32).reshape(5, 2)
    chunks = chunks_of([_episode(act)], horizon=3)
    assert chunks.shape == (5, 3, 2)
    assert np.array_equal(chunks[0], act[:3]) and np.array_equal(chunks[4], act[[4, 4, 4]])


def test_score_counts_real_tokens_and_the_round_trip_error():
    g = torch.Generator().manual_seed(0)
    chunks = (torch.rand(40, 1, 2, generator=g) * 1.6 - 0.8).expand(40, 4, 2).contiguous()
    bins = score(BinningTokenizer(4, 2, bins=16), chunks, repeats=1)
    assert bins["tokens_mean"] == 8 and bins["valid"] == 1.0
    assert bins["abs_err_max"] <= 1 / 16 + 1e-6  # half of a bin of width 2/16
    fast = DCTBPETokenizer(4, 2, scale=10.0, vocab=64)
    fast.fit(chunks)
    res = score(fast, chunks, repeats=1)
    assert res["valid"] == 1.0 and res["tokens_mean"] < 8  # constant chunks: DC terms + zeros
    assert res["abs_err_max"] <= np.sqrt(4) * 0.5 / 10 + 1e-6
