"""DCTBPETokenizer (FAST-style DCT + BPE) and a VLA built on it: round trip within the
rounding bound, compression of smooth chunks, invalid sequences flagged, the strict grammar
always decodes, exact chunk log-probs with EOS padding, checkpoints."""

import numpy as np
import pytest
import torch

from robo.policy import load_policy
from robo.policy.token_base import ActionTokenizer, TokenChunkPolicy
from robo.policy.vla import DCTBPETokenizer, VLAConfig, VLAPolicy
from robo.policy.vla.train import VLATrainConfig, train_vla
from robo.types import Episode

torch.set_num_threads(1)
H, A = 6, 3
LOW, HIGH = torch.tensor([-1.0, 0.0, -2.0]), torch.tensor([1.0, 0.5, 2.0])


def smooth_chunks(n: int, seed: int = 0) -> torch.Tensor:
    """float[n, H, A] inside [LOW, HIGH]: a random start plus a linear drift per dimension."""
    g = torch.Generator().manual_seed(seed)
    start = torch.rand(n, 1, A, generator=g) * 1.4 - 0.7
    drift = (torch.rand(n, 1, A, generator=g) * 2 - 1) * 0.05
    x = (start + drift * torch.arange(H).view(1, H, 1)).clamp(-1, 1)
    return LOW + (x + 1) / 2 * (HIGH - LOW)


@pytest.fixture(scope="module")
def tok() -> DCTBPETokenizer:
    t = DCTBPETokenizer(H, A, scale=10.0, vocab=128, low=LOW, high=HIGH)
    t.fit(smooth_chunks(400))
    return t


def test_round_trip_within_the_rounding_bound_and_compresses(tok):
    chunks = smooth_chunks(200, seed=1)  # not the fitting chunks
    ids = tok.encode(chunks)
    assert ids.shape == (200, H * A + 1) and ids.dtype == torch.long
    back, valid = tok.decode(ids)
    assert bool(valid.all())
    norm_err = 2 * (back - chunks) / (HIGH - LOW)  # error in normalised units
    bound = np.sqrt(H) * 0.5 / tok.scale
    assert float(norm_err.norm(dim=1).max()) <= bound + 1e-5
    assert torch.equal(tok.encode(back), ids)  # decoded chunks re-encode to the same ids
    real = tok.token_mask(ids).sum(1) - 1  # tokens before EOS
    assert float(real.float().mean()) < 0.5 * H * A  # smooth chunks compress


def test_frequency_major_layout(tok):
    const = LOW + 0.25 * (HIGH - LOW)  # the same action at every step: only the DC term
    q = tok.quantise(const.expand(1, H, A).clone())[0]
    assert bool((q[:A] != 0).all()) and bool((q[A:] == 0).all())


def test_invalid_sequences_are_flagged_not_repaired(tok):
    ids = tok.encode(smooth_chunks(6, seed=2))
    end = tok.token_mask(ids).sum(1) - 1  # position of each row's EOS
    bad = ids.clone()
    bad[0, end[0]] = 0  # EOS replaced: too many integers / no EOS before the end
    bad[1, -1] = 5  # a non-EOS id after the EOS
    bad[2, 0] = tok.bos  # a special id inside the chunk
    bad[3, 0] = tok.vocab_size + 3  # out of vocabulary
    bad[4, : end[4]] = torch.cat([bad[4, 1 : end[4]], bad[4, end[4] : end[4] + 1]])  # one token
    chunks, valid = tok.decode(bad)  # fewer: the integers no longer add up to H * A
    assert valid.tolist() == [False, False, False, False, False, True]
    assert bool((chunks[:5] == 0).all()) and bool((chunks[5] != 0).any())
    why = tok.why_invalid(bad)
    assert why[1:] == ["after_eos", "bad_id", "bad_id", "short", None]
    assert why[0] == ("no_eos" if int(end[0]) == tok.length - 1 else "long")
    assert set(why) - {None} <= set(tok.INVALID_REASONS)
    _, valid = tok.decode(ids[:, :-1])  # wrong length
    assert not bool(valid.any()) and tok.why_invalid(ids[:, :-1]) == ["length"] * 6


