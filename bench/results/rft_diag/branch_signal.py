"""Is there chunk-level signal at the states of failed rollouts? Branch G continuations from a
mid-episode state of each failed rollout (restored by reset(seed) + action replay, checked
bit-exact) and count how many succeed. A group with 0 < k < G successes carries a chunk-level
GRPO signal; all-fail groups carry none.

    PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 python bench/results/rft_diag/branch_signal.py \
        [T_BRANCH] > bench/results/rft_diag/branch_signal[_t8].log

d20 seed-0 VLA, T = 1; 16 rollouts per task (seeds 30000+, never evaluated), up to 6 failed
ones per task, branch step t = T_BRANCH (default 40 = chunk 10), G = 8 continuations to the
episode's end.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

TASKS = ["metaworld/reach", "metaworld/push", "metaworld/pick-place"]
G, FAILED = 8, 6
T_BRANCH = int(sys.argv[1]) if len(sys.argv) > 1 else 40


def main() -> None:
    os.environ.setdefault("MUJOCO_GL", "egl")
    from robo.cli.vla_envs import load_token_policy, policy_env
    from robo.rft.filtered_bc import collect_lockstep

    torch.set_num_threads(1)
    torch.manual_seed(0)
    policy = load_token_policy("outputs/policies/vla-metaworld4-d20-s0", "cpu", "branch")
    print(f"task | failed rollout seed | successes of G={G} continuations from step {T_BRANCH}")
    for task in TASKS:
        envs = [policy_env(task, policy) for _ in range(G)]
        eps = collect_lockstep(envs, policy, [30_000 + i for i in range(16)])
        failed = [ep for ep in eps if not ep.success.any() and len(ep) > T_BRANCH][:FAILED]
        counts = []
        for ep in failed:
            obs, live, ok = [], [True] * G, [False] * G
            for env in envs:  # restore the state at step T_BRANCH
                o, _ = env.reset(seed=ep.seed)
                for a in ep.action[:T_BRANCH]:
                    o = env.step(a)[0]
                assert np.array_equal(o["state"], ep.state[T_BRANCH]), "replay is not exact"
                obs.append(o)
            while any(live):
                idx = [i for i in range(G) if live[i]]
                chunks = policy.sample_many([obs[i] for i in idx])
                for j, i in enumerate(idx):
                    for a in chunks[j, : policy.executed].numpy():
                        obs[i], _, term, trunc, info = envs[i].step(a)
                        ok[i] = ok[i] or bool(info.get("success", False))
                        if term or trunc or ok[i]:
                            live[i] = False
                            break
            counts.append(int(sum(ok)))
            print(f"{task} | {ep.seed} | {counts[-1]}", flush=True)
        mixed = sum(0 < c < G for c in counts)
        print(
            f"{task}: rollouts 16, failed {sum(not e.success.any() for e in eps)}; "
            f"groups {len(counts)}, with signal (0 < k < {G}) {mixed}, "
            f"continuation success {sum(counts)}/{G * len(counts)}",
            flush=True,
        )
        for env in envs:
            env.close()


if __name__ == "__main__":
    main()
