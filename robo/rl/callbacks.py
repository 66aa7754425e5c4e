"""SB3 callbacks: the γ precondition check, delayed ``delta`` rewards, and the success curve."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from robo.reward.shaping import EpisodeStats, check_learner_gamma, summarize
from robo.rl.envs import VecShapedReward


def find_shaped(venv: VecEnv) -> VecShapedReward:
    """The :class:`VecShapedReward` inside a chain of VecEnv wrappers."""
    env: Any = venv
    while True:
        if isinstance(env, VecShapedReward):
            return env
        if not isinstance(env, VecEnvWrapper):
            raise ValueError("the training env has no VecShapedReward (hint: use make_train_env)")
        env = env.venv


class GammaCheck(BaseCallback):
    """Refuse to train when the learner's γ differs from the γ the shaping was built with."""

    def _on_training_start(self) -> None:
        check_learner_gamma(find_shaped(self.training_env).shaping, self.model.gamma)

    def _on_step(self) -> bool:
        return True


class DeltaCorrection(BaseCallback):
    """Apply ``delta``'s one-step-late correction to the previous stored transition.

    Runs after ``env.step`` and before the new transition is stored, so the previous one sits
    at ``replay_buffer.pos - 1``. (A gradient step between the two may have used the
    provisional reward of the newest transition once; with a large buffer that is rare.)
    """

    def _on_step(self) -> bool:
        buf = self.model.replay_buffer
        corr = np.array([i["shaping"]["prev_correction"] for i in self.locals["infos"]])
        if np.any(corr != 0):
            buf.rewards[(buf.pos - 1) % buf.buffer_size] += corr.astype(buf.rewards.dtype)
        return True


EvalFn = Callable[[Any], dict[str, float]]


class SuccessCurve(BaseCallback):
    """Every ``every`` env steps: evaluate the policy and log training-episode indicators.

    Args:
        evaluate: ``evaluate(model) -> {"success_rate", "hover_ratio_gt", ...}``.
        every: evaluation period [env steps, all envs together].
    """

    def __init__(self, evaluate: EvalFn, every: int, verbose: int = 0):
        super().__init__(verbose)
        self.evaluate = evaluate
        self.every = int(every)
        self.next_eval = 0
        self.curve: list[dict[str, float]] = []
        self.train_episodes: list[EpisodeStats] = []
        self._window: list[EpisodeStats] = []
        self._t0 = time.time()

    def _record(self) -> None:
        shaped = find_shaped(self.training_env)
        new = shaped.shaper.drain()
        self.train_episodes += new
        self._window += new
        train = summarize(self._window)
        self._window = []
        row = {
            "step": int(self.num_timesteps),
            "wall_s": round(time.time() - self._t0, 1),
            **{f"eval_{k}": v for k, v in self.evaluate(self.model).items()},
            **{f"train_{k}": v for k, v in train.items()},
        }
        self.curve.append(row)
        if self.verbose:
            print(
                f"  step {row['step']:>7d}  success {row['eval_success_rate']:.2f}  "
                f"hover_gt {row['eval_hover_ratio_gt']:.2f}  "
                f"train hover {row['train_hover_ratio']:.3f}  "
                f"({row['wall_s']:.0f}s)",
                flush=True,
            )

    def _on_training_start(self) -> None:
        self._t0 = time.time()
        self._record()
        self.next_eval = self.every

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.next_eval:
            self._record()
            self.next_eval += self.every
        return True


class BCRegulariser(BaseCallback):
    """Keep the SAC actor near the demos while the critic is still poor (TD3+BC-style).

    After every env step, ``gradient_steps`` extra actor updates minimise
    ``w(t)·MSE(μ(s_demo), a_demo)`` (μ the deterministic action in [-1, 1]) with the actor's
    own optimiser, where ``w(t) = weight·max(0, 1 − t/decay_steps)`` decays linearly to 0 over
    ``decay_steps`` env steps (0 = constant). SAC's own update is untouched: in expectation
    this is its actor loss plus the BC term, without copying SB3's training loop.

    Args:
        obs: float32[N, D] demo policy states; actions: float32[N, A] demo actions already
            scaled to [-1, 1] (``model.policy.scale_action``).
    """

    def __init__(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        weight: float,
        decay_steps: int = 0,
        batch_size: int = 256,
        seed: int = 0,
    ):
        super().__init__(0)
        if weight < 0 or decay_steps < 0:
            raise ValueError(f"bc_weight={weight} and bc_decay={decay_steps} must be >= 0")
        self._obs, self._act = obs, actions
        self.weight, self.decay_steps, self.batch_size = float(weight), int(decay_steps), batch_size
        self._gen = torch.Generator().manual_seed(seed)
        self.last_loss = float("nan")

    def current_weight(self, step: int) -> float:
        """w(t) at env step ``step``."""
        if self.decay_steps <= 0:
            return self.weight
        return self.weight * max(0.0, 1.0 - step / self.decay_steps)

    def _on_training_start(self) -> None:
        dev = self.model.device
        self._obs_t = torch.as_tensor(self._obs, device=dev)
        self._act_t = torch.as_tensor(self._act, device=dev)

    def _on_step(self) -> bool:
        w = self.current_weight(self.num_timesteps)
        if w <= 0 or self.num_timesteps < self.model.learning_starts:
            return True
        actor = self.model.actor
        n = len(self._obs_t)
        for _ in range(self.model.gradient_steps):
            idx = torch.randint(0, n, (min(self.batch_size, n),), generator=self._gen)
            idx = idx.to(self._obs_t.device)
            pred = actor(self._obs_t[idx], deterministic=True)
            loss = w * torch.nn.functional.mse_loss(pred, self._act_t[idx])
            actor.optimizer.zero_grad()
            loss.backward()
            actor.optimizer.step()
        self.last_loss = float(loss.detach()) / w
        return True
