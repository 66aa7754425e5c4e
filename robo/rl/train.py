"""One RL run: SAC on a task with a shaped reward, optional demo warm start, success curve.

SAC (stable-baselines3) rather than PPO: the tasks have continuous actions, our budget is tens
of thousands of env steps on a CPU where off-policy replay is several times more
sample-efficient, and a replay buffer is where Dopamine-RL puts its demos.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from robo.reward.shaping import Potential, ShapingConfig, summarize
from robo.rl.actions import ACTIONS, DeltaTask
from robo.rl.callbacks import BCRegulariser, DeltaCorrection, GammaCheck, SuccessCurve
from robo.rl.demos import add_to_replay_buffer, behaviour_clone, collect_demos, warm_critic
from robo.rl.envs import PolicyObservation, VecShapedReward, make_vec_env
from robo.rl.evaluate import evaluate_policy


@dataclass
class RLConfig:
    """Options of one ``robo rl`` job (all overridable on the command line).

    Attributes:
        task: registered task name.
        reward: reward scheme (see :data:`robo.reward.shaping.SCHEMES`).
        progress: Φ source for potential schemes: ``gt`` or a GRM checkpoint directory.
        steps: environment steps per seed (all envs together).
        gamma: discount, used by both the learner and the shaping (configured once).
        n_envs: parallel envs; vec: ``auto``, ``dummy`` or ``subproc``.
        demos: expert demos for the warm start (0 = from scratch).
        bc_steps: behaviour-cloning steps on the demos; critic_warmup: SAC critic updates on
            the demo buffer before online RL.
        bc_weight: weight of the BC regulariser on the actor during online RL (0 = off; see
            :class:`robo.rl.callbacks.BCRegulariser`); bc_decay: env steps over which it decays
            linearly to 0 (0 = constant).
        eval_every: evaluation period [env steps]; eval_episodes per evaluation;
            final_episodes for the final success.
        phi_start, phi_goal: frozen affine calibration of Φ (see
            :class:`robo.reward.shaping.AffineCalibration`; (0, 1) = off). ``robo rl
            calibrate=<n>`` measures them on n demo episodes before training.
        image_size, cameras: rendering for image-based Φ (ignored when Φ needs no images).
        max_episode_steps: episode length override (0 = task default).
        action: ``native`` (the task's own action) or ``delta`` (bounded joint-target deltas
            for absolute joint-target tasks, :class:`robo.rl.actions.DeltaJointAction`);
            max_delta: its largest target change per step [rad].
        device: ``cpu`` / ``cuda`` for the learner and the reward model.
        reward_device: the reward model's device when it should differ from the learner's
            (``""`` = ``device``): e.g. ``device=cpu reward_device=cuda``, because SAC's small
            nets run no faster on a GPU shared by many processes (session 9).
        threads: torch threads in the learner process.
        sac: extra SAC keyword arguments.
    """

    task: str = "metaworld/reach"
    reward: str = "pbrs"
    progress: str = "gt"
    steps: int = 3_000
    gamma: float = 0.99
    scale: float = 1.0
    eta: float = 1.0
    gate: str = "none"
    gate_threshold: float = 0.2
    hover_threshold: float = 0.8
    oracle_max: float = 0.0
    phi_start: float = 0.0
    phi_goal: float = 1.0
    n_envs: int = 2
    vec: str = "auto"
    demos: int = 5
    bc_steps: int = 500
    critic_warmup: int = 500
    bc_weight: float = 1.0
    bc_decay: int = 0
    eval_every: int = 500
    eval_episodes: int = 10
    final_episodes: int = 20
    image_size: int = 64
    cameras: tuple[str, ...] = ("front", "side", "wrist")
    max_episode_steps: int = 0
    action: str = "native"
    max_delta: float = 0.15
    device: str = "cpu"
    reward_device: str = ""
    threads: int = 1
    sac: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action={self.action!r} must be one of {', '.join(ACTIONS)}")
        for name in ("device", "reward_device"):
            dev = str(getattr(self, name) or "cpu")
            if dev != "cpu" and dev.split(":")[0] != "cuda":
                raise ValueError(f"{name}={dev!r} (hint: cpu, cuda or cuda:<index>)")

    @property
    def model_device(self) -> str:
        """Where the reward model runs: ``reward_device``, else ``device``."""
        return self.reward_device or self.device

    def shaping(self) -> ShapingConfig:
        oracle_max = self.oracle_max or (10.0 if self.task.startswith("metaworld/") else 1.0)
        return ShapingConfig(
            scheme=self.reward,
            gamma=self.gamma,
            scale=self.scale,
            eta=self.eta,
            gate=self.gate,
            gate_threshold=self.gate_threshold,
            oracle_max=oracle_max,
            hover_threshold=self.hover_threshold,
            phi_start=self.phi_start,
            phi_goal=self.phi_goal,
        )


def steps_to(curve: list[dict[str, Any]], threshold: float) -> int | None:
    """First evaluated env step at which success >= ``threshold`` (None if never)."""
    for row in curve:
        if row["eval_success_rate"] >= threshold:
            return int(row["step"])
    return None


def task_overrides(cfg: RLConfig, render: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"render": render}
    if render:
        out.update(image_size=cfg.image_size, cameras=tuple(cfg.cameras))
    if cfg.max_episode_steps > 0:
        out["max_episode_steps"] = cfg.max_episode_steps
    return out


def train_seed(
    cfg: RLConfig,
    seed: int,
    potential: Potential | None,
    make_task: Callable[..., gym.Env],
    make_expert: Callable[[], Any] | None = None,
    verbose: int = 1,
) -> dict[str, Any]:
    """Train one seed; returns its curve, final success and hack indicators.

    Args:
        make_task: ``make_task(**overrides)`` builds the task env (picklable, e.g.
            ``functools.partial(sims.make, cfg.task)``).
        make_expert: builds the task's scripted expert (needed when ``cfg.demos > 0``).
    """
    from stable_baselines3 import SAC
    from stable_baselines3.common.logger import configure

    torch.set_num_threads(cfg.threads)
    if cfg.action == "delta":
        make_task = DeltaTask(make_task, cfg.max_delta)
    shaping = cfg.shaping()
    render = bool(shaping.uses_potential and potential is not None and potential.needs_images)
    t0 = time.time()
    venv = VecShapedReward(
        make_vec_env(make_task, cfg.n_envs, seed, cfg.vec, **task_overrides(cfg, render)),
        shaping,
        potential,
    )
    eval_env = PolicyObservation(make_task(**task_overrides(cfg, False)))
    sac_kwargs = {k: v for k, v in dict(cfg.sac).items() if v is not None}
    sac_kwargs.setdefault("learning_starts", 0 if cfg.demos > 0 else 1000)
    # Big enough to keep every demo and online transition (a 1M default costs seconds to
    # allocate and is never filled at our budgets).
    sac_kwargs.setdefault("buffer_size", cfg.steps + 2 * cfg.n_envs + 1000 * max(cfg.demos, 1))
    model = SAC(
        "MlpPolicy", venv, gamma=cfg.gamma, seed=seed, device=cfg.device, verbose=0, **sac_kwargs
    )
    model.set_logger(configure(None, []))
    warm: dict[str, Any] = {"demos": 0}
    callbacks: list[Any] = [GammaCheck()]
    if cfg.demos > 0:
        if make_expert is None:
            raise ValueError(f"{cfg.task} has no scripted expert (hint: set demos=0)")
        demo_env = make_task(**task_overrides(cfg, render))
        demos = collect_demos(demo_env, make_expert(), cfg.demos, seed, shaping, potential)
        demo_env.close()
        add_to_replay_buffer(model, demos)
        bc_loss = behaviour_clone(model, demos, cfg.bc_steps)
        warm_critic(model, cfg.critic_warmup)
        if cfg.bc_weight > 0:
            callbacks.append(
                BCRegulariser(
                    demos.obs,
                    model.policy.scale_action(demos.action),
                    cfg.bc_weight,
                    cfg.bc_decay,
                    seed=seed,
                )
            )
        warm = {
            "demos": demos.episodes,
            "demo_successes": demos.successes,
            "demo_transitions": len(demos),
            "bc_loss": bc_loss,
        }

    def _eval(m: Any, episodes: int = cfg.eval_episodes) -> dict[str, float]:
        return evaluate_policy(
            m, eval_env, episodes, seed=10**6 * (seed + 1), hover_threshold=cfg.hover_threshold
        )

    curve_cb = SuccessCurve(_eval, cfg.eval_every, verbose=verbose)
    callbacks.append(curve_cb)
    if shaping.scheme == "delta":
        callbacks.append(DeltaCorrection())
    model.learn(total_timesteps=cfg.steps, callback=callbacks, reset_num_timesteps=True)
    if curve_cb.curve[-1]["step"] < model.num_timesteps:
        curve_cb._record()
    final = evaluate_policy(
        model,
        eval_env,
        cfg.final_episodes,
        seed=10**7 * (seed + 1),
        hover_threshold=cfg.hover_threshold,
    )
    train = summarize(curve_cb.train_episodes)
    venv.close()
    eval_env.close()
    return {
        "seed": seed,
        "curve": curve_cb.curve,
        "final_success": final["success_rate"],
        "final_eval": final,
        "steps_to_50": steps_to(curve_cb.curve, 0.5),
        "steps_to_80": steps_to(curve_cb.curve, 0.8),
        "hover_ratio": train["hover_ratio"],
        "hover_ratio_gt": train["hover_ratio_gt"],
        "return_gap": train["return_gap"],
        "steps_to_success": train["steps_to_success"],
        "train_success_rate": train["success_rate"],
        "train_episodes": train["episodes"],
        "warm_start": warm,
        "wall_s": round(time.time() - t0, 1),
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
    }


def summarize_runs(runs: list[dict[str, Any]], budget: int) -> dict[str, Any]:
    """Across seeds: mean final success, median steps to 50/80% (budget when never reached)."""

    def med(key: str) -> float:
        vals = [r[key] if r[key] is not None else budget for r in runs]
        return float(np.median(vals))

    def nanmean(key: str) -> float:  # nan, without numpy's warning, when no run has a value
        vals = np.array([r[key] for r in runs], dtype=np.float64)
        return float(np.mean(vals[~np.isnan(vals)])) if np.any(~np.isnan(vals)) else float("nan")

    return {
        "seeds": len(runs),
        "final_success_mean": float(np.mean([r["final_success"] for r in runs])),
        "steps_to_50_median": med("steps_to_50"),
        "steps_to_80_median": med("steps_to_80"),
        "reached_80": sum(r["steps_to_80"] is not None for r in runs),
        "hover_ratio_mean": nanmean("hover_ratio"),
        "hover_ratio_gt_mean": nanmean("hover_ratio_gt"),
        "return_gap_mean": nanmean("return_gap"),
    }


def config_dict(cfg: RLConfig) -> dict[str, Any]:
    d = asdict(cfg)
    d["cameras"] = list(cfg.cameras)
    return d
