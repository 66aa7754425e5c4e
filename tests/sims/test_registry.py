import pytest

import sims
from sims.config import TaskConfig, apply_overrides


def test_unknown_task_suggests_close_names():
    names = sims.list_tasks()
    if not names:
        pytest.skip("no task family registered")
    target = names[0]
    typo = target[:-1] + ("x" if target[-1] != "x" else "y")
    with pytest.raises(sims.UnknownTaskError, match="did you mean"):
        sims.make(typo)


def test_unknown_task_without_close_match_points_to_listing():
    with pytest.raises(sims.UnknownTaskError, match="robo tasks"):
        sims.get_spec("zzzz/qqqq-nothing-like-it")


def test_bad_override_names_valid_options():
    with pytest.raises(sims.BadOverrideError, match="image_size"):
        apply_overrides(TaskConfig(), {"imgsize": 64}, "x/y")


def test_override_validation_and_camera_string():
    cfg = apply_overrides(TaskConfig(), {"cameras": "front,wrist", "image_size": 64}, "x/y")
    assert cfg.cameras == ("front", "wrist") and cfg.image_size == 64
    with pytest.raises(sims.BadOverrideError):
        apply_overrides(TaskConfig(), {"image_size": -3}, "x/y")
