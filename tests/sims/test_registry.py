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


def test_torchvision_import_after_rendering_does_not_crash():
    # Regression: importing torchvision after an EGL context existed segfaulted (LLVM clash).
    import subprocess
    import sys

    code = (
        "import sims, mujoco\n"
        "m = mujoco.MjModel.from_xml_string('<mujoco><worldbody><geom size=\"1\"/></worldbody></mujoco>')\n"
        "r = mujoco.Renderer(m, 16, 16); r.update_scene(mujoco.MjData(m)); r.render()\n"
        "import torchvision\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-500:]
