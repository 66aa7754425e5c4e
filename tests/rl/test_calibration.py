"""Measuring the GRM potential's affine calibration once, before training."""

from __future__ import annotations

import numpy as np
import pytest

from robo.cli.main import main
from robo.reward.shaping import ProgressEstimate, ShapingError
from robo.rl.progress import measure_calibration


class MeanRed:
    """Fake progress: mean red of the front camera / 255; checks the instruction it gets."""

    def __call__(self, observations):
        assert all(o["instruction"] == "reach the goal" for o in observations)
        phi = np.array([o["images"]["front"][..., 0].mean() / 255.0 for o in observations])
        return ProgressEstimate(phi, np.zeros(len(phi)))


def frame(red: int) -> dict[str, np.ndarray]:
    img = np.zeros((4, 4, 3), np.uint8)
    img[..., 0] = red
    return {"front": img}


def test_measure_calibration_averages_demo_starts_and_goals():
    frames = [(frame(51), frame(153)), (frame(102), frame(204))]  # Φ 0.2/0.6 and 0.4/0.8
    cal, details = measure_calibration(MeanRed(), frames, "reach the goal")
    assert cal.phi_start == pytest.approx(0.3) and cal.phi_goal == pytest.approx(0.7)
    assert details["episodes"] == 2 and details["gain"] == pytest.approx(2.5)
    np.testing.assert_allclose(details["phi_goal_per_episode"], [0.6, 0.8])
    with pytest.raises(ShapingError, match="does not rise"):
        measure_calibration(MeanRed(), [(frame(200), frame(100))], "reach the goal")
    with pytest.raises(ValueError, match="at least one"):
        measure_calibration(MeanRed(), [], "reach the goal")


def test_rl_refuses_calibrating_the_privileged_potential(tmp_path, capsys):
    args = ["rl", "task=metaworld/reach", "scheme=pbrs", "progress=gt", "calibrate=3"]
    assert main([*args, f"out={tmp_path}/x"]) == 2
    assert "calibrate=0 with progress=gt" in capsys.readouterr().err
