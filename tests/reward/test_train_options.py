"""Fine-tuning options of the training loop: a frozen / slowed encoder and the L2-SP anchor."""

import pytest
import torch

from robo.reward.model import ProgressRewardModel, RewardModelConfig
from robo.reward.pairs import EpisodeStore
from robo.reward.synthetic import make_dataset
from robo.reward.train import TrainConfig, selection_score, train

CFG = RewardModelConfig(image_size=32, text_backend="hash", embed_dim=32, fusion_layers=1)


@pytest.fixture(scope="module")
def store():
    eps = make_dataset(("synth/left", "synth/up"), {"expert": 2}, seed=0, length=16, image_size=32)
    return EpisodeStore(eps, CFG.views, CFG.image_size, text_backend="hash")


def _run(store, **kw) -> tuple[ProgressRewardModel, ProgressRewardModel]:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = ProgressRewardModel(CFG)
    start = ProgressRewardModel(CFG)
    start.load_state_dict(model.state_dict())
    tc = TrainConfig(
        steps=12, lr=3e-3, episodes_per_batch=4, frames_per_episode=4, pairs_per_batch=48,
        eval_every=0, **kw,
    )  # fmt: skip
    train(model, store, tc, progress=False)
    return model, start


def _drift(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return sum(((p - q) ** 2).sum().item() for p, q in zip(a.parameters(), b.parameters()))


def test_frozen_encoder_trains_only_the_rest(store):
    model, start = _run(store, encoder_lr_scale=0.0)
    assert _drift(model.encoder, start.encoder) == 0.0
    assert _drift(model.fusion, start.fusion) > 0.0
    # frozen only while training: a later fine-tune may train the encoder again
    assert all(p.requires_grad for p in model.parameters())


def test_slow_encoder_moves_less(store):
    fast, start = _run(store)
    slow, _ = _run(store, encoder_lr_scale=0.1)
    assert 0.0 < _drift(slow.encoder, start.encoder) < 0.5 * _drift(fast.encoder, start.encoder)


def test_anchor_pulls_towards_the_start(store):
    free, start = _run(store)
    pulled, _ = _run(store, anchor_weight=10.0)
    assert _drift(pulled, start) < 0.5 * _drift(free, start)


def test_negative_encoder_lr_scale_is_refused(store):
    with pytest.raises(ValueError, match="encoder_lr_scale"):
        _run(store, encoder_lr_scale=-1.0)


def test_selection_prefers_voc_s_once_voc_fail_meets_its_target():
    early = {"voc_s": 0.85, "auroc": 0.96, "voc_fail": 0.01}
    later = {"voc_s": 0.94, "auroc": 1.0, "voc_fail": 0.21}
    assert selection_score(later) > selection_score(early)
    # above the target, failures that look like progress still cost
    assert selection_score({**later, "voc_fail": 0.9}) < selection_score(early)
