"""Privileged success / progress of the SO-101 tasks (sims.so101.tasks.evaluate)."""

import numpy as np

from sims.so101.layout import sample_layout
from sims.so101.tasks import BIN_HEIGHT, CUBE_HALF, Snapshot, evaluate


def _snap(layout, cube, grasped, tip=None):
    start_cube = layout.cube_pos
    tip = cube if tip is None else np.asarray(tip, float)
    return Snapshot(
        tip=np.asarray(tip, float),
        cube=np.asarray(cube, float),
        grasped=grasped,
        start_tip=np.array([0.15, 0.0, 0.2]),
        start_cube=start_cube,
    )


def test_place_cube_in_bin_release_over_bin_keeps_progress():
    """A cube let go above the bin (falling in) is not a regress to the reach stage."""
    lay = sample_layout("place-cube-in-bin", 0)
    z0 = lay.surface_z + CUBE_HALF
    above = [*lay.bin_xy, z0 + BIN_HEIGHT + 0.03]
    held = evaluate(lay, _snap(lay, above, grasped=True))
    falling = evaluate(lay, _snap(lay, above, grasped=False, tip=[*lay.bin_xy, 0.2]))
    landed = evaluate(lay, _snap(lay, [*lay.bin_xy, z0 + 0.005], grasped=False, tip=[0, 0, 0.2]))
    assert not falling["success"] and falling["progress_gt"] >= held["progress_gt"]
    assert falling["progress_gt"] == 0.9
    assert landed["success"] and landed["progress_gt"] == 1.0


def test_place_cube_in_bin_drop_outside_is_low_progress():
    lay = sample_layout("place-cube-in-bin", 0)
    z0 = lay.surface_z + CUBE_HALF
    # Dropped on the table halfway to the bin: back to the (low) reach stage.
    mid = (lay.cube_xy + lay.bin_xy) / 2
    dropped = evaluate(lay, _snap(lay, [*mid, z0], grasped=False, tip=[*mid, 0.15]))
    carried = evaluate(lay, _snap(lay, [*mid, z0 + 0.05], grasped=True))
    assert not dropped["success"]
    assert dropped["progress_gt"] <= 0.25 < carried["progress_gt"]
