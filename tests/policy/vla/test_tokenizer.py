"""BinningTokenizer: round trip within half a bin, time-major layout, invalid sequences flagged."""

import pytest
import torch

from robo.policy.token_base import ActionTokenizer
from robo.policy.vla import BinningTokenizer


@pytest.fixture
def tok() -> BinningTokenizer:
    return BinningTokenizer(
        4, 3, bins=64, low=torch.tensor([-1.0, 0.0, -2.0]), high=torch.tensor([1.0, 0.5, 2.0])
    )


def test_round_trip_within_half_a_bin(tok):
    g = torch.Generator().manual_seed(0)
    chunks = tok.low + torch.rand(50, 4, 3, generator=g) * (tok.high - tok.low)
    ids = tok.encode(chunks)
    assert ids.shape == (50, 12) and ids.dtype == torch.long
    assert int(ids.min()) >= 0 and int(ids.max()) < tok.bins
    back, valid = tok.decode(ids)
    assert bool(valid.all())
    err = (back - chunks).abs()
    assert bool((err <= tok.bin_width() / 2 + 1e-6).all())
    assert torch.equal(tok.encode(back), ids)  # bin centres re-encode to the same ids


def test_time_major_layout_and_prefix_mask(tok):
    chunk = torch.zeros(1, 4, 3)
    chunk[0, 1, 2] = 2.0  # step 1, dim 2 -> top bin at flat index 1 * 3 + 2
    ids = tok.encode(chunk)[0]
    assert ids[5] == tok.bins - 1 and (ids[6:] != tok.bins - 1).all()
    mask = tok.prefix_mask(2)
    assert mask.tolist() == [True] * 6 + [False] * 6
    with pytest.raises(ValueError, match="executed"):
        tok.prefix_mask(5)


def test_invalid_sequences_are_flagged_not_clipped(tok):
    ids = tok.encode(torch.zeros(3, 4, 3))
    ids[1, 4] = tok.bos  # a special token inside the chunk
    ids[2, 0] = tok.vocab_size + 7  # out of vocabulary
    chunks, valid = tok.decode(ids)
    assert valid.tolist() == [True, False, False]
    assert bool((chunks[1:] == 0).all()) and bool((chunks[0] != 0).any())
    _, valid = tok.decode(ids[:, :-1])  # wrong length
    assert not bool(valid.any())


def test_contract_and_bad_input(tok):
    assert isinstance(tok, ActionTokenizer)
    assert tok.vocab_size == 65 and tok.length == 12
    with pytest.raises(ValueError, match="chunks must be"):
        tok.encode(torch.zeros(2, 3, 3))
    with pytest.raises(ValueError, match="high must exceed"):
        tok.set_range(torch.zeros(3), torch.zeros(3))
