"""`robo eval-policy`: closed-loop success of a (steered) chunk policy on a sim task.

Writes ``<out>/metrics.json`` (success with Wilson 95% CI, NFE per chunk, wall ms per chunk
p50/p99) and ``<out>/videos/*.mp4`` with the candidate and executed end-effector paths drawn
top-down next to the camera view. This module is also the glue between sims and
:mod:`robo.steer`: keypoints from privileged sim state and the chunk -> end-effector path map
of each task family.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

HELP = "evaluate a chunk policy (steer=none|guidance|smc|best_of_n) under a shift; metrics.json + videos"

AVOID = "100 * avoid_box(obstacle, obstacle_half, margin={margin}, on=body)"
STEP = (
    " + 100 * avoid_box(step, step_half, margin=0.02, on=body)"
    " + 100 * pass_over(step, step_half, clearance=0.02, margin=0.0, on=body)"
)
DEFAULT_COSTS: dict[str, str] = {
    # whole-arm obstacle clearance (link centre lines by FK) + no link below the table top;
    # reach's surface shift is a raised table section (``step``): keep the arm out of it and
    # over its top (pass_over: above() restricted to the step's footprint)
    # (margin 4 cm: link centre lines 2 cm from the block still let the links' shells touch it)
    # (pass_over on the block as well: SMC 0.8, but guidance 0.2 from 0.8 on the tuning seeds)
    "so101": AVOID.format(margin=0.04) + " + 100 * above(table, margin=0.01, on=body)" + STEP,
    # the Sawyer hand sits above its fingertips: the tip path plus points 4 and 8 cm above it;
    # pass_over lifts the path over the box rather than parking the hand in front of it
    # (7 cm around the hand points and over the box: at 3-4 cm, tip-only pass_over, the hand
    # scraped the box in 10/10 guided tuning episodes; seeds 2000-2009)
    "metaworld": AVOID.format(margin=0.07)
    + " + 100 * pass_over(obstacle, obstacle_half, clearance=0.07, margin=0.07, on=body)"
    + " + 100 * avoid_box(step, step_half, margin=0.05, on=body)"
    + " + 100 * pass_over(step, step_half, clearance=0.05, margin=0.05, on=body)",
}
"""Steering cost per task family when ``steer.cost`` is null; reach tasks add ``reach(goal)``."""


def default_cost(task: str) -> str:
    """The cost expression :data:`DEFAULT_COSTS` gives ``task`` (``family/name``)."""
    family, _, name = task.partition("/")
    if family not in DEFAULT_COSTS:
        raise ValueError(
            f"no default steering cost for {task!r} (hint: set steer.cost; families with one: "
            f"{', '.join(DEFAULT_COSTS)})"
        )
    return DEFAULT_COSTS[family] + (" + reach(goal)" if name.startswith("reach") else "")


def sim_path_map(env: Any) -> Any:
    """Chunk -> end-effector path map of the task's action space (FK for SO-101, deltas else)."""
    from robo.steer import DeltaPathMap, FKPathMap, KinematicChain

    u = env.unwrapped
    if u.task_name.startswith("so101/"):
        from sims.so101.assets import arm_xml

        return FKPathMap(KinematicChain.from_mjcf(arm_xml(), "tip"), range(5), range(5))
    if u.task_name.startswith("metaworld/"):
        return DeltaPathMap(
            pos_dims=(0, 1, 2), scale=0.01, state_pos_dims=(0, 1, 2),
            body_offsets=[[0, 0, 0], [0, 0, 0.04], [0, 0, 0.08]],
        )  # fmt: skip
    raise ValueError(f"no path map for {u.task_name!r} (supported: so101/*, metaworld/*)")


def goal_in_state(env: Any) -> Any:
    """Wrap ``env`` so ``obs["state"]`` ends with the privileged goal [m] (state policies)."""
    import gymnasium as gym

    from sims.keypoints import sim_scene

    class GoalInState(gym.ObservationWrapper):
        def observation(self, obs: dict) -> dict:
            goal = sim_scene(self.env)["goal"].astype(np.float32)
            return {**obs, "state": np.concatenate([obs["state"], goal])}

    return GoalInState(env)


SHIFT_GEOMS: dict[str, tuple[str, ...]] = {
    "so101": ("obstacle", "step"),
    "metaworld": ("robo_obstacle",),
}
"""Geoms a shift adds to a family's scene; touching one is a collision (``info["collision"]``)."""


