"""Token NLL of imitation vs fine-tuned VLA checkpoints on expert demos never trained on.

    PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 python bench/results/rft_diag/heldout_nll.py \
        > bench/results/rft_diag/heldout_nll.log

8 expert episodes per task from expert seeds 500-507 (the checkpoints' demos are seeds 0-19),
each task's own instruction (no paraphrase); mean NLL [nats/token] over every window, all 32
tokens and the executed prefix (first 16 tokens). Lower = closer to the expert off its own
training set.
"""

from __future__ import annotations

import os

import torch

CKPTS = {
    "imitation s{s}": "outputs/policies/vla-metaworld4-d20-s{s}",
    "filtered BC s{s}": "outputs/rft/vla-metaworld4-d20-fbc-s{s}",
    "demos-only BC s{s}": "outputs/rft/vla-metaworld4-d20-demobc-s{s}",
}
TASKS = ["metaworld/reach", "metaworld/push", "metaworld/pick-place", "metaworld/drawer-open"]


def main() -> None:
    os.environ.setdefault("MUJOCO_GL", "egl")
    from robo.cli.vla_envs import load_token_policy, policy_env
    from robo.data.collect import run_seed
    from robo.policy.vla.train import TaskWindows

    torch.set_num_threads(1)
    pols = {}
    for s in (0, 1, 2):
        for name, path in CKPTS.items():
            if os.path.isdir(path.format(s=s)):
                pols[name.format(s=s)] = load_token_policy(path.format(s=s), "cpu", "nll")
    first = next(iter(pols.values()))
    print("task | checkpoint | episodes | NLL all tokens | NLL executed prefix")
    for task in TASKS:
        env = policy_env(task, first)
        eps = [e for e in (run_seed(env, "expert", 500 + i, {}) for i in range(8))]
        eps = [e for e in eps if e.success.any()]
        for name, p in pols.items():
            data = TaskWindows(eps, p, paraphrase=False)
            g = torch.Generator().manual_seed(0)
            b = data.batch(torch.arange(len(data)), 0, g)
            with torch.no_grad():
                lp = p.token_log_probs_from_batch(b, p.tokenizer.encode(b["actions"]))
            m = p.tokenizer.prefix_mask(p.executed)
            print(
                f"{task} | {name} | {len(eps)} | {float(-lp.mean()):.3f} | "
                f"{float(-lp[:, m].mean()):.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
