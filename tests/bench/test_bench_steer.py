"""bench_steer's checkpoint and training-command selection (no training, no simulation)."""

from pathlib import Path

import pytest

from bench.bench_steer import IMAGE_TASK_TRAIN, ckpt_dir, train_command


def _overrides(cmd: list[str]) -> dict[str, str]:
    return dict(a.split("=", 1) for a in cmd[4:])


def test_state_policy_is_unchanged():
    assert ckpt_dir("so101/reach") == Path("outputs/policies/so101-reach-v2")
    assert ckpt_dir("metaworld/reach") == Path("outputs/policies/metaworld-reach")
    args = _overrides(train_command("so101/reach"))
    assert args["policy.model.cameras"] == "[]"
    assert args["episodes"] == "200" and args["policy.train.steps"] == "3000"
    assert args["out"] == "outputs/policies/so101-reach-v2"


@pytest.mark.parametrize("task", ["so101/reach", "metaworld/reach"])
def test_image_policy_keeps_the_default_network_and_the_same_demos(task):
    state, image = _overrides(train_command(task)), _overrides(train_command(task, "image"))
    assert "policy.model.cameras" not in image and "policy.model.unet_dims" not in image
    assert (
        image["out"]
        == str(ckpt_dir(task, "image"))
        == f"outputs/policies/{task.replace('/', '-')}-img"
    )
    dropped = {"policy.model.cameras", "policy.model.unet_dims", "out"}
    changed = set(IMAGE_TASK_TRAIN.get(task, {})) | {"out"}
    assert {k: v for k, v in state.items() if k not in dropped | changed} == {
        k: v for k, v in image.items() if k not in changed
    }
    assert all(image[k] == v for k, v in IMAGE_TASK_TRAIN.get(task, {}).items())
    assert image["goal_in_state"] == "true"


def test_unknown_policy_kind_fails():
    with pytest.raises(ValueError, match="policy="):
        train_command("so101/reach", "pixels")