def report_collisions(env: Any) -> Any:
    """Wrap ``env`` so ``info["collision"]`` says whether the robot touches a shift geom
    (:data:`SHIFT_GEOMS`: the obstacle, reach's surface step) on this step; objects the shift did
    not add (cube, distractors) are ignored. A scene without shift geoms reports False."""
    import gymnasium as gym
    import mujoco

    u = env.unwrapped
    family = u.task_name.split("/", 1)[0]
    model = u.model if family == "so101" else u.raw_env.model
    ids = [
        mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, name)
        for name in SHIFT_GEOMS.get(family, ())
    ]
    ids = {i for i in ids if i >= 0}
    skip = {
        i for i in range(model.ngeom)
        if model.body(model.geom_bodyid[i]).name.startswith(("cube", "distractor", "obj"))
    }  # fmt: skip

    class ReportCollisions(gym.Wrapper):
        def step(self, action: Any) -> Any:
            obs, reward, terminated, truncated, info = self.env.step(action)
            data = u.data if family == "so101" else u.raw_env.data
            hit = any(
                (c.geom1 in ids and c.geom2 not in skip) or (c.geom2 in ids and c.geom1 not in skip)
                for c in data.contact[: data.ncon]
            )
            return obs, reward, terminated, truncated, {**info, "collision": hit}

    return ReportCollisions(env)


def make_eval_env(task: str, shift: str | None, policy: Any, render: bool, **overrides: Any) -> Any:
    """The task env the policy was trained on (cameras, goal-in-state) under ``shift``, reporting
    collisions with the shift's geometry (:func:`report_collisions`)."""
    import sims

    cams = tuple(policy.config.cameras)
    env = sims.make(
        task, shift=shift, render=bool(cams) or render, cameras=cams or ("front",), **overrides
    )
    if shift is not None:
        env = report_collisions(env)
    meta = getattr(policy, "meta", {}) or {}
    if meta.get("state") in ("goal", "privileged"):  # VLA checkpoints record their state mode
        from robo.cli.vla_envs import with_state_mode

        return with_state_mode(env, meta["state"])
    if meta.get("goal_in_state"):
        env = goal_in_state(env)
    return env


def make_steer_factory(env: Any, steer_cfg: dict[str, Any], critic: Any = None) -> Any:
    """``make_steer(env, obs)`` for :func:`robo.eval.policy_eval.run_episode` (None if unsteered).

    ``critic``: an optional :class:`robo.steer.CriticCost` (a chunk critic distilled from the
    GRM) added to the task's cost expression; ``steer.cost: none`` steers by the critic alone."""
    from robo.steer import SumCost, build_steer, compile_cost
    from sims.keypoints import sim_scene

    if steer_cfg.get("method", "none") in (None, "none"):
        return None
    cost_expr = steer_cfg.get("cost")
    if isinstance(cost_expr, str) and cost_expr.strip().lower() == "none":  # not null: default
        if critic is None:
            raise ValueError("steer.cost=none leaves no cost (hint: add critic=<critic folder>)")
        steer = build_steer(steer_cfg, critic)
        return lambda env_, obs: steer
    u = env.unwrapped
    expr = steer_cfg.get("cost") or default_cost(u.task_name)
    gripper = u.gripper_dims[0] if u.gripper_dims else None
    cost = compile_cost(
        expr, sim_path_map(env), gripper_dim=gripper, keypoints=lambda obs: sim_scene(env),
        optional=("obstacle", "obstacle_half", "table", "step", "step_half"),  # shift-only
    )  # fmt: skip
    steer = build_steer(steer_cfg, cost if critic is None else SumCost(cost, critic))
    return lambda env_, obs: steer


def steer_seed(episode_seed: int, chunk: int) -> int:
    """Seed (uint32) of the steering RNG for chunk ``chunk`` (0, 1, ...) of the episode with seed
    ``episode_seed``: a hash of the pair (``numpy.random.SeedSequence``), so nearby pairs give
    unrelated streams."""
    return int(np.random.SeedSequence([int(episode_seed), int(chunk)]).generate_state(1)[0])


def seeded_steers(make_steer: Any, episode_seed: int) -> Any:
    """``make_steer`` for one episode whose steering objects draw their own randomness (SMC
    resampling / selection: any steer with a ``generator`` attribute) from a fresh
    ``torch.Generator`` seeded by :func:`steer_seed` (episode seed, chunk index) on every chunk,
    never from torch's global RNG: the same command gives the same cells whatever else consumed
    the global RNG before. (DDIM step noise comes from the process generator that
    :func:`evaluate` passes to ``policy.sample``.) None stays None."""
    import itertools

    import torch

    if make_steer is None:
        return None
    chunks = itertools.count()

    def make(env: Any, obs: dict) -> Any:
        steer = make_steer(env, obs)
        if steer is not None and hasattr(steer, "generator"):
            steer.generator = torch.Generator().manual_seed(steer_seed(episode_seed, next(chunks)))
        return steer

    return make


