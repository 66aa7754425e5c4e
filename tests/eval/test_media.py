import imageio.v3 as iio
import numpy as np
import pytest

from robo.eval.media import contact_sheet, label, save_png, tile_views, write_mp4


def _frames(t=10, h=24, w=30):
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (t, h, w, 3), dtype=np.uint8)


def test_contact_sheet_shape_and_bad_input():
    frames = _frames()
    sheet = contact_sheet(frames, n=4, title="front")
    assert sheet.dtype == np.uint8 and sheet.shape[0] == 24 + 14
    assert sheet.shape[1] == 4 * 30 + 3 * 2
    with pytest.raises(ValueError, match="uint8"):
        contact_sheet(frames[0])


def test_tile_views_resizes_to_common_height():
    out = tile_views([np.zeros((20, 10, 3), np.uint8), np.zeros((10, 10, 3), np.uint8)])
    assert out.shape == (20, 10 + 2 + 20, 3)


def test_label_changes_pixels():
    frame = np.full((32, 64, 3), 128, np.uint8)
    assert not np.array_equal(label(frame, "hello"), frame)


def test_mp4_and_png_round_trip(tmp_path):
    frames = _frames(t=6, h=31, w=33)  # odd sizes get padded
    path = write_mp4(frames, tmp_path / "a" / "v.mp4", fps=10)
    video = iio.imread(path, plugin="pyav")
    assert video.shape[0] == 6 and video.shape[1:3] == (32, 34)
    png = save_png(frames[0], tmp_path / "b" / "f.png")
    assert np.array_equal(iio.imread(png), frames[0])
