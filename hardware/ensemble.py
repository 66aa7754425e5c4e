"""Temporal ensembling of overlapping action chunks (ACT, Zhao et al. 2023).

A chunk float[H, A] predicted from the observation of control step ``s`` proposes actions for
steps ``s .. s+H-1``. At step ``t`` every stored chunk that covers ``t`` contributes; with
chunks ordered oldest first (i = 0, 1, ...) the action is ``Σ w_i a_i / Σ w_i`` with
``w_i = exp(-k·i)`` (k > 0 favours older chunks, as in ACT; k = 0 is a plain mean). Chunks
arriving late (asynchronous inference) simply cover fewer future steps.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np


class TemporalEnsembler:
    """Thread-safe store of recent chunks.

    Args:
        k: weight decay per chunk age (ACT's ``temporal_ensemble_coeff``, default 0.01).
        max_chunks: chunks kept (older ones are dropped).
    """

    def __init__(self, k: float = 0.01, max_chunks: int = 16):
        self.k = float(k)
        self._chunks: deque[tuple[int, np.ndarray]] = deque(maxlen=max_chunks)
        self._lock = threading.Lock()

    def add(self, start_step: int, chunk: np.ndarray) -> None:
        """Store ``chunk`` float[H, A] whose row 0 is the action for ``start_step``."""
        chunk = np.asarray(chunk, dtype=np.float64)
        if chunk.ndim != 2:
            raise ValueError(f"chunk must be [H, A], got shape {chunk.shape}")
        with self._lock:
            self._chunks.append((int(start_step), chunk))

    def action(self, step: int) -> np.ndarray | None:
        """Ensembled action float64[A] for ``step``, or None when no chunk covers it."""
        with self._lock:
            rows = [c[step - s] for s, c in self._chunks if 0 <= step - s < len(c)]
        if not rows:
            return None
        w = np.exp(-self.k * np.arange(len(rows)))
        return (w[:, None] * np.stack(rows)).sum(0) / w.sum()

    def horizon_left(self, step: int) -> int:
        """How many steps from ``step`` on the newest chunk still covers."""
        with self._lock:
            if not self._chunks:
                return 0
            s, c = self._chunks[-1]
        return max(0, s + len(c) - step)

    def clear(self) -> None:
        with self._lock:
            self._chunks.clear()
