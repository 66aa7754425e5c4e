"""FAST-style action tokens: a DCT over time, rounding, then byte-pair encoding (an
:class:`ActionTokenizer`).

Pipeline for a chunk float32[H, A] (Pertsch et al. 2025, "FAST"):

1. each dimension is mapped to [-1, 1] by its range ``[low_j, high_j]`` (action units);
2. an orthonormal DCT-II along time turns the H values of each dimension into H frequency
   coefficients (smooth chunks put almost all their energy in the first few);
3. coefficients are scaled by ``scale`` and rounded to integers in ``[-K, K]``,
   ``K = ceil(scale * sqrt(H))`` (the largest coefficient a chunk inside its range can have);
4. the H * A integers are flattened **frequency-major** (all dimensions' lowest frequency first)
   and compressed by a BPE vocabulary trained locally on the training chunks
   (:meth:`DCTBPETokenizer.fit`, Hugging Face ``tokenizers``), so runs of zeros in the high
   frequencies collapse into a few tokens.

A chunk thus becomes a **variable number** of BPE tokens, followed by ``EOS`` and padded with
``EOS`` to the fixed length ``L = H * A + 1`` (a BPE token covers >= 1 integer, so every chunk
fits). Ids: ``0 .. vocab-1`` BPE tokens (``0 .. 2K`` the single integers ``-K .. K``, then one
id per merge), ``EOS = vocab``, ``BOS = vocab + 1``. Positions after the first EOS are
structural: a policy forces them to EOS and gives them log-prob 0 (:meth:`token_mask`), so a
chunk's log-prob is the sum over its real tokens and its EOS.

A sequence that does not decode (no EOS, a non-EOS id after EOS, BOS or an out-of-vocabulary id,
or BPE tokens that expand to other than H * A integers) is flagged invalid with zero rows, never
repaired. :meth:`allowed_next` gives the grammar that makes decoding always valid (used for the
valid-only fallback).

Round trip: the DCT is orthonormal and rounding moves each coefficient by at most
``0.5 / scale``, so for a chunk inside its range the error of one dimension over the H steps has
L2 norm <= ``sqrt(H) * 0.5 / scale`` in normalised units (times ``(high - low) / 2`` in action
units). Every DCT coefficient touches every control step, so :meth:`prefix_mask` marks all
tokens for any executed prefix.
"""

from __future__ import annotations

import json
import math

import numpy as np
import scipy.fft
import torch

from robo.policy.vla.tokenizer import RangedTokenizer

_CHAR0 = 0x100  # integers are written as the characters chr(_CHAR0 + k + K) for BPE


