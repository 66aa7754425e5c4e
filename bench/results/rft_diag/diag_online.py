"""Online RFT diagnostic (lockstep): one checkpoint, task(s); success-reward GRPO; eval before/after."""
# ruff: noqa: E402  (environment and torch threads are set before the robo imports)

import argparse
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch

torch.set_num_threads(1)
from robo.cli.vla_envs import vla_env
from robo.policy import load_policy
from robo.rft import GRPOTrainer, RewardWeights, RFTConfig
from robo.rft.evaluate import success_rate_lockstep
from robo.rft.online import online_rows

ap = argparse.ArgumentParser()
ap.add_argument("--tasks", default="metaworld/reach")
ap.add_argument("--ckpt", default="outputs/policies/vla-metaworld4-d20-s0")
ap.add_argument("--lr", type=float, default=1e-4)
ap.add_argument("--kl", type=float, default=0.02)
ap.add_argument("--updates", type=int, default=10)
ap.add_argument("--inits", type=int, default=4)
ap.add_argument("--group", type=int, default=8)
ap.add_argument("--envs", type=int, default=16)
ap.add_argument("--eval", type=int, default=50)
ap.add_argument("--out", default="/tmp/rft/online_ckpt")
a = ap.parse_args()
print(vars(a), flush=True)
tasks = a.tasks.split(",")
envs = {t: [vla_env(t, "privileged", ()) for _ in range(a.envs)] for t in tasks}
policy = load_policy(a.ckpt)


def ev(tag):
    for t in tasks:
        for temp in (1.0, 0.0):
            torch.manual_seed(123)
            t0 = time.time()
            r = success_rate_lockstep(
                envs[t], policy, list(range(1000, 1000 + a.eval)), temperature=temp
            )
            k = sum(r["per_seed"])
            print(
                f"{tag} {t} T={temp}: {r['success']:.3f} ({k}/{a.eval}) {time.time() - t0:.0f}s",
                flush=True,
            )


ev("before")
torch.manual_seed(0)
cfg = RFTConfig(lr=a.lr, kl_coef=a.kl, epochs=2, minibatch=128)
tr = GRPOTrainer(policy, cfg, RewardWeights(ctar=0, fcr=0.1, success=1.0))
seed = 10000
for u in range(a.updates):
    t1 = time.time()
    t = tasks[u % len(tasks)]
    seeds = list(range(seed, seed + a.inits))
    seed += a.inits
    rows, means = online_rows(envs[t], tr, seeds, a.group, tr.weights)
    t2 = time.time()
    st = tr.update(rows) if len(rows) else {}
    print(
        f"upd {u} {t.split('/')[-1]} succ {means['success']:.3f} flat {means['flat_groups']:.2f} rows {len(rows)} "
        f"kl {st.get('kl', 0):.4f} clip {st.get('clip_frac', 0):.3f} ent {st.get('entropy', 0):.3f} "
        f"roll {t2 - t1:.0f}s upd {time.time() - t2:.0f}s",
        flush=True,
    )
policy.save(a.out)
ev("after")
