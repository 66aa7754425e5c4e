"""Demo warm start (the Dopamine-RL recipe): expert demos into the replay buffer, and BC.

Demos are rolled out by the task's scripted expert through the same reward shaping as the
online run, so their stored rewards mean the same thing as the learner's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from robo.reward.shaping import Potential, RewardShaper, ShapingConfig, delta_rewards
from robo.rl.actions import DeltaJointAction
from robo.rl.envs import policy_state


@dataclass
class DemoBuffer:
    """Transitions of the demos, aligned: obs/next_obs float32[N, D], action float32[N, A],
    reward float32[N] (shaped), terminated/truncated bool[N]; ``successes`` of ``episodes``."""

    obs: np.ndarray
    next_obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    episodes: int
    successes: int

    def __len__(self) -> int:
        return int(self.obs.shape[0])


def collect_demos(
    env: Any,
    expert: Any,
    episodes: int,
    seed: int,
    config: ShapingConfig,
    potential: Potential | None,
) -> DemoBuffer:
    """Roll out ``expert`` on ``env`` (a robo TaskEnv) and shape the rewards like the learner.

    Seeds ``seed + 10_000 + k`` keep demo scenes apart from evaluation scenes.
    """
    shaper = RewardShaper(config, potential, num_envs=1)
    cols: dict[str, list[Any]] = {k: [] for k in ("o", "o2", "a", "r", "te", "tr")}
    successes = 0
    for k in range(episodes):
        obs, info = env.reset(seed=seed + 10_000 + k)
        expert.reset(env, obs, info)
        shaper.reset([0], [obs if shaper.needs_images else {}], [info])
        state = policy_state(env, obs)
        rewards, phis = [], [shaper.phi[0]]
        done = False
        while not done:
            action = np.asarray(expert.act(env, obs, info), dtype=np.float32)
            if isinstance(env, DeltaJointAction):  # the expert commands absolute targets
                action = env.to_policy_action(action)
            obs, r, terminated, truncated, info = env.step(action)
            shaped, _, diag = shaper.step(
                np.array([r]),
                np.array([terminated]),
                np.array([truncated]),
                [obs if shaper.needs_images else {}],
                [info],
            )
            nxt = policy_state(env, obs)
            cols["o"].append(state)
            cols["o2"].append(nxt)
            cols["a"].append(action)
            cols["te"].append(terminated)
            cols["tr"].append(truncated)
            rewards.append(float(shaped[0]))
            phis.append(diag[0]["phi_next"])
            state = nxt
            done = terminated or truncated
        successes += int(bool(info.get("success", False)))
        if config.scheme == "delta":
            true = np.array(rewards) - config.scale * np.array(phis[1:])
            rewards = list(delta_rewards(true, np.array(phis), config.scale))
        cols["r"] += rewards
    return DemoBuffer(
        obs=np.asarray(cols["o"], np.float32),
        next_obs=np.asarray(cols["o2"], np.float32),
        action=np.asarray(cols["a"], np.float32),
        reward=np.asarray(cols["r"], np.float32),
        terminated=np.asarray(cols["te"], bool),
        truncated=np.asarray(cols["tr"], bool),
        episodes=episodes,
        successes=successes,
    )


def add_to_replay_buffer(model: Any, demos: DemoBuffer) -> int:
    """Add the demo transitions to ``model.replay_buffer`` (n_envs at a time); returns count."""
    buf = model.replay_buffer
    n_envs = buf.n_envs
    n = (len(demos) // n_envs) * n_envs
    for k in range(0, n, n_envs):
        sl = slice(k, k + n_envs)
        infos = [{"TimeLimit.truncated": bool(t)} for t in demos.truncated[sl]]
        done = demos.terminated[sl] | demos.truncated[sl]
        buf.add(
            demos.obs[sl],
            demos.next_obs[sl],
            model.policy.scale_action(demos.action[sl]),
            demos.reward[sl],
            done,
            infos,
        )
    return n


def behaviour_clone(
    model: Any, demos: DemoBuffer, steps: int, batch_size: int = 256, lr: float = 1e-3
) -> float:
    """Fit the SAC actor's mean action to the demo actions (MSE in [-1, 1]); returns last loss."""
    if steps <= 0 or len(demos) == 0:
        return float("nan")
    actor = model.actor
    device = model.device
    obs = torch.as_tensor(demos.obs, device=device)
    act = torch.as_tensor(model.policy.scale_action(demos.action), device=device)
    opt = torch.optim.Adam(actor.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(0)
    loss = torch.zeros(())
    actor.train()
    for _ in range(steps):
        idx = torch.randint(0, len(demos), (min(batch_size, len(demos)),), generator=gen)
        pred = actor(obs[idx.to(device)], deterministic=True)
        loss = torch.nn.functional.mse_loss(pred, act[idx.to(device)])
        opt.zero_grad()
        loss.backward()
        opt.step()
    actor.eval()
    return float(loss.detach())


def warm_critic(model: Any, steps: int, batch_size: int = 256) -> None:
    """Train the critic on the demo buffer with SAC updates while keeping the actor fixed.

    Without this the first actor updates follow a random critic and undo the BC policy.
    """
    if steps <= 0:
        return
    actor_state = {k: v.clone() for k, v in model.actor.state_dict().items()}
    model.train(gradient_steps=steps, batch_size=batch_size)
    model.actor.load_state_dict(actor_state)