def evaluate(
    policy: Any, task: str, shift: str | None, steer_cfg: dict, episodes: int, seed: int,
    videos: int = 0, out: Path | None = None, render_video: bool = False, critic: Any = None,
    **overrides: Any,
) -> dict[str, Any]:  # fmt: skip
    """Evaluate and (if ``out``) write metrics.json and videos; returns the metrics dict.
    ``critic``: see :func:`make_steer_factory`.

    Reproducible: the same arguments give the same per-episode results. DDIM noise comes from
    one ``torch.Generator`` seeded with ``seed`` (shared by the episodes in order); steering
    randomness from a generator per episode and chunk (:func:`seeded_steers`)."""
    import torch

    from robo.eval.media import write_mp4
    from robo.eval.policy_eval import run_episode, summarize
    from sims.keypoints import sim_scene

    env = make_eval_env(task, shift, policy, render_video, **overrides)
    make_steer = make_steer_factory(env, steer_cfg, critic)
    path_map = sim_path_map(env)
    gen = torch.Generator().manual_seed(seed)

    def path_of(chunks: torch.Tensor, obs: dict) -> np.ndarray:
        with torch.no_grad():
            return path_map(chunks.float(), {"obs": obs}).numpy()

    def frame(e: Any) -> np.ndarray | None:
        return e.unwrapped._render_camera("front") if render_video else None

    logs = []
    for i in range(episodes):
        want_video = i < videos
        logs.append(
            run_episode(
                env,
                policy,
                seed + i,
                seeded_steers(make_steer, seed + i),
                generator=gen,
                frame=frame if want_video else None,
                path_of=path_of if want_video else None,
                scene=sim_scene,
            )  # fmt: skip
        )
    env.close()
    meta = {"task": task, "shift": shift or "none", "steer": steer_cfg}
    if critic is not None:
        meta["critic_weight"] = critic.weight
    metrics = summarize(logs, meta)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for log in logs:
            if log.frames:
                write_mp4(log.frames, out / "videos" / f"seed{log.seed}.mp4", fps=10)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def run(cfg: DictConfig) -> int:
    import torch

    from robo.policy import load_policy

    torch.set_num_threads(int(cfg.threads))
    if not cfg.ckpt:
        raise ValueError("ckpt=<dir> is required (hint: `robo train-policy out=<dir>` writes one)")
    policy = load_policy(cfg.ckpt)
    if hasattr(policy, "fast"):  # diffusion policies: fast sampling path (false: eager network)
        policy.fast = bool(cfg.get("fast", True))
    task = str(cfg.task or (getattr(policy, "meta", {}) or {}).get("task") or "")
    if not task:
        raise ValueError("task=<family/task> is required (the checkpoint does not name one)")
    shift = None if cfg.shift in (None, "none", "") else str(cfg.shift)
    steer_cfg = OmegaConf.to_container(cfg.steer, resolve=True) or {}
    out = Path(cfg.out) if cfg.out else Path("outputs") / "eval_policy" / task.replace("/", "-")
    overrides = {"max_episode_steps": int(cfg.max_episode_steps)} if cfg.max_episode_steps else {}
    critic = None
    if cfg.get("critic"):
        from robo.steer import ChunkCritic, CriticCost

        if steer_cfg.get("method", "none") in (None, "none"):
            raise ValueError(
                "critic= only acts through steering (hint: add steer=smc or steer=guidance)"
            )
        critic = CriticCost(ChunkCritic.load(cfg.critic), float(cfg.get("critic_weight", 1.0)))
    m = evaluate(
        policy, task, shift, steer_cfg, int(cfg.episodes), int(cfg.seed), int(cfg.videos), out,
        bool(cfg.render_video), critic=critic, **overrides,
    )  # fmt: skip
    if critic is not None:
        m["critic"] = str(cfg.critic)
        (out / "metrics.json").write_text(json.dumps(m, indent=2))
    print(
        f"{task} shift={m['shift']} steer={steer_cfg.get('method', 'none')}: success {m['success']:.2f} "
        f"[{m['ci_low']:.2f}, {m['ci_high']:.2f}] n={m['n']}, NFE/chunk {m['nfe_per_chunk']:.0f}, "
        f"ms/chunk p50 {m['ms_per_chunk']['p50']:.1f} p99 {m['ms_per_chunk']['p99']:.1f} -> {out / 'metrics.json'}"
    )
    return 0
