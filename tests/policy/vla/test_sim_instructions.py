"""Slow: a VLA trained on real Meta-World demos of two tasks that share one scene (reach and
pick-place: the same table, puck and goal) moves differently for different instructions given
the very same observation (offline MiniLM instruction embeddings, privileged state)."""

import numpy as np
import pytest
import torch

from robo.policy.vla import VLAConfig
from robo.policy.vla.train import VLATrainConfig, train_vla

torch.set_num_threads(1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


@pytest.mark.slow
def test_same_metaworld_scene_different_instruction_different_motion():
    from robo.cli.vla_envs import vla_demos, vla_env

    demos = vla_demos(["metaworld/reach", "metaworld/pick-place"], 8, 0, "privileged", ())
    cfg = VLAConfig(
        action_dim=4, state_dim=39, horizon=4, executed=2, bins=64, d_model=64, heads=4,
        layers=2,
    )  # fmt: skip
    policy, stats = train_vla(
        demos, cfg, VLATrainConfig(steps=800, batch_size=64, lr=2e-3, ema=0.0), progress=False,
        log=lambda m: None,
    )  # fmt: skip
    assert stats["loss_last"] < 0.5 * stats["loss_first"]
    env = vla_env("metaworld/pick-place", "privileged", ())
    # a scene where "towards the puck" and "towards the goal" point different ways
    for seed in range(1000, 1050):
        obs, _ = env.reset(seed=seed)
        s = obs["state"]
        to_puck, to_goal = _unit(s[4:7] - s[:3]), _unit(s[36:39] - s[:3])
        if float(to_puck @ to_goal) < 0.3:
            break
    env.close()
    gen = torch.Generator().manual_seed(0)
    moves = {}
    for task, text in [("reach", "reach the goal position"), ("pick", "pick up the puck and place it at the goal")]:  # fmt: skip
        chunks = policy.sample({**obs, "instruction": text}, n=16, generator=gen, temperature=0.5)
        moves[task] = _unit(chunks[:, :, :3].sum(1).mean(0).numpy())
    assert moves["reach"] @ to_goal > moves["reach"] @ to_puck
    assert moves["pick"] @ to_puck > moves["pick"] @ to_goal