def test_strict_grammar_always_decodes(tok):
    """Fuzz: random ids drawn only from ``allowed_next(strict=True)`` always decode."""
    g = torch.Generator().manual_seed(3)
    tokens = torch.zeros(300, 0, dtype=torch.long)
    for _ in range(tok.length):
        allowed = tok.allowed_next(tokens, strict=True).float()
        assert bool((allowed.sum(1) > 0).all())
        nxt = torch.multinomial(allowed, 1, generator=g)
        tokens = torch.cat([tokens, nxt], dim=1)
    _, valid = tok.decode(tokens)
    assert bool(valid.all())
    loose = tok.allowed_next(tokens[:, :-1], strict=False)  # after EOS: EOS only
    done = (tokens[:, :-1] == tok.eos).any(1)
    assert bool((loose[done].sum(1) == 1).all()) and bool(loose[done, tok.eos].all())


def test_masks_state_dict_and_bad_input(tok):
    assert isinstance(tok, ActionTokenizer)
    assert bool(tok.prefix_mask(2).all()) and not bool(tok.prefix_mask(0).any())
    ids = tok.encode(smooth_chunks(3, seed=4))
    mask = tok.token_mask(ids)
    first_eos = (ids == tok.eos).float().argmax(1)
    assert (mask.sum(1) == first_eos + 1).all()
    fresh = DCTBPETokenizer(H, A, scale=10.0, vocab=128)
    fresh.load_state_dict(tok.state_dict())  # merges + range are the saved state
    assert torch.equal(fresh.encode(smooth_chunks(5, seed=5)), tok.encode(smooth_chunks(5, seed=5)))
    with pytest.raises(ValueError, match="vocab=10 is below"):
        DCTBPETokenizer(H, A, scale=10.0, vocab=10)
    with pytest.raises(ValueError, match="chunks must be"):
        tok.encode(torch.zeros(2, H + 1, A))
    with pytest.raises(ValueError, match="tokenizer='dct'"):
        VLAConfig(action_dim=2, state_dim=3, tokenizer="dct")


def episode(seed: int, t_len: int = 12) -> Episode:
    """Smooth actions that follow the state: action[t] = 0.6 * state[t, :2]."""
    rng = np.random.default_rng(seed)
    state = np.cumsum(rng.normal(0, 0.05, (t_len, 3)), 0).astype(np.float32)
    action = (0.6 * state[:, :2]).astype(np.float32)
    return Episode(
        task="toy/follow", instruction="follow the state", kind="expert", seed=seed, images={},
        state=state, action=action, success=np.ones(t_len, bool),
        progress_gt=np.linspace(0, 1, t_len), timestamp=np.arange(t_len) * 0.05,
    )  # fmt: skip


@pytest.fixture(scope="module")
def trained() -> tuple[VLAPolicy, dict]:
    cfg = VLAConfig(
        action_dim=2, state_dim=3, horizon=4, executed=2, tokenizer="fast", fast_vocab=96,
        d_model=32, heads=2, layers=1, text_backend="hash",
    )  # fmt: skip
    train = VLATrainConfig(steps=400, batch_size=32, lr=3e-3, ema=0.0)
    return train_vla(
        [episode(s) for s in range(10)], cfg, train, progress=False, log=lambda m: None
    )


def obs(state=(0.1, -0.1, 0.0)):
    return {"images": {}, "state": np.array(state, np.float32), "instruction": "follow the state",
            "timestamp": np.float64(0)}  # fmt: skip


def test_vla_with_fast_tokens_trains_and_log_probs_are_exact(trained):
    policy, stats = trained
    assert isinstance(policy, TokenChunkPolicy) and isinstance(policy.tokenizer, DCTBPETokenizer)
    assert stats["loss_last"] < 0.5 * stats["loss_first"]
    assert stats["tokenizer_merges"] > 0 and stats["tokenizer_tokens_per_chunk"] < 8
    o = obs()
    tokens = policy.sample_tokens(o, n=8, generator=torch.Generator().manual_seed(0))
    per_token = policy.token_log_probs(o, tokens)
    mask = policy.tokenizer.token_mask(tokens)
    assert bool((per_token[~mask] == 0).all()) and bool((per_token[mask] < 0).all())
    chunks, valid = policy.tokenizer.decode(tokens)
    enc = policy.tokenizer.encode(chunks[valid])
    if torch.equal(enc, tokens[valid]):  # canonical BPE: log_prob(chunk) is the token sum
        assert torch.allclose(policy.log_prob(o, chunks[valid]), per_token[valid].sum(-1))
    # after EOS the sampler emits only EOS, and it stops once every row has ended
    assert bool((tokens[~mask] == policy.tokenizer.eos).all())
    out = policy.sample(o, n=16)  # retries, then the strict grammar: every chunk decodes
    info = policy.last_info
    assert out.shape == (16, 4, 2) and info["nfe"] < policy.tokenizer.length
    assert info["fallback"] <= info["invalid"] and bool(out.abs().sum(dim=(1, 2)).gt(0).all())
    # at demo states greedy decoding follows the demonstrated chunks: its max error is well
    # below that of the best constant chunk (the demos' mean action)
    eps = [episode(k) for k in range(10)]
    mean_action = np.concatenate([ep.action for ep in eps]).mean(0)
    err, base = [], []
    for ep in eps:
        for t in (2, 5, 7):
            greedy = policy.sample({**o, "state": ep.state[t]}, n=1, temperature=0)[0].numpy()
            err.append(np.abs(greedy - ep.action[t : t + 4]).max())
            base.append(np.abs(mean_action - ep.action[t : t + 4]).max())
    assert np.mean(err) < 0.6 * np.mean(base)


