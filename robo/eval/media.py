"""Pictures and videos people would rather look at than read: contact sheets and mp4s.

All images are uint8[H, W, 3]. Videos are written with imageio's ffmpeg plugin (H.264,
``yuv420p`` so they play everywhere); frame sizes are padded to even numbers for the codec.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def _even(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def tile_views(views: Sequence[np.ndarray], gap: int = 2) -> np.ndarray:
    """Side-by-side image of equally tall views: uint8[H, sum(W) + gaps, 3]."""
    if not views:
        raise ValueError("tile_views needs at least one view")
    h = max(v.shape[0] for v in views)
    cols: list[np.ndarray] = []
    for i, v in enumerate(views):
        if v.shape[0] != h:
            v = np.asarray(Image.fromarray(v).resize((v.shape[1] * h // v.shape[0], h)))
        cols.append(v)
        if i < len(views) - 1:
            cols.append(np.full((h, gap, 3), 255, np.uint8))
    return np.concatenate(cols, axis=1)


def label(frame: np.ndarray, text: str, scale: int = 1) -> np.ndarray:
    """A copy of ``frame`` with ``text`` written in its top-left corner on a dark band."""
    img = Image.fromarray(np.ascontiguousarray(frame))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, img.width, 11], fill=(0, 0, 0))
    draw.text((2, 0), text, fill=(255, 255, 255))
    return np.asarray(img)


def contact_sheet(
    frames: np.ndarray, n: int = 8, title: str | None = None, scale: int = 1
) -> np.ndarray:
    """``n`` evenly spaced frames of one camera, left to right, each labelled with its index.

    Args:
        frames: uint8[T, H, W, 3].
        n: number of frames shown (fewer if T < n).
        title: optional text above the strip.
    Returns:
        uint8[H', W', 3].
    """
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"contact_sheet expects uint8[T, H, W, 3], got {frames.shape}")
    idx = np.unique(np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int))
    strip = tile_views([label(frames[i], f"t={i}", scale) for i in idx])
    if title is None:
        return strip
    band = np.zeros((14, strip.shape[1], 3), np.uint8)
    return np.concatenate([label(band, title), strip], axis=0)


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write uint8[H, W, 3] as PNG, creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def write_mp4(frames: Sequence[np.ndarray] | np.ndarray, path: str | Path, fps: int = 20) -> Path:
    """Write uint8[T, H, W, 3] frames as an H.264 mp4 (even-padded), creating parent folders."""
    import imageio.v2 as imageio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with imageio.get_writer(
        path, fps=fps, codec="libx264", macro_block_size=1, pixelformat="yuv420p", quality=7
    ) as writer:
        for frame in frames:
            writer.append_data(_even(np.asarray(frame, dtype=np.uint8)))
    return path
