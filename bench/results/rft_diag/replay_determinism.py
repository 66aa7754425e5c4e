"""Is ``env.reset(seed) + replay of the recorded actions`` an exact restore of a mid-episode
state on the VLA's Meta-World envs? (The honest state restore that chunk-level branching needs.)

    PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 python bench/results/rft_diag/replay_determinism.py \
        > bench/results/rft_diag/replay_determinism.log

Per task: 4 sampled rollouts of the d20 seed-0 VLA (lockstep collection), then each replayed
in a fresh env from the same reset seed; prints the largest |state difference| over all steps
and whether the success flags agree.
"""

from __future__ import annotations

import os

import numpy as np
import torch

TASKS = ["metaworld/reach", "metaworld/push", "metaworld/pick-place", "metaworld/drawer-open"]


def main() -> None:
    os.environ.setdefault("MUJOCO_GL", "egl")
    from robo.cli.vla_envs import load_token_policy, policy_env
    from robo.rft.filtered_bc import collect_lockstep

    torch.set_num_threads(1)
    torch.manual_seed(0)
    policy = load_token_policy("outputs/policies/vla-metaworld4-d20-s0", "cpu", "replay")
    print("task | episodes | steps | max |state diff| | success flags equal")
    for task in TASKS:
        envs = [policy_env(task, policy) for _ in range(4)]
        eps = collect_lockstep(envs, policy, [20_000 + i for i in range(4)])
        env = policy_env(task, policy)
        worst, same = 0.0, True
        for ep in eps:
            obs, _ = env.reset(seed=ep.seed)
            worst = max(worst, float(np.abs(obs["state"] - ep.state[0]).max()))
            for t in range(len(ep)):
                obs, _, _, _, info = env.step(ep.action[t])
                same = same and bool(info.get("success", False)) == bool(ep.success[t])
                if t + 1 < len(ep):
                    worst = max(worst, float(np.abs(obs["state"] - ep.state[t + 1]).max()))
        steps = sum(len(ep) for ep in eps)
        print(f"{task} | {len(eps)} | {steps} | {worst:.3g} | {same}", flush=True)
        for e in [*envs, env]:
            e.close()


if __name__ == "__main__":
    main()
