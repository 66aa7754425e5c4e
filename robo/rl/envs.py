"""Environments for RL: flat policy observations, vectorised envs, batched reward shaping.

The policy acts on a low-dimensional state; the reward model sees only camera images and the
instruction. :class:`PolicyObservation` (inside each worker) turns a robo observation into a
float32 vector and moves the reward model's view into ``info["reward_obs"]``;
:class:`VecShapedReward` (in the learner's process) shapes the rewards of all envs with one
batched Φ call, so a GPU reward model serves every worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecEnvWrapper

from robo.reward.shaping import Potential, RewardShaper, ShapingConfig, reward_view
from robo.rl.actions import DeltaJointAction


def policy_state(env: gym.Env, obs: dict[str, Any]) -> np.ndarray:
    """float32[D] state the policy observes.

    The robo observation's ``state`` is proprioception only, which does not say where the goal
    or the objects are. Learners on state need that, so this uses, in order: the env's
    ``policy_state()`` if it has one, Meta-World's ``raw_observation`` (hand, objects, goal),
    else ``state`` + the MuJoCo ``qpos``/``qvel`` the env exposes, else ``state`` alone; under
    :class:`robo.rl.actions.DeltaJointAction` the commanded joint target follows.
    """
    if isinstance(env, DeltaJointAction):  # the commanded target is part of the state
        return np.concatenate([policy_state(env.env, obs), env.command()]).astype(np.float32)
    base = env.unwrapped
    if hasattr(base, "policy_state"):
        return np.asarray(base.policy_state(), dtype=np.float32)
    if hasattr(base, "raw_observation"):
        return np.asarray(base.raw_observation, dtype=np.float32)
    data = getattr(base, "_data", None)
    if data is not None and hasattr(data, "qpos"):
        return np.concatenate([obs["state"], data.qpos, data.qvel]).astype(np.float32)
    return np.asarray(obs["state"], dtype=np.float32)


class PolicyObservation(gym.Wrapper):
    """Observation -> float32[D] policy state; ``info["reward_obs"]`` = images + instruction."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        obs, _ = env.reset(seed=0)
        dim = policy_state(env, obs).shape[0]
        self.observation_space = spaces.Box(-np.inf, np.inf, (dim,), dtype=np.float32)

    def _convert(self, obs: dict[str, Any], info: dict[str, Any]) -> np.ndarray:
        if obs.get("images"):
            info["reward_obs"] = reward_view(obs)
        return policy_state(self.env, obs)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        info = dict(info)
        return self._convert(obs, info), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        return self._convert(obs, info), float(reward), terminated, truncated, info


class _Thunk:
    """Picklable env constructor for subprocess workers."""

    def __init__(self, make_task: Callable[..., gym.Env], seed: int, overrides: dict[str, Any]):
        self.make_task, self.seed, self.overrides = make_task, seed, overrides

    def __call__(self) -> gym.Env:
        env = PolicyObservation(self.make_task(**self.overrides))
        env.reset(seed=self.seed)
        return env


def make_vec_env(
    make_task: Callable[..., gym.Env], n_envs: int, seed: int, vec: str = "auto", **overrides: Any
) -> VecEnv:
    """``n_envs`` envs ``make_task(**overrides)`` as an SB3 VecEnv of policy observations.

    ``make_task`` must be picklable for ``subproc`` (e.g. ``functools.partial(sims.make,
    "metaworld/reach")``). ``vec="auto"`` uses one process per env when rendering (the env is
    the bottleneck) and the in-process DummyVecEnv otherwise (a state-only MuJoCo step is
    ~2 ms, less than the IPC).
    """
    if vec not in ("auto", "dummy", "subproc"):
        raise ValueError(f"vec={vec!r} must be auto, dummy or subproc")
    fns = [_Thunk(make_task, seed * 1000 + i, overrides) for i in range(n_envs)]
    if vec == "auto":
        vec = "subproc" if overrides.get("render", True) and n_envs > 1 else "dummy"
    venv = SubprocVecEnv(fns, start_method="forkserver") if vec == "subproc" else DummyVecEnv(fns)
    venv.seed(seed * 1000)
    return venv


class VecShapedReward(VecEnvWrapper):
    """Shape the rewards of a VecEnv of :class:`PolicyObservation` envs in one batch.

    ``infos[i]["shaping"]`` gets ``phi``, ``phi_next``, ``shaped``, ``true`` and
    ``prev_correction`` (``delta`` only: to add to env i's previous stored reward). Finished
    episodes' hack indicators accumulate in :attr:`shaper` (``shaper.drain()``).
    """

    def __init__(self, venv: VecEnv, config: ShapingConfig, potential: Potential | None):
        super().__init__(venv)
        self.shaping = config
        self.shaper = RewardShaper(config, potential, num_envs=venv.num_envs)

    @property
    def gamma(self) -> float:
        return self.shaping.gamma

    def _views(self, infos: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.shaper.needs_images:
            return [{} for _ in infos]
        missing = [i for i, info in enumerate(infos) if "reward_obs" not in info]
        if missing:
            raise ValueError(
                "the reward model needs camera images but the env rendered none "
                "(hint: build the task with render=True)"
            )
        return [info["reward_obs"] for info in infos]

    def reset(self) -> np.ndarray:
        obs = self.venv.reset()
        infos = [dict(i) for i in self.venv.reset_infos]
        self.shaper.reset(range(self.num_envs), self._views(infos), infos)
        return obs

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, rewards, dones, infos = self.venv.step_wait()
        infos = list(infos)
        truncated = np.array([bool(i.get("TimeLimit.truncated", False)) for i in infos])
        terminated = np.asarray(dones, dtype=bool) & ~truncated
        shaped, correction, diag = self.shaper.step(
            rewards, terminated, truncated, self._views(infos), infos
        )
        for i, info in enumerate(infos):
            info.pop("reward_obs", None)
            info["shaping"] = {**diag[i], "prev_correction": float(correction[i])}
        done_ids = np.flatnonzero(dones)
        if len(done_ids):
            reset_infos = [dict(self.venv.reset_infos[i]) for i in done_ids]
            self.shaper.reset(done_ids, self._views(reset_infos), reset_infos)
        return obs, shaped.astype(np.float32), dones, infos
