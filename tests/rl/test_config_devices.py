"""RLConfig devices: the reward model may run on its own device; bad names are refused early."""

from __future__ import annotations

import pytest

from robo.rl.train import RLConfig


def test_reward_device_defaults_to_the_learner_device():
    assert RLConfig().model_device == "cpu"
    assert RLConfig(device="cuda").model_device == "cuda"
    assert RLConfig(device="cpu", reward_device="cuda:1").model_device == "cuda:1"


@pytest.mark.parametrize("field", ["device", "reward_device"])
def test_unknown_devices_are_refused(field):
    with pytest.raises(ValueError, match="hint: cpu, cuda"):
        RLConfig(**{field: "tpu"})


def test_build_potential_loads_the_model_on_the_reward_device(monkeypatch, tmp_path):
    import robo.reward.checkpoint as checkpoint
    from robo.cli.cmd_rl import build_potential

    seen = {}

    class Stop(Exception):
        pass

    def fake_load(path, device="cpu"):
        seen["device"] = device
        raise Stop

    monkeypatch.setattr(checkpoint, "load_checkpoint", fake_load)
    cfg = RLConfig(progress=str(tmp_path), device="cpu", reward_device="cuda")
    with pytest.raises(Stop):
        build_potential(cfg, "metaworld/reach", None, None)
    assert seen["device"] == "cuda"