def test_vla_with_fast_tokens_round_trips_a_checkpoint(trained, tmp_path):
    policy, _ = trained
    policy.save(tmp_path / "vla-fast")
    loaded = load_policy(tmp_path / "vla-fast")
    assert loaded.config.tokenizer == "fast"
    assert torch.equal(loaded.tokenizer.merges, policy.tokenizer.merges)
    chunks = torch.tensor(0.6 * np.array([[0.1, -0.1]] * 4), dtype=torch.float32)[None]
    assert torch.equal(loaded.tokenizer.encode(chunks), policy.tokenizer.encode(chunks))
    assert torch.allclose(loaded.log_prob(obs(), chunks), policy.log_prob(obs(), chunks))


def test_strict_fallback_decodes_even_an_untrained_fast_policy():
    torch.manual_seed(0)
    cfg = VLAConfig(action_dim=2, state_dim=3, horizon=3, executed=1, tokenizer="fast",
                    fast_scale=4.0, fast_vocab=32, d_model=16, heads=2, layers=1,
                    text_backend="hash", resample_invalid=0)  # fmt: skip
    p = VLAPolicy(cfg)  # merges unfitted: single integers only
    chunks = p.sample(obs(), n=16)
    assert chunks.shape == (16, 3, 2) and bool(chunks.abs().sum(dim=(1, 2)).gt(0).any())
    assert p.last_info["invalid"] == p.last_info["fallback"]  # no retries: all fell back
    strict = p.sample_tokens_from_prefix(p.prefix(p.batch_from_obs([obs()] * 16)), valid_only=True)
    assert bool(p.tokenizer.decode(strict)[1].all())


def test_allowed_matches_allowed_next_position_by_position(tok):
    ids = tok.encode(smooth_chunks(20, seed=6))
    ids[3, 1] = tok.bos  # an invalid row too: the rule is still defined position by position
    for strict in (True, False):
        every = tok.allowed(ids, strict)
        for j in range(ids.shape[1]):
            assert torch.equal(every[:, j], tok.allowed_next(ids[:, :j], strict))


@pytest.mark.parametrize("grammar", [False, True])
def test_chunk_probabilities_sum_to_one_over_every_sequence(grammar):
    """Exactness: a tiny FAST policy (H=1, A=2, 3 integers, 2 merges) puts total probability 1
    on the sequences it can emit: every padded sequence, or with ``grammar`` the ones that
    decode (and each of those does)."""
    import itertools

    torch.manual_seed(0)
    cfg = VLAConfig(action_dim=2, state_dim=3, horizon=1, executed=1, tokenizer="fast",
                    fast_scale=1.0, fast_vocab=5, grammar=grammar, d_model=16, heads=2,
                    layers=1, text_backend="hash")  # fmt: skip
    p = VLAPolicy(cfg).eval()
    p.fit_tokenizer(torch.tensor([[[0.9, 0.9]], [[0.9, 0.9]], [[-0.9, 0.0]]]))
    tok = p.tokenizer
    seqs = []
    for seq in itertools.product(range(tok.vocab_size), repeat=tok.length):
        row = torch.tensor([seq])
        if not bool(tok.allowed(row, strict=grammar).gather(-1, row[..., None]).all()):
            continue  # not emittable: a non-EOS after EOS, or (grammar) outside the grammar
        seqs.append(seq)
    tokens = torch.tensor(seqs)
    with torch.no_grad():
        logp = p.token_log_probs(obs(), tokens).sum(-1)
    assert float(logp.exp().sum()) == pytest.approx(1.0, abs=1e-5)
    valid = tok.decode(tokens)[1]
    assert bool(valid.all()) if grammar else not bool(valid.all())
    if grammar:  # sampling follows the grammar: every sample decodes, no retries needed
        p.sample(obs(), n=32)
        assert p.last_info["invalid"] == 0


