"""VLAPolicy: the TokenChunkPolicy contract (exact log-probs), sampling, checkpoints."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from robo.policy import CheckpointError, load_policy
from robo.policy.token_base import TokenChunkPolicy
from robo.policy.vla import VLAConfig, VLAPolicy

torch.set_num_threads(1)


def tiny(cameras=(), **kw) -> VLAPolicy:
    torch.manual_seed(0)
    cfg = VLAConfig(
        action_dim=2, state_dim=3, horizon=3, executed=2, bins=16, cameras=cameras,
        image_size=16, d_model=32, heads=2, layers=2, text_backend="hash", **kw,
    )  # fmt: skip
    return VLAPolicy(cfg)


def obs(instruction="go left", cams=()):
    return {
        "images": {c: np.full((20, 20, 3), 90, np.uint8) for c in cams},
        "state": np.array([0.1, -0.2, 0.3], np.float32),
        "instruction": instruction,
        "timestamp": np.float64(0.0),
    }


def test_implements_the_contract():
    p = tiny()
    assert isinstance(p, TokenChunkPolicy)
    assert p.tokenizer.length == 6 and p.tokenizer.vocab_size == 17


def test_log_prob_is_sum_of_token_log_probs_and_matches_manual_decoding():
    p = tiny(cameras=("front", "wrist")).eval()
    o = obs(cams=("front", "wrist"))
    tokens = p.sample_tokens(o, n=4, generator=torch.Generator().manual_seed(1))
    per_token = p.token_log_probs(o, tokens)
    assert per_token.shape == (4, 6) and per_token.requires_grad
    chunks, valid = p.tokenizer.decode(tokens)
    if bool(valid.all()):
        assert torch.allclose(p.log_prob(o, chunks), per_token.sum(-1), atol=1e-5)
    # manual autoregressive computation: one trunk pass per prefix, read the last position
    prefix = p.prefix(p.batch_from_obs([o] * 4))
    manual = torch.zeros(4, 6)
    for i in range(6):
        logits = p._logits(prefix, tokens[:, :i])[:, -1]
        manual[:, i] = logits.log_softmax(-1).gather(-1, tokens[:, i : i + 1]).squeeze(-1)
    assert torch.allclose(manual, per_token, atol=1e-5)
    # a gradient flows into the parameters
    per_token.sum().backward()
    assert p.head.weight.grad is not None and p.head.weight.grad.abs().sum() > 0


def test_batch_log_probs_use_one_observation_per_row():
    p = tiny().eval()
    a, b = obs("go left"), obs("go right")
    tokens = p.sample_tokens(a, n=2)
    both = p.token_log_probs_batch([a, b], tokens)
    assert torch.allclose(both[0], p.token_log_probs(a, tokens[:1])[0], atol=1e-5)
    assert torch.allclose(both[1], p.token_log_probs(b, tokens[1:])[0], atol=1e-5)
    with pytest.raises(ValueError, match="observations for"):
        p.token_log_probs_batch([a], tokens)


def test_sample_returns_decoded_chunks_and_handles_invalid_ones():
    p = tiny()
    with torch.no_grad():  # make BOS (invalid inside a chunk) very likely
        p.head.bias[p.tokenizer.bos] = 4.0
    chunks = p.sample(obs(), n=5, generator=torch.Generator().manual_seed(0))
    assert chunks.shape == (5, 3, 2) and chunks.dtype == torch.float32
    info = p.last_info
    assert info["nfe"] == 6 and info["invalid"] > 0 and info["fallback"] > 0
    lo, hi = p.tokenizer.low, p.tokenizer.high
    assert bool(((chunks >= lo) & (chunks <= hi)).all())  # fallback chunks decode in range
    with pytest.raises(NotImplementedError, match="steering"):
        p.sample(obs(), steer=object())


def test_sample_many_is_one_greedy_chunk_per_observation_like_sample():
    p = tiny().eval()
    a, b = obs("go left"), obs("go right")
    b["state"] = np.array([0.9, 0.4, -0.7], np.float32)
    many = p.sample_many([a, b, a], temperature=0.0)
    assert many.shape == (3, 3, 2) and many.dtype == torch.float32
    # greedy decoding is deterministic: row i equals sample(obs_i) on its own
    assert torch.allclose(many[0], p.sample(a, n=1, temperature=0.0)[0])
    assert torch.allclose(many[1], p.sample(b, n=1, temperature=0.0)[0])
    assert torch.equal(many[0], many[2])
    assert p.sample_tokens_many([a, b], temperature=1.0).shape == (2, 6)


def test_sample_many_resamples_chunks_that_do_not_decode():
    p = tiny()
    with torch.no_grad():  # make BOS (invalid inside a chunk) very likely
        p.head.bias[p.tokenizer.bos] = 4.0
    torch.manual_seed(0)
    chunks = p.sample_many([obs()] * 5)
    assert p.last_info["invalid"] > 0 and p.last_info["fallback"] > 0
    lo, hi = p.tokenizer.low, p.tokenizer.high
    assert bool(((chunks >= lo) & (chunks <= hi)).all())


def test_wrong_state_or_missing_camera_is_a_clear_error():
    p = tiny(cameras=("front",))
    with pytest.raises(ValueError, match="lacks cameras"):
        p.sample(obs())
    bad = obs(cams=("front",))
    bad["state"] = np.zeros(5, np.float32)
    with pytest.raises(ValueError, match="state has 5 dims"):
        p.sample(bad)


def test_checkpoint_round_trip_refuses_pickles_and_mismatches(tmp_path):
    p = tiny(cameras=("front",)).eval()
    p.fit_normalizer(torch.randn(40, 2) * 3, torch.randn(40, 3))
    p.save(tmp_path / "ck")
    q = load_policy(tmp_path / "ck")
    assert isinstance(q, VLAPolicy) and q.config == p.config
    assert torch.equal(q.tokenizer.low, p.tokenizer.low)
    o = obs(cams=("front",))
    tokens = p.sample_tokens(o, n=3)
    assert torch.allclose(q.token_log_probs(o, tokens), p.token_log_probs(o, tokens))
    # pickles are refused
    (tmp_path / "pk").mkdir()
    torch.save(p.state_dict(), tmp_path / "pk" / "model.pt")
    with pytest.raises(CheckpointError, match="pickle"):
        load_policy(tmp_path / "pk")
    with pytest.raises(CheckpointError, match="pickle"):
        load_policy(tmp_path / "pk" / "model.pt")
    # a config that does not match the weights is refused
    cfg = json.loads((tmp_path / "ck" / "config.json").read_text())
    cfg["config"]["d_model"] = 64
    cfg["config"]["heads"] = 2
    (tmp_path / "ck" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="shape mismatch"):
        load_policy(tmp_path / "ck")
    # a missing tensor is refused too
    cfg["config"]["d_model"] = 32
    (tmp_path / "ck" / "config.json").write_text(json.dumps(cfg))
    state = load_file(str(tmp_path / "ck" / "model.safetensors"))
    state.pop("head.bias")
    save_file(state, str(tmp_path / "ck" / "model.safetensors"))
    with pytest.raises(CheckpointError, match="missing"):
        load_policy(tmp_path / "ck")


def test_cached_decoding_matches_full_passes():
    p = tiny(cameras=("front",)).eval()
    o = obs(cams=("front",))
    prefix = p.prefix(p.batch_from_obs([o] * 3))
    greedy_cached = p.sample_tokens_from_prefix(prefix, temperature=0.0)
    greedy_full = p.sample_tokens_from_prefix(prefix, temperature=0.0, use_cache=False)
    assert torch.equal(greedy_cached, greedy_full)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    sampled = p.sample_tokens_from_prefix(prefix, 1.0, generator=g1)
    assert torch.equal(
        sampled, p.sample_tokens_from_prefix(prefix, 1.0, generator=g2, use_cache=False)
    )
