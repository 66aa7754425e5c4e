"""Simplified copies of the SO-101 meshes, made in memory (no files written).

The shipped STL meshes have ~320k triangles in total, which makes software (EGL/llvmpipe)
rendering take ~0.5 s per image and model compilation several seconds. Vertex clustering
(snap vertices to a ``cell``-sized grid, merge each cell to its mean, drop collapsed and
duplicate triangles) brings them to a few thousand triangles with sub-millimetre shape change
at the default 2 mm cell, which is invisible at 96-128 px. MuJoCo's convex hulls of the
simplified meshes serve as link collision shapes as before.
"""

from __future__ import annotations

import functools
import struct
from pathlib import Path

import numpy as np

DEFAULT_CELL = 0.002  # [m]
_STL_DTYPE = np.dtype(
    [("normal", "<f4", (3,)), ("v", "<f4", (3, 3)), ("attr", "<u2")]
)  # binary STL record, 50 bytes


def read_binary_stl(path: Path) -> np.ndarray:
    """float32[F, 3, 3] triangle vertices of a binary STL file."""
    raw = path.read_bytes()
    (count,) = struct.unpack_from("<I", raw, 80)
    if len(raw) != 84 + 50 * count:
        raise ValueError(f"{path} is not a binary STL file (size does not match its header)")
    return np.frombuffer(raw, dtype=_STL_DTYPE, count=count, offset=84)["v"].copy()


def cluster_decimate(tris: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertex-clustering simplification of triangles float[F, 3, 3] [m].

    Returns ``(vertices float32[V, 3], faces int32[F', 3])``.
    """
    verts = tris.reshape(-1, 3).astype(np.float64)
    grid = np.floor(verts / cell).astype(np.int64)
    grid -= grid.min(axis=0)
    span = grid.max(axis=0) + 1
    keys = (grid[:, 0] * span[1] + grid[:, 1]) * span[2] + grid[:, 2]  # 1-D keys: fast unique
    _, cluster, counts = np.unique(keys, return_inverse=True, return_counts=True)
    sums = np.zeros((counts.size, 3))
    np.add.at(sums, cluster, verts)
    centers = sums / counts[:, None]
    faces = cluster.reshape(-1, 3)
    ok = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    faces = faces[ok]
    # Drop duplicates regardless of winding start (keep the first orientation seen).
    srt = np.sort(faces, axis=1).astype(np.int64)
    n = int(counts.size)
    _, first = np.unique((srt[:, 0] * n + srt[:, 1]) * n + srt[:, 2], return_index=True)
    faces = faces[np.sort(first)]
    used, remap = np.unique(faces, return_inverse=True)
    return centers[used].astype(np.float32), remap.reshape(-1, 3).astype(np.int32)


def write_binary_stl(verts: np.ndarray, faces: np.ndarray) -> bytes:
    """Binary STL bytes of an indexed triangle mesh."""
    rec = np.zeros(len(faces), dtype=_STL_DTYPE)
    tri = verts[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    norm = np.linalg.norm(normal, axis=1, keepdims=True)
    rec["normal"] = normal / np.where(norm > 0, norm, 1.0)
    rec["v"] = tri
    return b"\0" * 80 + struct.pack("<I", len(faces)) + rec.tobytes()


@functools.cache
def simplified_meshes(mesh_dir: str, cell: float = DEFAULT_CELL) -> dict[str, bytes]:
    """``{file name: binary STL bytes}`` of every ``*.stl`` in ``mesh_dir``, simplified."""
    out = {}
    for path in sorted(Path(mesh_dir).glob("*.stl")):
        verts, faces = cluster_decimate(read_binary_stl(path), cell)
        out[path.name] = write_binary_stl(verts, faces)
    return out
