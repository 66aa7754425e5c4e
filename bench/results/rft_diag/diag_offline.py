"""Offline RFT diagnostic: one checkpoint, one task; offline reward / KL per update."""
# ruff: noqa: E402  (environment and torch threads are set before the robo imports)

import os
import sys
import time

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch

torch.set_num_threads(1)
import random

from robo.cli.cmd_rft import samples_from_episodes
from robo.cli.vla_envs import vla_env
from robo.data.collect import run_seed
from robo.policy import load_policy
from robo.rft import GRPOTrainer, RewardWeights, RFTConfig, expected_offline_reward

task, lr, steps = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
ckpt = sys.argv[4] if len(sys.argv) > 4 else "outputs/policies/vla-metaworld4-d20-s0"
torch.manual_seed(0)
policy = load_policy(ckpt)
env = vla_env(task, "privileged", ())
t0 = time.time()
eps = [run_seed(env, "expert", i, {}) for i in range(20)]
samples = samples_from_episodes(eps, policy.horizon)
print(f"{len(samples)} samples in {time.time() - t0:.0f}s", flush=True)
rng = random.Random(0)
held = rng.sample(samples, 64)
cfg = RFTConfig(lr=lr, obs_per_step=64, group_size=8, epochs=2, minibatch=128, kl_coef=0.02)
tr = GRPOTrainer(policy, cfg, RewardWeights(ctar=1.0, fcr=0.1))
r0 = expected_offline_reward(tr, held, n=8)
print(f"held reward before {r0:.4f}", flush=True)
for s in range(steps):
    t1 = time.time()
    batch = [rng.choice(samples) for _ in range(64)]
    rows, means = tr.offline_rows(batch)
    st = tr.update(rows)
    print(
        f"step {s} reward {means['reward']:.4f} ctar {means['ctar']:.4f} kl {st['kl']:.5f} clip {st['clip_frac']:.3f} ent {st['entropy']:.3f} {time.time() - t1:.1f}s",
        flush=True,
    )
r1 = expected_offline_reward(tr, held, n=8)
print(f"held reward after {r1:.4f} (before {r0:.4f})", flush=True)
