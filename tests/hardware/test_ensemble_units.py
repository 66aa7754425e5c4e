"""Temporal ensembling and the lerobot <-> rad unit conversion."""

from __future__ import annotations

import numpy as np
import pytest

from hardware.ensemble import TemporalEnsembler
from hardware.units import LerobotUnits

NAMES = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")


def test_ensembler_weights_older_chunks_first():
    ens = TemporalEnsembler(k=1.0)
    ens.add(0, np.zeros((4, 2)))
    ens.add(2, np.ones((4, 2)))
    assert ens.action(1) == pytest.approx([0.0, 0.0])
    w = np.exp(-np.arange(2.0))
    assert ens.action(2) == pytest.approx([w[1] / w.sum()] * 2)
    assert ens.action(5) == pytest.approx([1.0, 1.0])
    assert ens.action(6) is None
    assert ens.horizon_left(3) == 3


def test_ensembler_plain_mean_and_late_chunks():
    ens = TemporalEnsembler(k=0.0)
    ens.add(0, np.full((3, 1), 2.0))
    ens.add(0, np.full((3, 1), 4.0))
    assert ens.action(0) == pytest.approx([3.0])
    with pytest.raises(ValueError):
        ens.add(0, np.zeros(3))


def test_units_roundtrip_and_conventions():
    units = LerobotUnits(NAMES, signs=(1, -1, 1, 1, 1), offsets_rad=(0, 0.1, 0, 0, 0))
    q = np.array([0.5, -1.0, 1.2, 0.3, -2.0, 0.8])
    back = units.to_rad(units.to_lerobot(q))
    np.testing.assert_allclose(back, q, atol=1e-12)
    d = LerobotUnits(NAMES).to_lerobot(np.array([np.pi / 2, 0, 0, 0, 0, -0.17453]))
    assert d["shoulder_pan.pos"] == pytest.approx(90.0)
    assert d["gripper.pos"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="lacks joint"):
        units.to_rad({"shoulder_pan.pos": 0.0})
