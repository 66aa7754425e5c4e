"""Differentiable forward kinematics of a serial hinge chain read from an MJCF file.

Only what steering needs: the world position of one site/body (and of the link frames on the
way to it, for costs over the whole arm) as a function of the chain's hinge angles [rad],
batched and differentiable in torch. Parsed with ElementTree (no MuJoCo
import), following MuJoCo's conventions: body ``pos``/``quat`` (w, x, y, z) relative to the
parent, hinge ``axis``/``pos`` in the body frame, ``compiler angle`` irrelevant for quats.

Speed (steering evaluates this tens of times per chunk on B * H joint vectors): the chain is
compiled once into per-joint constants. Joint j's local transform (every fixed offset since
the previous joint, then the rotation about its axis through its anchor) is linear in
``(1, cos q_j, sin q_j)`` (Rodrigues), so all joints' 4x4 transforms come from one batched
product, the chain is J - 1 matmuls, and the points are one gather + matmul. The gradient is
the geometric Jacobian written out (``dp/dq_j = w_j x (p - o_j)`` for points past joint j,
with w_j / o_j joint j's world axis / anchor), a few batched ops instead of autograd through
the chain.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

_F64 = torch.float64  # the chain's constants: parsed and composed in double precision


def _vec(el: ET.Element, key: str, default: list[float]) -> list[float]:
    return [float(v) for v in el.get(key).split()] if el.get(key) else list(default)


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternion(s) (w, x, y, z) float[..., 4] -> rotation matrices float[..., 3, 3]."""
    q = q / q.norm(dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(*q.shape[:-1], 3, 3)  # fmt: skip


def axis_angle(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotation float[B, 3, 3] by ``angle`` float[B] [rad] about unit ``axis`` float[3]
    (Rodrigues: ``I + sin(a) K + (1 - cos(a)) K^2`` with K the cross-product matrix)."""
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero]).view(3, 3)
    s, c = angle.sin()[:, None, None], angle.cos()[:, None, None]
    return torch.eye(3, dtype=angle.dtype) + s * k + (1 - c) * (k @ k)


@dataclass
class _Link:
    pos: torch.Tensor  # float64[3], body offset in the parent frame [m]
    rot: torch.Tensor  # float64[3, 3]
    joints: list[tuple[str, torch.Tensor, torch.Tensor]]  # (name, axis float[3], pos float[3])


@dataclass
class _Compiled:
    """The chain as constants (float64 on CPU; cast per dtype/device on first use).

    ``basis[j, c]`` float[J, 3, 4, 4]: joint j's local transform is ``basis[j, 0] + cos(q_j)
    basis[j, 1] + sin(q_j) basis[j, 2]``. ``parent[k]``: the joint whose (post-rotation) frame
    carries point k, at homogeneous ``offset[k]`` float[K, 4] in it (world coordinates when
    the chain has no joints). ``axis``/``anchor`` float[J, 3]/[J, 4]: joint axes and
    homogeneous anchors in their own frames. ``moves[j, k]`` = 1 if joint j moves point k.
    """

    basis: torch.Tensor
    parent: torch.Tensor
    offset: torch.Tensor
    axis: torch.Tensor
    anchor: torch.Tensor
    moves: torch.Tensor


def _homogeneous(rot: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    out = torch.eye(4, dtype=torch.float64)
    out[:3, :3], out[:3, 3] = rot.double(), pos.double()
    return out


def _frames_and_points(q: torch.Tensor, c: _Compiled) -> tuple[torch.Tensor, torch.Tensor]:
    """Joint frames float[J, N, 4, 4] (world from each joint's post-rotation frame; joint-major
    so every per-joint slice is contiguous) and the compiled points float[N, K, 3] for hinge
    angles q float[N, J]. Tiny batched matmuls are slow on CPU, hence one bmm over joints for
    the local transforms and broadcast sums for the points."""
    n, j = q.shape
    cs = torch.stack([torch.ones_like(q), q.cos(), q.sin()], dim=-1)  # [N, J, 3]
    local = torch.bmm(cs.transpose(0, 1), c.basis.flatten(2)).view(j, n, 4, 4)
    frames = [local[0]]
    for i in range(1, j):
        frames.append(frames[-1] @ local[i])
    frame = torch.stack(frames)
    points = (frame[c.parent, :, :3, :] * c.offset[:, None, None, :]).sum(-1)  # [K, N, 3]
    return frame, points.transpose(0, 1).contiguous()


def _points_vjp(
    points: torch.Tensor, frame: torch.Tensor, c: _Compiled, grad_points: torch.Tensor
) -> torch.Tensor:
    """``d L / d q`` float[N, J] from ``d L / d points`` float[N, K, 3] (geometric Jacobian)."""
    axis = (frame[..., :3, :3] * c.axis[:, None, None, :]).sum(-1).transpose(0, 1)  # [N, J, 3]
    anchor = (frame[..., :3, :] * c.anchor[:, None, None, :]).sum(-1).transpose(0, 1)
    # dL/dq_j = sum_k moves[j, k] (w_j x (p_k - o_j)) . g_k
    #         = w_j . (sum_k moves[j, k] p_k x g_k - o_j x sum_k moves[j, k] g_k)
    # both sums over k as one GEMM [N * 6, K] @ moves^T [K, J] (a broadcast matmul of moves
    # over N would be a batched GEMM of N tiny products)
    n, k = points.shape[:2]
    src = torch.cat([torch.linalg.cross(points, grad_points), grad_points], -1)  # [N, K, 6]
    sums = (src.transpose(1, 2).reshape(n * 6, k) @ c.moves.T).view(n, 6, -1).transpose(1, 2)
    torque, force = sums[..., :3], sums[..., 3:]  # [N, J, 3]
    return (axis * (torque - torch.linalg.cross(anchor, force))).sum(-1)


class _ChainPoints(torch.autograd.Function):
    """q float[N, J] -> (points float[N, K, 3], frames); backward by the geometric Jacobian."""

    @staticmethod
    def forward(q: torch.Tensor, c: _Compiled) -> tuple[torch.Tensor, torch.Tensor]:
        frame, points = _frames_and_points(q, c)
        return points, frame

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.c = inputs[1]
        points, frame = output
        ctx.save_for_backward(points, frame)
        ctx.mark_non_differentiable(frame)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_points: torch.Tensor, _grad_frame: torch.Tensor):
        points, frame = ctx.saved_tensors
        return _points_vjp(points, frame, ctx.c, grad_points), None


class KinematicChain:
    """World position of a target frame given hinge angles.

    Build with :meth:`from_mjcf`; ``joint_names`` lists the hinges in the order ``forward``
    expects them.
    """

    def __init__(self, links: list[_Link], tip_pos: torch.Tensor, base_pos=None, base_quat=None):
        self.links = links
        self.tip_pos = tip_pos
        self.joint_names = [name for link in links for name, _, _ in link.joints]
        self.base_pos = torch.tensor(base_pos or [0.0, 0.0, 0.0], dtype=_F64)
        self.base_rot = quat_to_matrix(torch.tensor(base_quat or [1.0, 0.0, 0.0, 0.0], dtype=_F64))
        self._compiled = self._compile()
        self._cast: dict[tuple[torch.dtype, torch.device], _Compiled] = {}
        self._mix: dict[tuple, torch.Tensor] = {}

    def _compile(self) -> _Compiled:
        """Fold fixed offsets into the joints; points: every link origin from the first moving
        link on (after its joints), then the tip."""
        fixed = _homogeneous(self.base_rot, self.base_pos)  # since the last joint's frame
        basis, axes, anchors, parent, offset = [], [], [], [], []
        first = next((i for i, link in enumerate(self.links) if link.joints), 0)
        for i, link in enumerate(self.links):
            fixed = fixed @ _homogeneous(link.rot, link.pos)
            for _, axis, jpos in link.joints:
                a, p = axis.double(), jpos.double()
                outer = torch.outer(a, a)
                cross = torch.tensor(
                    [[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]],
                    dtype=torch.float64,
                )
                # Rotation about the axis through p: R = aa^T + cos (I - aa^T) + sin [a]x,
                # translation p - R p; each coefficient's 4x4 part, then the fixed offsets.
                parts = []
                for k, rot in enumerate((outer, torch.eye(3, dtype=torch.float64) - outer, cross)):
                    m = torch.zeros(4, 4, dtype=torch.float64)
                    m[:3, :3] = rot
                    m[:3, 3] = (p if k == 0 else 0.0) - rot @ p
                    if k == 0:
                        m[3, 3] = 1.0
                    parts.append(fixed @ m)
                basis.append(torch.stack(parts))
                axes.append(a)
                anchors.append(torch.cat([p, torch.ones(1, dtype=torch.float64)]))
                fixed = torch.eye(4, dtype=torch.float64)
            if i >= first:
                parent.append(len(basis) - 1)
                offset.append(fixed[:, 3].clone())
        tip = torch.cat([self.tip_pos.double(), torch.ones(1, dtype=torch.float64)])
        parent.append(len(basis) - 1)
        offset.append(fixed @ tip)
        j = len(basis)
        parents = torch.tensor(parent)
        return _Compiled(
            basis=torch.stack(basis) if basis else torch.zeros(0, 3, 4, 4, dtype=torch.float64),
            parent=parents,
            offset=torch.stack(offset),
            axis=torch.stack(axes) if axes else torch.zeros(0, 3, dtype=torch.float64),
            anchor=torch.stack(anchors) if anchors else torch.zeros(0, 4, dtype=torch.float64),
            moves=(torch.arange(j)[:, None] <= parents[None, :]).double(),
        )

    def _constants(self, q: torch.Tensor) -> _Compiled:
        key = (q.dtype, q.device)
        if key not in self._cast:
            c = self._compiled
            self._cast[key] = _Compiled(
                **{f: (v if f == "parent" else v.to(q)) for f, v in vars(c).items()}
            )
        return self._cast[key]

    def _check(self, q: torch.Tensor) -> _Compiled:
        if q.ndim != 2 or q.shape[-1] != len(self.joint_names):
            raise ValueError(
                f"expected {len(self.joint_names)} joint angles {self.joint_names}, got shape "
                f"{tuple(q.shape)} (hint: pass float[B, J])"
            )
        return self._constants(q)

    def _points(self, q: torch.Tensor) -> torch.Tensor:
        c = self._check(q)
        if not self.joint_names:
            return c.offset[:, :3].expand(q.shape[0], -1, -1)
        return _ChainPoints.apply(q, c)[0]

    def points_with_vjp(
        self, q: torch.Tensor
    ) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
        """Knots float[B, K, 3] [m] (``forward_points(q)``, no autograd graph) and ``vjp(g)``
        mapping ``d L / d knots`` float[B, K, 3] to ``d L / d q`` float[B, J]."""
        c = self._check(q)
        with torch.no_grad():
            if not self.joint_names:
                return c.offset[:, :3].expand(q.shape[0], -1, -1), lambda g: q.new_zeros(q.shape)
            frame, points = _frames_and_points(q, c)
        return points, lambda g: _points_vjp(points, frame, c, g)

    def mixing(self, per_segment: int, like: torch.Tensor) -> torch.Tensor:
        """float[P, K] map from the knots to ``forward_points(q, per_segment)`` (cached)."""
        knots = len(self._compiled.parent)
        key = (knots, per_segment, like.dtype, like.device)
        if key not in self._mix:
            self._mix[key] = interpolation(knots, per_segment, like)
        return self._mix[key]

    @classmethod
    def from_mjcf(
        cls,
        path: str | Path,
        target: str,
        base_pos: list[float] | None = None,
        base_quat: list[float] | None = None,
    ) -> KinematicChain:
        """Chain from the world body to site or body ``target`` in an MJCF file (or MJCF text).

        ``base_pos``/``base_quat`` place the file's world frame in the scene's world frame
        (when the robot is included at an offset). Only hinge joints are supported.
        """
        text = str(path)
        root = ET.fromstring(text) if text.lstrip().startswith("<") else ET.parse(path).getroot()
        path = "<mjcf text>" if text.lstrip().startswith("<") else path
        world = root.find("worldbody")
        if world is None:
            raise ValueError(f"{path} has no <worldbody>")
        trail = cls._find(world, target, [])
        if trail is None:
            raise ValueError(f"{path} has no site or body named {target!r}")
        links = []
        for el in trail[:-1] if trail[-1].tag == "site" else trail:
            joints = []
            for j in el.findall("joint"):
                kind = j.get("type", "hinge")
                if kind != "hinge":
                    raise ValueError(
                        f"joint {j.get('name')!r} is {kind}; only hinges are supported"
                    )
                axis = torch.tensor(_vec(j, "axis", [0, 0, 1]), dtype=_F64)
                joints.append(
                    (
                        j.get("name", ""),
                        axis / axis.norm(),
                        torch.tensor(_vec(j, "pos", [0, 0, 0]), dtype=_F64),
                    )
                )
            links.append(
                _Link(
                    torch.tensor(_vec(el, "pos", [0, 0, 0]), dtype=_F64),
                    quat_to_matrix(torch.tensor(_vec(el, "quat", [1, 0, 0, 0]), dtype=_F64)),
                    joints,
                )
            )
        tip = trail[-1]
        tip_pos = (
            torch.tensor(_vec(tip, "pos", [0, 0, 0]), dtype=_F64)
            if tip.tag == "site"
            else torch.zeros(3, dtype=_F64)
        )
        return cls(links, tip_pos, base_pos, base_quat)

    @staticmethod
    def _find(el: ET.Element, target: str, trail: list[ET.Element]) -> list[ET.Element] | None:
        for child in el:
            if child.tag == "site" and child.get("name") == target:
                return [*trail, child]
            if child.tag == "body":
                if child.get("name") == target:
                    return [*trail, child]
                found = KinematicChain._find(child, target, [*trail, child])
                if found is not None:
                    return found
        return None

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        """Hinge angles float[B, J] [rad] (order ``joint_names``) -> tip position float[B, 3] [m]."""
        return self._points(q)[:, -1]

    def forward_points(self, q: torch.Tensor, per_segment: int = 0) -> torch.Tensor:
        """Points along the arm float[B, P, 3] [m]: the origin of every link frame from the
        first moving link on, then the tip, with ``per_segment`` evenly spaced points inserted
        between consecutive ones (the links' centre lines, for whole-arm collision costs).
        The last point is the tip (same as :meth:`forward`)."""
        knots = self._points(q)
        if per_segment <= 0:
            return knots
        return mix_points(self.mixing(per_segment, q), knots)


def mix_points(mix: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """``mix @ points`` for mix float[P, K] and points float[N, K, 3] -> float[N, P, 3], as one
    GEMM over [N * 3, K] (``torch.matmul`` would broadcast ``mix`` into N tiny products)."""
    n, k, d = points.shape
    out = points.transpose(1, 2).reshape(n * d, k) @ mix.T
    return out.view(n, d, -1).transpose(1, 2).contiguous()


def interpolation(knots: int, per_segment: int, like: torch.Tensor) -> torch.Tensor:
    """float[P, knots] mixing matrix: every knot followed by ``per_segment`` evenly spaced points
    towards the next, then the last knot (``P = (knots - 1) (per_segment + 1) + 1``)."""
    frac = torch.arange(per_segment + 1, dtype=torch.float64) / (per_segment + 1)
    w = torch.zeros((knots - 1) * (per_segment + 1) + 1, knots, dtype=torch.float64)
    rows = torch.arange((knots - 1) * (per_segment + 1))
    seg = rows // (per_segment + 1)
    w[rows, seg] = 1 - frac.repeat(knots - 1)
    w[rows, seg + 1] = frac.repeat(knots - 1)
    w[-1, -1] = 1.0
    return w.to(like)