class DCTBPETokenizer(RangedTokenizer):
    """DCT + BPE tokenizer; the BPE merges and range are buffers, saved with the policy.

    Args:
        horizon: H, control steps per chunk.
        action_dim: A.
        scale: DCT coefficients are multiplied by this before rounding (FAST's gamma; higher =
            finer, longer sequences).
        vocab: BPE vocabulary size, integers + merges (>= 2K + 1, ``K = ceil(scale sqrt(H))``).
        low, high: float[A] range per dimension (action units); default [-1, 1].

    Attributes:
        vocab_size: ``vocab + 2`` (BPE tokens + EOS + BOS). length: L = H * A + 1.
        eos, bos: the special ids.
    """

    def __init__(
        self,
        horizon: int,
        action_dim: int,
        scale: float = 10.0,
        vocab: int = 256,
        low: torch.Tensor | None = None,
        high: torch.Tensor | None = None,
    ):
        if scale <= 0:
            raise ValueError(f"scale={scale} must be > 0")
        super().__init__(horizon, action_dim, low, high)
        self.scale = float(scale)
        self.kmax = math.ceil(self.scale * math.sqrt(horizon))
        self.alphabet = 2 * self.kmax + 1
        if vocab < self.alphabet:
            raise ValueError(
                f"vocab={vocab} is below the {self.alphabet} single integers of scale={scale}, "
                f"horizon={horizon} (hint: vocab >= {self.alphabet}, or a smaller scale)"
            )
        self.vocab = vocab
        self.eos, self.bos = vocab, vocab + 1
        self.vocab_size = vocab + 2
        self.symbols = horizon * action_dim
        self.length = self.symbols + 1
        # merge i makes id alphabet + i from the ids (left, right); -1 rows = no merge
        self.register_buffer("merges", torch.full((vocab - self.alphabet, 2), -1, dtype=torch.long))
        dct = scipy.fft.dct(np.eye(horizon), norm="ortho", axis=0)  # [freq, time], orthonormal
        self.register_buffer("dct", torch.from_numpy(dct).float(), persistent=False)
        self._bpe = None
        self._built_from: torch.Tensor | None = None
        self._built_key: tuple[int, int, int] | None = None
        self._sizes_on: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # device -> copies

    # -- vocabulary ------------------------------------------------------------------------

    def quantise(self, chunks: torch.Tensor) -> torch.Tensor:
        """float[n, H, A] (action units) -> int64[n, H * A] rounded DCT coefficients in
        ``[-K, K]``, frequency-major (values outside the range are clamped first)."""
        if chunks.ndim != 3 or tuple(chunks.shape[1:]) != (self.horizon, self.action_dim):
            raise ValueError(
                f"chunks must be [n, {self.horizon}, {self.action_dim}], got {tuple(chunks.shape)}"
            )
        low, high = self.low, self.high
        x = (2 * (chunks.to(low) - low) / (high - low) - 1).clamp(-1, 1)
        coef = torch.einsum("ft,nta->nfa", self.dct.to(x), x)
        q = torch.round(coef * self.scale).clamp(-self.kmax, self.kmax).long()
        return q.reshape(chunks.shape[0], self.symbols)

    def _strings(self, q: torch.Tensor) -> list[str]:
        base = _CHAR0 + self.kmax
        return ["".join(chr(base + int(v)) for v in row) for row in q.cpu().tolist()]

    @torch.no_grad()
    def fit(self, chunks: torch.Tensor) -> dict[str, float]:
        """Train the BPE merges on training chunks float[N, H, A] (action units; call after
        :meth:`set_range`). Returns ``{"merges", "tokens_per_chunk"}`` on those chunks."""
        from tokenizers import Tokenizer, models, trainers

        if chunks.shape[0] == 0:
            raise ValueError("no chunks to fit the BPE vocabulary on")
        alphabet = [chr(_CHAR0 + j) for j in range(self.alphabet)]
        tok = Tokenizer(models.BPE())
        trainer = trainers.BpeTrainer(
            vocab_size=self.vocab,
            initial_alphabet=alphabet,
            limit_alphabet=self.alphabet,
            special_tokens=[],
            show_progress=False,
        )
        tok.train_from_iterator(self._strings(self.quantise(chunks)), trainer)
        ids = {c: j for j, c in enumerate(alphabet)}
        rows = []
        for left, right in json.loads(tok.to_str())["model"]["merges"]:
            if len(rows) >= self.merges.shape[0]:
                break
            rows.append((ids[left], ids[right]))
            ids[left + right] = self.alphabet + len(rows) - 1
        self.merges.fill_(-1)
        if rows:
            self.merges[: len(rows)] = torch.tensor(rows, dtype=torch.long)
        self._bpe = None
        lengths = self.token_mask(self.encode(chunks)).sum(1).float() - 1  # without the EOS
        return {"merges": float(len(rows)), "tokens_per_chunk": float(lengths.mean())}

    def _merges_key(self) -> tuple[int, int, int]:
        """Which merges tensor, where, and how often it was written in place."""
        return (id(self.merges), self.merges.data_ptr(), self.merges._version)

    def _tables(self) -> tuple[object, list[str], torch.Tensor]:
        """(HF BPE tokenizer, id -> string, int64[vocab] integers per id), rebuilt when the
        merges buffer changed (e.g. after ``load_state_dict``). Called on every forward and
        decode step: the contents are compared (a device sync on GPU) only when the buffer was
        written or replaced since the last check."""
        key = self._merges_key()
        if self._bpe is not None and key == self._built_key:
            return self._bpe
        if self._bpe is not None and torch.equal(self._built_from, self.merges.cpu()):
            self._built_key = key
            return self._bpe
        from tokenizers import Tokenizer, models

        strings = [chr(_CHAR0 + j) for j in range(self.alphabet)]
        merge_pairs = []
        for left, right in self.merges.cpu().tolist():
            if left < 0:
                break
            merge_pairs.append((strings[left], strings[right]))
            strings.append(strings[left] + strings[right])
        vocab = {s: i for i, s in enumerate(strings)}
        bpe = Tokenizer(models.BPE(vocab=vocab, merges=merge_pairs))
        sizes = torch.zeros(self.vocab, dtype=torch.long)
        sizes[: len(strings)] = torch.tensor([len(s) for s in strings])
        self._built_from = self.merges.detach().cpu().clone()
        self._built_key = self._merges_key()
        self._bpe = (bpe, strings, sizes)
        return self._bpe

    def _sizes(self, device: torch.device) -> torch.Tensor:
        """int64[vocab] integers per id, on ``device``: copied once per device and table build,
        not on every decode step."""
        sizes = self._tables()[2]
        hit = self._sizes_on.get(str(device))
        if hit is None or hit[0] is not sizes:
            hit = (sizes, sizes.to(device))
            self._sizes_on[str(device)] = hit
        return hit[1]

    # -- the ActionTokenizer contract ------------------------------------------------------
    def encode(self, chunks: torch.Tensor) -> torch.Tensor:
        """float[n, H, A] (action units) -> int64[n, L]: BPE ids, EOS, EOS padding."""
        q = self.quantise(chunks)
        bpe, _, _ = self._tables()
        out = torch.full((q.shape[0], self.length), self.eos, dtype=torch.long)
        for i, enc in enumerate(bpe.encode_batch(self._strings(q))):  # type: ignore[attr-defined]
            out[i, : len(enc.ids)] = torch.tensor(enc.ids, dtype=torch.long)
        return out.to(self.low.device)

    #: why a token sequence does not decode (:meth:`why_invalid`)
    INVALID_REASONS = ("length", "no_eos", "after_eos", "bad_id", "short", "long")

    def _expand(self, row: list[int], strings: list[str]) -> list[int] | str:
        """The H * A integers one sequence (length L) stands for, or why it does not decode."""
        if self.eos not in row:
            return "no_eos"
        end = row.index(self.eos)
        if any(t != self.eos for t in row[end:]):
            return "after_eos"
        body = row[:end]
        if any(not 0 <= t < len(strings) for t in body):
            return "bad_id"
        base = _CHAR0 + self.kmax
        ints = [ord(c) - base for t in body for c in strings[t]]
        if len(ints) != self.symbols:
            return "short" if len(ints) < self.symbols else "long"
        return ints

    def why_invalid(self, tokens: torch.Tensor) -> list[str | None]:
        """Per row of int64[n, t]: None if it decodes, else one of :attr:`INVALID_REASONS`:
        ``length`` (t != L), ``no_eos``, ``after_eos`` (a non-EOS id after the first EOS),
        ``bad_id`` (BOS or out of vocabulary), ``short`` / ``long`` (the BPE tokens expand to
        fewer / more than H * A integers)."""
        if tokens.ndim != 2:
            raise ValueError(f"tokens must be [n, L], got shape {tuple(tokens.shape)}")
        if tokens.shape[1] != self.length:
            return ["length"] * tokens.shape[0]
        _, strings, _ = self._tables()
        out: list[str | None] = []
        for row in tokens.cpu().tolist():
            res = self._expand(row, strings)
            out.append(res if isinstance(res, str) else None)
        return out

    def decode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """int64[n, L] -> (float32[n, H, A], bool[n] valid); invalid rows are zeros
        (:meth:`why_invalid` says why)."""
        if tokens.ndim != 2:
            raise ValueError(f"tokens must be [n, L], got shape {tuple(tokens.shape)}")
        n, dev = tokens.shape[0], self.low.device
        out = torch.zeros(n, self.horizon, self.action_dim, device=dev)
        valid = torch.zeros(n, dtype=torch.bool, device=dev)
        if tokens.shape[1] != self.length:
            return out, valid
        _, strings, _ = self._tables()
        q = torch.zeros(n, self.symbols)
        for i, row in enumerate(tokens.cpu().tolist()):
            ints = self._expand(row, strings)
            if not isinstance(ints, str):
                q[i] = torch.tensor(ints, dtype=torch.float32)
                valid[i] = True
        coef = (q / self.scale).view(n, self.horizon, self.action_dim).to(dev)
        x = torch.einsum("ft,nfa->nta", self.dct, coef)
        chunks = self.low + (x + 1) / 2 * (self.high - self.low)
        out = torch.where(valid.view(n, 1, 1), chunks, out)
        return out.float(), valid

    def prefix_mask(self, executed: int) -> torch.Tensor:
        """bool[L]: every token for ``executed >= 1`` (each DCT coefficient moves every step)."""
        if not 0 <= executed <= self.horizon:
            raise ValueError(f"executed={executed} must be in [0, H={self.horizon}]")
        return torch.full((self.length,), executed > 0, dtype=torch.bool, device=self.low.device)

    def token_mask(self, tokens: torch.Tensor) -> torch.Tensor:
        """bool[n, L]: the tokens that carry probability, up to and including the first EOS
        (a row without EOS: all of them)."""
        is_eos = tokens == self.eos
        before = torch.cumsum(is_eos.long(), dim=1) - is_eos.long()  # EOS seen strictly before
        return before == 0

    def counts(self, tokens: torch.Tensor) -> torch.Tensor:
        """int64[n, t + 1]: how many of the H * A integers the first j tokens of int64[n, t]
        expand to, j = 0 .. t (EOS, BOS and unknown ids count 0; capped at H * A). A value c
        in column j says the token at position j starts at coefficient c: frequency c // A of
        dimension c % A (frequency-major)."""
        sizes = self._sizes(tokens.device)
        used = sizes[tokens.clamp(0, self.vocab - 1)] * ((tokens >= 0) & (tokens < self.vocab))
        zero = torch.zeros(tokens.shape[0], 1, dtype=torch.long, device=tokens.device)
        return torch.cat([zero, torch.cumsum(used, 1)], 1).clamp(max=self.symbols)

    def allowed(self, tokens: torch.Tensor, strict: bool) -> torch.Tensor:
        """bool[n, t, vocab_size]: the ids allowed at each position of int64[n, t] given the
        tokens before it (teacher forcing; :meth:`allowed_next` is the next position).

        Always: after an EOS only EOS (structural padding). ``strict`` adds the grammar of a
        valid chunk: no BOS, only BPE tokens that fit the integers still missing, and EOS
        exactly when all H * A integers are there.
        """
        n, t = tokens.shape
        dev = tokens.device
        is_eos = (tokens == self.eos).long()
        done = (torch.cumsum(is_eos, 1) - is_eos) > 0  # an EOS strictly before position j
        eos_only = torch.zeros(self.vocab_size, dtype=torch.bool, device=dev)
        eos_only[self.eos] = True
        if strict:
            sizes = self._sizes(dev)
            left = self.symbols - self.counts(tokens)[:, :-1]  # [n, t] integers missing
            ok = (sizes > 0) & (sizes <= left[..., None])
            no_bos = torch.zeros(n, t, 1, dtype=torch.bool, device=dev)
            allowed = torch.cat([ok, (left == 0)[..., None], no_bos], -1)
        else:
            allowed = torch.ones(n, t, self.vocab_size, dtype=torch.bool, device=dev)
        return torch.where(done[..., None], eos_only, allowed)

    def allowed_next(self, tokens: torch.Tensor, strict: bool) -> torch.Tensor:
        """bool[n, vocab_size]: ids that may follow ``tokens`` int64[n, t] (see :meth:`allowed`)."""
        nxt = torch.zeros(tokens.shape[0], 1, dtype=torch.long, device=tokens.device)
        return self.allowed(torch.cat([tokens, nxt], 1), strict)[:, -1]
