import json
import pickle

import numpy as np
import pytest
import torch

from robo.reward.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from robo.reward.model import ProgressRewardModel, RewardModelConfig


def _model(**kw):
    torch.manual_seed(0)
    return ProgressRewardModel(RewardModelConfig(image_size=32, text_backend="hash", **kw)).eval()


def test_default_model_is_cpu_sized():
    n = ProgressRewardModel().num_parameters()
    assert 100_000 <= n <= 300_000


def test_shapes_and_bad_input():
    m = _model()
    x = torch.randint(0, 255, (4, 3, 40, 40, 3), dtype=torch.uint8)
    e = m.encode(x)
    assert e.shape == (4, 3, 64)
    mean, std = m.hop(e, e, torch.randn(4, 384), start=e, goal=e)
    assert mean.shape == std.shape == (4,)
    assert torch.all(mean.abs() <= 1) and torch.all(std > 0)
    with pytest.raises(ValueError, match="V=3"):
        m.encode(x[:, :2])


def test_masked_view_is_ignored():
    m = _model()
    e = m.encode(torch.randint(0, 255, (2, 3, 32, 32, 3), dtype=torch.uint8))
    e2 = e.clone()
    e2[:, 1] = torch.randn_like(e2[:, 1]) * 10  # "occluded" side camera: garbage pixels
    t = torch.randn(2, 384)
    mask = torch.tensor([[True, False, True]] * 2)
    with torch.no_grad():
        a = m.hop_logits(e, e.flip(0), t, e, None, mask)
        b = m.hop_logits(e2, e2.flip(0), t, e2, None, mask)
        c = m.hop_logits(e2, e2.flip(0), t, e2, None, None)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_checkpoint_round_trip(tmp_path):
    m = _model(embed_dim=32, fusion_layers=1)
    save_checkpoint(m, tmp_path / "ck", meta={"note": "x"})
    m2 = load_checkpoint(tmp_path / "ck")
    assert m2.config == m.config
    for k, v in m.state_dict().items():
        torch.testing.assert_close(v, m2.state_dict()[k])


def test_checkpoint_refuses_pickles_and_mismatches(tmp_path):
    m = _model(embed_dim=32, fusion_layers=1)
    ck = save_checkpoint(m, tmp_path / "ck")
    # a pickle in place of the weights
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((ck / "config.json").read_text())
    torch.save(m.state_dict(), bad / "model.safetensors")
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(bad)
    (bad / "model.safetensors").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(bad)
    # a config that does not match the tensors
    cfg = json.loads((ck / "config.json").read_text())
    cfg["model"]["embed_dim"] = 48
    (ck / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(ck)
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        load_checkpoint(tmp_path / "nothing")


def test_resnet_backbone_loads_local_weights(tmp_path):
    from safetensors.torch import save_file
    from torchvision.models import resnet18

    state = {k: v.contiguous() for k, v in resnet18(weights=None).state_dict().items()}
    save_file(state, str(tmp_path / "r18.safetensors"))
    m = _model(backbone="resnet18", pretrained_path=str(tmp_path / "r18.safetensors"))
    w = m.encoder.net.conv1.weight
    torch.testing.assert_close(w, state["conv1.weight"])
    out = m.encode(torch.zeros(1, 3, 32, 32, 3, dtype=torch.uint8))
    assert out.shape == (1, 3, 64) and np.isfinite(out.detach().numpy()).all()
