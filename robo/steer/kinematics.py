"""Differentiable forward kinematics of a serial hinge chain read from an MJCF file.

Only what steering needs: the world position of one site/body (and of the link frames on the
way to it, for costs over the whole arm) as a function of the chain's hinge angles [rad],
batched and differentiable in torch. Parsed with ElementTree (no MuJoCo
import), following MuJoCo's conventions: body ``pos``/``quat`` (w, x, y, z) relative to the
parent, hinge ``axis``/``pos`` in the body frame, ``compiler angle`` irrelevant for quats.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import torch


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
    pos: torch.Tensor  # float[3], body offset in the parent frame [m]
    rot: torch.Tensor  # float[3, 3]
    joints: list[tuple[str, torch.Tensor, torch.Tensor]]  # (name, axis float[3], pos float[3])


class KinematicChain:
    """World position of a target frame given hinge angles.

    Build with :meth:`from_mjcf`; ``joint_names`` lists the hinges in the order ``forward``
    expects them.
    """

    def __init__(self, links: list[_Link], tip_pos: torch.Tensor, base_pos=None, base_quat=None):
        self.links = links
        self.tip_pos = tip_pos
        self.joint_names = [name for link in links for name, _, _ in link.joints]
        self.base_pos = torch.tensor(base_pos or [0.0, 0.0, 0.0])
        self.base_rot = quat_to_matrix(torch.tensor(base_quat or [1.0, 0.0, 0.0, 0.0]))

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
                axis = torch.tensor(_vec(j, "axis", [0, 0, 1]))
                joints.append(
                    (j.get("name", ""), axis / axis.norm(), torch.tensor(_vec(j, "pos", [0, 0, 0])))
                )
            links.append(
                _Link(
                    torch.tensor(_vec(el, "pos", [0, 0, 0])),
                    quat_to_matrix(torch.tensor(_vec(el, "quat", [1, 0, 0, 0]))),
                    joints,
                )
            )
        tip = trail[-1]
        tip_pos = torch.tensor(_vec(tip, "pos", [0, 0, 0])) if tip.tag == "site" else torch.zeros(3)
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

    def _walk(self, q: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """Link-frame origins (one float[B, 3] per link, after its joints), last rotation and
        the final frame origin."""
        if q.shape[-1] != len(self.joint_names):
            raise ValueError(
                f"expected {len(self.joint_names)} joint angles {self.joint_names}, got {q.shape[-1]}"
            )
        b = q.shape[0]
        rot = self.base_rot.to(q).expand(b, 3, 3)
        pos = self.base_pos.to(q).expand(b, 3)
        origins = []
        j = 0
        for link in self.links:
            pos = pos + rot @ link.pos.to(q)
            rot = rot @ link.rot.to(q)
            for _, axis, jpos in link.joints:
                r = axis_angle(axis.to(q), q[:, j])
                # Rotation about an axis through jpos: p -> jpos + R (p - jpos).
                jp = jpos.to(q)
                pos = pos + torch.einsum("bij,bj->bi", rot, jp - r @ jp)
                rot = rot @ r
                j += 1
            origins.append(pos)
        return origins, rot, pos

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        """Hinge angles float[B, J] [rad] (order ``joint_names``) -> tip position float[B, 3] [m]."""
        _, rot, pos = self._walk(q)
        return pos + rot @ self.tip_pos.to(q)

    def forward_points(self, q: torch.Tensor, per_segment: int = 0) -> torch.Tensor:
        """Points along the arm float[B, P, 3] [m]: the origin of every link frame from the
        first moving link on, then the tip, with ``per_segment`` evenly spaced points inserted
        between consecutive ones (the links' centre lines, for whole-arm collision costs).
        The last point is the tip (same as :meth:`forward`)."""
        origins, rot, pos = self._walk(q)
        first = next((i for i, link in enumerate(self.links) if link.joints), 0)
        knots = torch.stack([*origins[first:], pos + rot @ self.tip_pos.to(q)], dim=1)
        if per_segment <= 0:
            return knots
        frac = torch.arange(per_segment + 1, dtype=q.dtype, device=q.device) / (per_segment + 1)
        a, d = knots[:, :-1, None], (knots[:, 1:] - knots[:, :-1])[:, :, None]
        inner = (a + frac[None, None, :, None] * d).flatten(1, 2)  # [B, S * (k + 1), 3]
        return torch.cat([inner, knots[:, -1:]], dim=1)
