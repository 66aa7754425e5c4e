"""QACR / CTAR / FCR on hand-made chunks, weights, and the gripper table vs the sims envs."""

import ast
import math
from pathlib import Path

import pytest
import torch

from robo.rft.rewards import GripperSpec, RewardWeights, ctar, fcr, gripper_spec, qacr


def test_qacr_counts_matching_tokens():
    demo = torch.tensor([1, 2, 3, 4])
    toks = torch.tensor([[1, 2, 3, 4], [1, 2, 0, 0], [0, 0, 0, 0]])
    assert qacr(toks, demo).tolist() == [1.0, 0.5, 0.0]
    mask = torch.tensor([True, True, False, False])
    assert qacr(toks, demo, mask).tolist() == [1.0, 1.0, 0.0]


def test_ctar_distance_and_gripper_terms():
    grip = GripperSpec((2,), "sign", 0.05)
    demo = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    same = demo[None].clone()
    off = torch.tensor([[[0.3, 0.4, 1.0], [0.3, 0.4, 1.0]]])  # d = 0.5, gripper matches
    wrong_grip = torch.tensor([[[0.0, 0.0, -1.0], [0.0, 0.0, -1.0]]])
    chunks = torch.cat([same, off, wrong_grip])
    valid = torch.tensor([True, True, True])
    r = ctar(chunks, valid, demo, grip, alpha=2.0, beta=0.6)
    assert r[0].item() == pytest.approx(1.0)
    assert r[1].item() == pytest.approx(0.6 * math.exp(-1.0) + 0.4)
    assert r[2].item() == pytest.approx(0.6)
    # an invalid chunk scores 0 even when its (zero) rows happen to be close
    assert ctar(same, torch.tensor([False]), demo, grip).item() == 0.0
    # only the first `steps` steps count
    mixed = torch.tensor([[[0.0, 0.0, 1.0], [5.0, 0.0, 1.0]]])
    assert ctar(mixed, valid[:1], demo, grip, steps=1).item() == pytest.approx(1.0)
    assert ctar(mixed, valid[:1], demo, grip).item() < 0.9


def test_ctar_tolerance_gripper_for_joint_targets():
    grip = GripperSpec((1,), "tol", 0.1)
    demo = torch.tensor([[0.0, 0.50]])
    near, far = torch.tensor([[[0.0, 0.55]]]), torch.tensor([[[0.0, 0.8]]])
    v = torch.tensor([True])
    assert ctar(near, v, demo, grip, beta=0.5).item() == pytest.approx(1.0)
    assert ctar(far, v, demo, grip, beta=0.5).item() == pytest.approx(0.5)


def test_fcr_and_weights():
    assert fcr(torch.tensor([True, False])).tolist() == [1.0, 0.0]
    w = RewardWeights(qacr=1.0, ctar=0.0, fcr=0.5)
    total = w.combine({"qacr": torch.tensor([0.5, 1.0]), "fcr": torch.tensor([1.0, 0.0])})
    assert total.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="grm"):
        RewardWeights(grm=1.0).combine({"ctar": torch.ones(1), "fcr": torch.ones(1)})
    with pytest.raises(ValueError, match=">= 0"):
        RewardWeights(ctar=-1.0)


def _declared_gripper_dims(path: Path) -> tuple[int, ...]:
    """``gripper_dims`` as declared in a sims env module (read, not imported: robosuite's import
    alone takes minutes on a loaded 2-core machine)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "gripper_dims" for t in node.targets
        ):
            return tuple(ast.literal_eval(node.value))
    raise AssertionError(f"no gripper_dims in {path}")


def test_gripper_table_matches_the_sims_envs():
    root = Path(__file__).resolve().parents[2] / "sims"
    for family in ("metaworld", "robosuite", "so101"):
        declared = _declared_gripper_dims(root / family / "env.py")
        assert gripper_spec(f"{family}/x").dims == declared
    assert gripper_spec("unknown/x").dims == ()
