import json

import pytest
import torch

from robo.policy import CheckpointError, DiffusionPolicy, load_policy

from .conftest import obs_of, toy_episode


def test_roundtrip_gives_identical_samples(tiny_config, tmp_path):
    policy = DiffusionPolicy(tiny_config)
    policy.normalizer.action_low.fill_(-2.0)  # non-default buffers must travel too
    policy.save(tmp_path / "ckpt")
    loaded = load_policy(tmp_path / "ckpt")
    obs = obs_of(toy_episode(0))
    a = policy.sample(obs, n=2, generator=torch.Generator().manual_seed(0))
    b = loaded.sample(obs, n=2, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)
    assert loaded.config == policy.config
    assert json.loads((tmp_path / "ckpt" / "config.json").read_text())["family"] == "diffusion"
    load_policy(tmp_path / "ckpt" / "model.safetensors")  # a file inside the folder works too


def test_refuses_pickles(tiny_config, tmp_path):
    pt = tmp_path / "policy.pt"
    torch.save(DiffusionPolicy(tiny_config).state_dict(), pt)
    with pytest.raises(CheckpointError, match="pickle"):
        load_policy(pt)
    with pytest.raises(CheckpointError, match="pickle files"):
        load_policy(tmp_path)


def test_shape_mismatch_and_missing_files(tiny_config, tmp_path):
    DiffusionPolicy(tiny_config).save(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["config"]["action_dim"] = 3
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="shape mismatch"):
        load_policy(tmp_path)
    cfg["family"] = "vla9000"
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="unknown policy family"):
        load_policy(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(CheckpointError, match="no config.json"):
        load_policy(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_policy(tmp_path / "nothing")