def test_counts_say_which_coefficient_each_token_starts_at(tok):
    ids = tok.encode(smooth_chunks(50, seed=3))
    counts = tok.counts(ids)
    assert counts.shape == (50, H * A + 2) and bool((counts[:, 0] == 0).all())
    sizes = tok._tables()[2]
    body = ids < tok.vocab
    # each real token adds its length; EOS and padding add nothing; every chunk ends at H * A
    step = torch.where(body, sizes[ids.clamp(max=tok.vocab - 1)], torch.zeros_like(ids))
    assert torch.equal(counts.diff(dim=1), step)
    assert bool((counts[:, -1] == H * A).all())
    eos_at = (ids == tok.eos).float().argmax(1)
    assert bool((counts.gather(1, eos_at[:, None]) == H * A).all())  # EOS comes exactly when full
    # bad ids count nothing and never push the count past H * A
    bad = torch.tensor([[tok.bos, -1, 10_000] + [tok.alphabet] * (H * A - 2)])
    assert int(tok.counts(bad)[0, 3]) == 0 and int(tok.counts(bad).max()) == H * A


def test_count_embedding_is_fed_alike_in_cached_and_full_decoding(trained):
    policy, _ = trained
    assert policy.count_emb is not None
    prefix = policy.prefix(policy.batch_from_obs([obs(), obs((0.3, 0.2, -0.1))]))
    cached = policy.sample_tokens_from_prefix(prefix, temperature=0.0, use_cache=True)
    full = policy.sample_tokens_from_prefix(prefix, temperature=0.0, use_cache=False)
    assert torch.equal(cached, full)
    # the embedding matters: zeroing it changes the logits
    logits = policy._logits(prefix, cached[:, :-1])
    with torch.no_grad():
        saved = policy.count_emb.weight.clone()
        policy.count_emb.weight.zero_()
        try:
            assert not torch.allclose(policy._logits(prefix, cached[:, :-1]), logits)
        finally:
            policy.count_emb.weight.copy_(saved)


def test_fast_configs_saved_before_the_count_embedding_load_without_it():
    old = {"action_dim": 2, "state_dim": 3, "tokenizer": "fast", "text_backend": "hash"}
    cfg = VLAConfig.from_dict(old)
    assert cfg.fast_counts is False and VLAPolicy(cfg).count_emb is None
    assert VLAConfig.from_dict({**old, "fast_counts": True}).fast_counts is True
    assert VLAPolicy(VLAConfig.from_dict({**old, "tokenizer": "bins"})).count_emb is None


def test_mean_token_nll_ignores_fast_padding(trained):
    from robo.policy.token_base import mean_token_nll

    policy, _ = trained
    o = [obs(), obs((0.2, 0.0, 0.1))]
    tokens = policy.tokenizer.encode(torch.tensor([[[0.05, -0.05]] * 4, [[0.1, 0.0]] * 4]))
    nll = mean_token_nll(policy, o, tokens)
    assert torch.allclose(nll, policy.token_nll(policy.batch_from_obs(o), tokens))
    real = policy.tokenizer.token_mask(tokens)
    assert int(real.sum()) < real.numel()  # there is padding, and it is not averaged in
    logp = policy.token_log_probs_batch(o, tokens)
    assert torch.allclose(nll, -logp.sum() / real.sum()) and nll > -logp.mean()


def test_tables_follow_the_merges_after_they_were_used(tok):
    """The BPE tables are cached; loading or writing other merges in place rebuilds them."""
    fresh = DCTBPETokenizer(H, A, scale=10.0, vocab=128, low=LOW, high=HIGH)
    chunks = smooth_chunks(5, seed=6)
    untrained = fresh.encode(chunks)  # builds tables with no merges: one token per integer
    assert int(fresh.token_mask(untrained).sum()) == 5 * (H * A + 1)
    fresh.load_state_dict(tok.state_dict())
    assert torch.equal(fresh.encode(chunks), tok.encode(chunks))
    fresh.merges.fill_(-1)
    assert torch.equal(fresh.encode(chunks), untrained)
    moved = fresh.merges.clone()  # a new tensor with the same contents: tables still right
    fresh.merges = moved
    assert torch.equal(fresh.encode(chunks), untrained)
    merged = tok.encode(chunks)  # uses merged ids, which count 0 without merges
    assert not torch.equal(fresh.counts(merged), tok.counts(merged))
    fresh.load_state_dict(tok.state_dict())  # the cached per-device size table follows
    assert torch.equal(fresh.counts(merged), tok.counts(merged))
