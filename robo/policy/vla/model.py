"""A small vision-language-action policy whose chunks are discrete action tokens.

Sequence the causal transformer trunk reads (d_model wide, time-major action tokens)::

    [instruction] [state] [view_1 .. view_V] [BOS] a_0 a_1 ... a_{L-2}
                                              -> predicts a_0 a_1 ... a_{L-1}

* instruction: the offline MiniLM embedding float[384] of the text (cached per string;
  ``text_backend="hash"`` is a deterministic stand-in for tests) -> linear -> 1 token;
* state: normalised proprioception (or privileged state) float[D] -> MLP -> 1 token;
* views: every camera through ONE shared small CNN (+ a learned camera embedding) -> 1 token
  each; ``cameras=()`` is a state-only policy;
* action tokens from :class:`BinningTokenizer` (per-dimension bins, ``tokenizer="bins"``: one
  learned position embedding per chunk slot encodes both the control step and the action
  dimension) or :class:`DCTBPETokenizer` (``tokenizer="fast"``: DCT + BPE, a variable number of
  tokens closed by EOS; positions after EOS are forced to EOS and carry log-prob 0). A FAST
  token's position says little about which coefficient it holds, so each FAST input also gets
  an embedding of the number of coefficients covered so far (``fast_counts``).

Attention is causal over the whole sequence, so the log-prob of a chunk is exactly the sum of
its token log-probs, computed in one pass (:meth:`VLAPolicy.token_log_probs`); sampling decodes
token by token with a key/value cache (:mod:`robo.policy.vla.decode`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from robo.policy.nets import ViewEncoder
from robo.policy.normalizer import Normalizer
from robo.policy.vla.decode import KVCacheDecoder
from robo.policy.vla.fast import DCTBPETokenizer
from robo.policy.vla.tokenizer import BinningTokenizer
from robo.types import Observation

TEXT_DIM = 384


@dataclass
class VLAConfig:
    """Architecture and decoding options (saved as ``config.json`` next to the weights).

    Attributes:
        action_dim: A. state_dim: D. horizon: H [control steps]. executed: executed prefix.
        tokenizer: ``"bins"`` (per-dimension binning, L = H * A) or ``"fast"`` (DCT + BPE
            trained on the training chunks, variable length closed by EOS, L = H * A + 1).
        bins: action bins per dimension (``bins``; vocabulary = bins + BOS).
        fast_scale: DCT coefficient scale before rounding (``fast``; higher = finer).
        fast_vocab: BPE vocabulary size, integers + merges (``fast``).
        fast_counts: FAST only: each action-token input also gets a learned embedding of how
            many of the H * A coefficients the tokens before it cover (which coefficient comes
            next). Bins need none: their position already says it. Checkpoints saved before
            this option load with it off.
        grammar: the policy's distribution is restricted to token sequences that decode: at
            every position the softmax runs over the ids the tokenizer's grammar allows
            (``allowed(strict=True)``), in sampling and in log-probs alike, so every sample
            decodes and log-probs stay exact. Off: any id may be sampled and a chunk that does
            not decode is flagged, resampled, then decoded valid-only (counted).
        cameras: views in order (empty = state-only policy). image_size: views resized to [px].
        d_model: trunk width. heads: attention heads. layers: transformer layers.
        ff_mult: feed-forward width / d_model. dropout: trunk dropout (0 keeps log-probs
            deterministic in train mode, which RFT/TPO ratios rely on).
        text_backend: ``"minilm"`` (offline MiniLM) or ``"hash"`` (tests).
        temperature: sampling temperature of :meth:`VLAPolicy.sample` (0 = greedy).
        resample_invalid: extra tries for chunks that do not decode before falling back to
            decoding restricted to valid action tokens.
    """

    action_dim: int
    state_dim: int
    horizon: int = 8
    executed: int = 4
    tokenizer: str = "bins"
    bins: int = 128
    fast_scale: float = 10.0
    fast_vocab: int = 256
    fast_counts: bool = True
    grammar: bool = False
    cameras: tuple[str, ...] = ()
    image_size: int = 64
    d_model: int = 128
    heads: int = 4
    layers: int = 3
    ff_mult: int = 4
    dropout: float = 0.0
    text_backend: str = "minilm"
    temperature: float = 1.0
    resample_invalid: int = 2
    family: str = field(default="vla", init=False)

    def __post_init__(self) -> None:
        self.cameras = tuple(self.cameras)
        if not 1 <= self.executed <= self.horizon:
            raise ValueError(f"executed={self.executed} must be in [1, horizon={self.horizon}]")
        if self.d_model % self.heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by heads={self.heads}")
        if self.tokenizer not in ("bins", "fast"):
            raise ValueError(f"tokenizer={self.tokenizer!r}; use 'bins' or 'fast' (DCT + BPE)")
        if self.text_backend not in ("minilm", "hash"):
            raise ValueError(f"text_backend={self.text_backend!r}; use 'minilm' or 'hash'")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["cameras"] = list(self.cameras)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VLAConfig:
        d = dict(d)
        d.pop("family", None)
        if d.get("tokenizer") == "fast":
            d.setdefault("fast_counts", False)  # FAST checkpoints from before the option
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown vla config keys {sorted(unknown)}; known: {sorted(names)}")
        return cls(**d)


def embed_texts(texts: list[str], backend: str) -> torch.Tensor:
    """float32[N, 384] unit-norm instruction embeddings (cached per string and backend)."""
    # The GRM's text module owns the one process-wide MiniLM and its cache; share both.
    from robo.reward.text import embed_instructions

    return torch.from_numpy(embed_instructions(list(texts), backend=backend))  # type: ignore[arg-type]


class VLAPolicy(nn.Module):
    """A :class:`robo.policy.token_base.TokenChunkPolicy`: multi-view, instruction-conditioned.

    ``sample`` returns float32[n, H, A] in action units; ``last_info`` then holds ``nfe`` (trunk
    passes per chunk), ``invalid`` (sampled chunks that did not decode) and ``fallback`` (of
    those, chunks decoded restricted to valid tokens after ``resample_invalid`` retries).
    """

    def __init__(self, config: VLAConfig):
        super().__init__()
        self.config = config
        self.horizon, self.action_dim, self.executed = (
            config.horizon,
            config.action_dim,
            config.executed,
        )
        self.tokenizer: BinningTokenizer | DCTBPETokenizer = (
            DCTBPETokenizer(config.horizon, config.action_dim, config.fast_scale, config.fast_vocab)
            if config.tokenizer == "fast"
            else BinningTokenizer(config.horizon, config.action_dim, config.bins)
        )
        self.normalizer = Normalizer(config.action_dim, config.state_dim)
        d = config.d_model
        self.text_proj = nn.Sequential(nn.Linear(TEXT_DIM, d), nn.GELU(), nn.Linear(d, d))
        self.state_proj = nn.Sequential(nn.Linear(config.state_dim, d), nn.GELU(), nn.Linear(d, d))
        if config.cameras:
            self.view_encoder = ViewEncoder(d)
            self.camera_emb = nn.Parameter(torch.zeros(len(config.cameras), d))
        self.prefix_emb = nn.Parameter(torch.zeros(2, d))  # instruction, state
        self.token_emb = nn.Embedding(self.tokenizer.vocab_size, d)
        self.pos_emb = nn.Parameter(torch.zeros(self.tokenizer.length, d))
        self.count_emb: nn.Embedding | None = None
        if isinstance(self.tokenizer, DCTBPETokenizer) and config.fast_counts:
            self.count_emb = nn.Embedding(self.tokenizer.symbols + 1, d)
            nn.init.normal_(self.count_emb.weight, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d, config.heads, config.ff_mult * d, config.dropout, activation="gelu",
            batch_first=True, norm_first=True,
        )  # fmt: skip
        self.trunk = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, self.tokenizer.vocab_size)
        nn.init.normal_(self.pos_emb, std=0.02)
        nn.init.normal_(self.prefix_emb, std=0.02)
        self.meta: dict[str, Any] = {}
        self.last_info: dict[str, Any] = {}
        self.last_decode_steps = self.tokenizer.length

    @property
    def num_prefix(self) -> int:
        """P: conditioning tokens before BOS (instruction, state, one per camera)."""
        return 2 + len(self.config.cameras)

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    # -- observations ---------------------------------------------------------------------
    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """uint8/float images [B, V, S0, S0, 3] -> float[B, V, 3, S, S] in [0, 255]."""
        b, v = images.shape[:2]
        x = images.float().permute(0, 1, 4, 2, 3).reshape(b * v, 3, *images.shape[2:4])
        s = self.config.image_size
        if x.shape[-1] != s or x.shape[-2] != s:
            x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False, antialias=True)
        return x.view(b, v, 3, s, s)

    def batch_from_obs(self, obs: list[Observation]) -> dict[str, torch.Tensor]:
        """Observations -> ``{"state": float[B, D], "text": float[B, 384], "images"?}``."""
        cams = self.config.cameras
        states = []
        for o in obs:
            missing = [c for c in cams if c not in o.get("images", {})]
            if missing:
                raise ValueError(
                    f"observation lacks cameras {missing}; the policy needs {list(cams)}"
                    " (hint: build the env with render=True and those cameras)"
                )
            s = np.asarray(o["state"], dtype=np.float32).reshape(-1)
            if s.shape[0] != self.config.state_dim:
                raise ValueError(
                    f"state has {s.shape[0]} dims, the policy expects {self.config.state_dim}"
                    " (hint: was it trained with privileged/goal state? see meta['state'])"
                )
            states.append(s)
        texts = [str(o.get("instruction", "")) for o in obs]
        batch = {
            "state": torch.from_numpy(np.stack(states)).to(self.device),
            "text": embed_texts(texts, self.config.text_backend).to(self.device),
        }
        if cams:
            imgs = np.stack([np.stack([o["images"][c] for c in cams]) for o in obs])
            batch["images"] = self.prepare(torch.from_numpy(imgs).to(self.device))
        return batch

    def prefix(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Conditioning tokens float[B, P, d] from a batch (raw state, text embeddings, images)."""
        state = self.normalizer.normalize_state(batch["state"].to(self.device))
        toks = [
            self.text_proj(batch["text"].to(self.device)) + self.prefix_emb[0],
            self.state_proj(state) + self.prefix_emb[1],
        ]
        if self.config.cameras:
            imgs = batch["images"].to(self.device)
            b, v = imgs.shape[:2]
            views = self.view_encoder(imgs.reshape(b * v, *imgs.shape[2:])).view(b, v, -1)
            toks.extend((views + self.camera_emb).unbind(1))
        return torch.stack(toks, dim=1)

    # -- trunk ----------------------------------------------------------------------------
    def _action_inputs(self, tokens: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Trunk inputs float[B, t + 1 - start, d] for positions ``start .. t`` of the action
        sequence BOS + ``tokens`` int64[B, t]: token + position (+ FAST coefficient count)."""
        b, t = tokens.shape
        bos = torch.full((b, 1), self.tokenizer.bos, dtype=torch.long, device=tokens.device)
        ids = torch.cat([bos, tokens], dim=1)[:, start:]
        act = self.token_emb(ids) + self.pos_emb[start : t + 1]
        if self.count_emb is not None:
            act = act + self.count_emb(self.tokenizer.counts(tokens)[:, start:])  # type: ignore[union-attr]
        return act

    def _logits(self, prefix: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Logits float[B, t+1, vocab] for the next token after BOS + ``tokens`` int64[B, t]."""
        act = self._action_inputs(tokens.to(prefix.device))
        x = torch.cat([prefix, act], dim=1)
        n = x.shape[1]
        mask = torch.triu(torch.full((n, n), float("-inf"), device=x.device), diagonal=1)
        h = self.trunk(x, mask=mask, is_causal=True)
        return self.head(self.norm(h[:, prefix.shape[1] :]))

    def _check_tokens(self, tokens: torch.Tensor, n: int) -> torch.Tensor:
        if tokens.ndim != 2 or tokens.shape[1] != self.tokenizer.length or tokens.shape[0] != n:
            raise ValueError(
                f"tokens must be int64[{n}, {self.tokenizer.length}], got {tuple(tokens.shape)}"
            )
        if bool(((tokens < 0) | (tokens >= self.tokenizer.vocab_size)).any()):
            raise ValueError(f"token ids must be in [0, {self.tokenizer.vocab_size})")
        return tokens.long()

    def token_log_probs_from_batch(
        self, batch: dict[str, torch.Tensor], tokens: torch.Tensor
    ) -> torch.Tensor:
        """Per-token log-probs float32[B, L] of ``tokens`` int64[B, L] (differentiable).

        Structural positions (after a FAST chunk's EOS) are 0: sampling forces them.
        """
        tokens = self._check_tokens(tokens, batch["state"].shape[0]).to(self.device)
        logits = self._logits(self.prefix(batch), tokens[:, :-1])
        if self.config.grammar:
            logits = logits.masked_fill(~self.tokenizer.allowed(tokens, strict=True), float("-inf"))
        logp = logits.log_softmax(-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        counted = self.tokenizer.token_mask(tokens)
        return torch.where(counted, logp, torch.zeros_like(logp))

    def token_nll(self, batch: dict[str, torch.Tensor], tokens: torch.Tensor) -> torch.Tensor:
        """Mean NLL [nats] per token that carries probability (the imitation loss)."""
        logp = self.token_log_probs_from_batch(batch, tokens)
        return -logp.sum() / self.tokenizer.token_mask(tokens).sum().clamp_min(1)

    def token_log_probs(self, obs: Observation, tokens: torch.Tensor) -> torch.Tensor:
        """Per-token log-probs of int64[n, L] given one ``obs`` -> float32[n, L]."""
        return self.token_log_probs_batch([obs] * tokens.shape[0], tokens)

    def token_log_probs_batch(self, obs: list[Observation], tokens: torch.Tensor) -> torch.Tensor:
        """Like :meth:`token_log_probs` with one observation per row: len(obs) == n."""
        if len(obs) != tokens.shape[0]:
            raise ValueError(f"{len(obs)} observations for {tokens.shape[0]} token rows")
        return self.token_log_probs_from_batch(self.batch_from_obs(obs), tokens)

    def log_prob(self, obs: Observation, chunks: torch.Tensor) -> torch.Tensor:
        """Exact log-prob float32[n] of chunks float32[n, H, A] (their bin tokens)."""
        return self.token_log_probs(obs, self.tokenizer.encode(chunks.to(self.device))).sum(-1)

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean token cross-entropy of ``batch["actions"]`` float[B, H, A] (action units)."""
        return self.token_nll(batch, self.tokenizer.encode(batch["actions"].to(self.device)))

    # -- sampling -------------------------------------------------------------------------
    @torch.no_grad()
    def sample_tokens_from_prefix(
        self,
        prefix: torch.Tensor,
        temperature: float = 1.0,
        valid_only: bool = False,
        generator: torch.Generator | None = None,
        use_cache: bool = True,
    ) -> torch.Tensor:
        """Autoregressive decoding from conditioning tokens float[n, P, d] -> int64[n, L].

        ``temperature <= 0`` decodes greedily; ``valid_only`` (always, with ``config.grammar``)
        restricts every step to ids that keep the chunk decodable (``allowed_next(strict)``).
        After a FAST chunk's EOS the rest is forced to EOS; once every row has ended, decoding
        stops early (``last_decode_steps`` holds the trunk steps taken).
        ``use_cache`` runs each new token once through the trunk with cached keys/values
        (:class:`KVCacheDecoder`; same logits as full passes up to rounding, no dropout).
        """
        n, length = prefix.shape[0], self.tokenizer.length
        tokens = torch.zeros(n, 0, dtype=torch.long, device=prefix.device)
        eos = getattr(self.tokenizer, "eos", None)
        decoder = KVCacheDecoder(self.trunk) if use_cache else None
        if decoder is not None:
            first = self._action_inputs(tokens)
            h = decoder.prefill(torch.cat([prefix, first], dim=1))[:, -1:]
        for i in range(length):
            if decoder is not None:
                logits = self.head(self.norm(h))[:, -1].float()
            else:
                logits = self._logits(prefix, tokens)[:, -1].float()
            allowed = self.tokenizer.allowed_next(tokens, strict=valid_only or self.config.grammar)
            logits = logits.masked_fill(~allowed, float("-inf"))
            if temperature <= 0:
                nxt = logits.argmax(-1)
            else:
                probs = (logits / temperature).softmax(-1)
                gen = generator if generator is None or generator.device == probs.device else None
                nxt = torch.multinomial(probs, 1, generator=gen).squeeze(-1)
            tokens = torch.cat([tokens, nxt[:, None]], dim=1)
            if eos is not None and bool((tokens == eos).any(dim=1).all()):
                pad = torch.full((n, length - i - 1), eos, dtype=torch.long, device=tokens.device)
                tokens = torch.cat([tokens, pad], dim=1)
                break
            if decoder is not None and i + 1 < length:
                h = decoder.step(self._action_inputs(tokens, start=i + 1))
        self.last_decode_steps = i + 1
        return tokens

    @torch.no_grad()
    def sample_tokens(
        self,
        obs: Observation,
        n: int = 1,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Sample ``n`` token sequences autoregressively: int64[n, L] (no grad)."""
        prefix = self.prefix(self.batch_from_obs([obs])).expand(n, -1, -1)
        return self.sample_tokens_from_prefix(prefix, temperature, generator=generator)

    @torch.no_grad()
    def sample_tokens_many(
        self, obs: list[Observation], temperature: float = 1.0, valid_only: bool = False
    ) -> torch.Tensor:
        """One token sequence per observation: int64[len(obs), L] (no grad), all rows decoded
        together (one trunk pass per token for the whole batch: lockstep rollouts)."""
        was_training = self.training
        self.eval()
        try:
            prefix = self.prefix(self.batch_from_obs(list(obs)))
            return self.sample_tokens_from_prefix(prefix, temperature, valid_only)
        finally:
            self.train(was_training)

    def _decode_resampling(
        self, draw: Callable[[list[int], bool], torch.Tensor], n: int
    ) -> tuple[torch.Tensor, dict[str, int]]:
        """Decode ``draw(rows, valid_only) -> tokens`` for rows ``0..n-1``; rows that do not
        decode are redrawn up to ``config.resample_invalid`` times, then drawn restricted to
        ids that keep them decodable. Returns chunks float[n, H, A] and ``last_info``: ``nfe``
        (trunk steps of the first draw), ``invalid`` and ``fallback`` counts."""
        chunks, valid = self.tokenizer.decode(draw(list(range(n)), False))
        nfe = self.last_decode_steps
        invalid = int((~valid).sum())
        for _ in range(self.config.resample_invalid):
            if bool(valid.all()):
                break
            bad = (~valid).nonzero().squeeze(-1)
            chunks[bad], valid[bad] = self.tokenizer.decode(draw(bad.tolist(), False))
        fallback = int((~valid).sum())
        if fallback:
            bad = (~valid).nonzero().squeeze(-1)
            chunks[bad], _ = self.tokenizer.decode(draw(bad.tolist(), True))
        return chunks, {"nfe": nfe, "invalid": invalid, "fallback": fallback}

    @torch.no_grad()
    def sample_many(self, obs: list[Observation], temperature: float | None = None) -> torch.Tensor:
        """One chunk per observation, float32[len(obs), H, A] (action units, CPU): the batched
        form of ``sample(o, n=1)`` with the same handling of chunks that do not decode
        (``resample_invalid`` retries, then valid-only decoding; counted in ``last_info``)."""
        temp = self.config.temperature if temperature is None else float(temperature)
        chunks, self.last_info = self._decode_resampling(
            lambda rows, valid_only: self.sample_tokens_many(
                [obs[i] for i in rows], temp, valid_only=valid_only
            ),
            len(obs),
        )
        return chunks.float().cpu()

    @torch.no_grad()
    def sample(
        self,
        obs: Observation,
        n: int = 1,
        steer: Any | None = None,
        generator: torch.Generator | None = None,
        temperature: float | None = None,
    ) -> torch.Tensor:
        """``n`` chunks float32[n, H, A] (action units, CPU, no grad).

        Chunks that do not decode are resampled up to ``config.resample_invalid`` times; any
        still invalid are decoded with non-action ids masked out (counted in ``last_info``).
        """
        if steer is not None:
            raise NotImplementedError(
                "VLAPolicy does not take diffusion steering objects (hint: use best-of-n over "
                "sample(obs, n) or the RFT/TPO fine-tuning instead)"
            )
        temp = self.config.temperature if temperature is None else float(temperature)
        was_training = self.training
        self.eval()
        try:
            prefix = self.prefix(self.batch_from_obs([obs]))
            chunks, info = self._decode_resampling(
                lambda rows, valid_only: self.sample_tokens_from_prefix(
                    prefix.expand(len(rows), -1, -1), temp, valid_only, generator
                ),
                n,
            )
        finally:
            self.train(was_training)
        self.last_info = info
        return chunks.float().cpu()

    # -- data statistics and checkpoints --------------------------------------------------
    @torch.no_grad()
    def fit_normalizer(self, actions: torch.Tensor, states: torch.Tensor) -> None:
        """Fit state statistics and the tokenizer's action range from float[N, A] / float[N, D]."""
        self.normalizer.fit(actions, states)
        self.tokenizer.set_range(self.normalizer.action_low, self.normalizer.action_high)

    @torch.no_grad()
    def fit_tokenizer(self, chunks: torch.Tensor) -> dict[str, float]:
        """Fit the tokenizer on the training chunks float[N, H, A] (after
        :meth:`fit_normalizer`): a FAST tokenizer's BPE; per-dimension bins need nothing."""
        return self.tokenizer.fit(chunks)

    def save(self, path: str | Path) -> None:
        """Write ``path/model.safetensors`` + ``path/config.json``."""
        from robo.policy.checkpoint import save_policy

        save_policy(self, path)
