"""Instruction embeddings: the carried cache (machines without MiniLM) and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from robo.reward import text
from robo.reward.text import TEXT_DIM, embed_instructions, load_text_cache


def test_loaded_cache_answers_without_the_model(tmp_path, monkeypatch):
    vec = np.zeros((1, TEXT_DIM), np.float32)
    vec[0, 3] = 1.0
    path = tmp_path / "text.npz"
    np.savez(path, texts=np.array(["open the carried drawer"]), vectors=vec)

    def no_model():
        raise AssertionError("MiniLM must not load for a cached instruction")

    monkeypatch.setattr(text, "_minilm", no_model)
    assert load_text_cache(path) == 1
    got = embed_instructions(["open the carried drawer"])
    np.testing.assert_array_equal(got, vec)


def test_bad_cache_files_are_refused(tmp_path):
    np.savez(tmp_path / "a.npz", words=np.array(["x"]))
    with pytest.raises(ValueError, match="save_text_cache"):
        load_text_cache(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", texts=np.array(["x"]), vectors=np.zeros((1, 5), np.float32))
    with pytest.raises(ValueError, match="expected"):
        load_text_cache(tmp_path / "b.npz")
    with pytest.raises(FileNotFoundError, match="hint: write one"):
        load_text_cache(tmp_path / "missing.npz")
