"""One-shot (and few-shot) adaptation store: the demo's variants and their share of batches."""

from __future__ import annotations

import numpy as np
import pytest

from robo.reward.adapt import AdaptConfig, build_adapt_store, demo_variants
from robo.reward.model import ProgressRewardModel, RewardModelConfig
from robo.reward.synthetic import make_episode


@pytest.fixture(scope="module")
def model():
    return ProgressRewardModel(RewardModelConfig(image_size=32, text_backend="hash")).eval()


def _ep(task="synth/up", seed=0, kind="expert"):
    return make_episode(task=task, kind=kind, seed=seed, length=16, image_size=32)


def test_demo_variants_retime_the_demo_only():
    demo = _ep()
    out = demo_variants(demo, np.random.default_rng(0), rewinds=2, stalls=1)
    names = [n for _, n in out]
    assert names[:4] == ["demo", "speed x2", "speed x3", "speed x0.5"]
    assert sum(n.startswith("rewind@") for n in names) == 2 and names[-1].startswith("stall@")
    end = int(np.flatnonzero(demo.success)[0])
    for order, name in out:
        assert order.min() >= 0 and order.max() <= end  # never past the first success
        if name.startswith("speed"):
            assert order[-1] == end and np.all(np.diff(order) >= 0)
        if name.startswith("rewind@"):
            p = int(name.split("@")[1])
            assert order[p] == p and np.all(np.diff(order[p:]) == -1)  # back towards the start


def test_store_keeps_the_demo_share_with_several_demos(model):
    replay = [_ep("synth/left", s) for s in range(3)]
    cfg = AdaptConfig(demo_weight=0.25, rewinds=2, stalls=1)
    one = build_adapt_store(model, _ep(seed=0), replay, cfg)
    two = build_adapt_store(model, [_ep(seed=0), _ep(seed=1)], replay, cfg)
    for store in (one, two):
        w = np.asarray(store.weights)
        is_demo = np.array([t == "synth/up" for t in store.tasks])
        assert w[is_demo].sum() / w.sum() == pytest.approx(0.25)
    assert sum(t == "synth/up" for t in two.tasks) == 2 * sum(t == "synth/up" for t in one.tasks)
    assert len(two.goals["synth/up"]) == 2 * len(one.goals["synth/up"])  # both demos' goals


def test_store_refuses_bad_demos(model):
    cfg = AdaptConfig(rewinds=1, stalls=1)
    with pytest.raises(ValueError, match="several tasks"):
        build_adapt_store(model, [_ep(), _ep("synth/left")], [], cfg)
    with pytest.raises(ValueError, match="never succeeds"):
        build_adapt_store(model, _ep(kind="failure"), [], cfg)
    with pytest.raises(ValueError, match="no demo"):
        build_adapt_store(model, [], [], cfg)
