"""`robo tpo`: trajectory preference alignment of a token policy (GRAPE-style trajectory DPO).

This module is also the sim glue of :mod:`robo.tpo`: the per-step probe (end-effector position
[m] and collision contacts counted from MuJoCo's contact list) and the privileged keypoints the
cost DSL reads (shared with ``robo eval-policy``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

HELP = "align a token policy with trajectory DPO (policy= tasks=[..] objective=success|safety|efficiency rounds= out=)"

OBSTACLE_GEOMS = {"so101/": "obstacle", "metaworld/": "robo_obstacle"}


def _mj(u: Any) -> tuple[Any, Any] | None:
    """(MjModel, MjData) of a so101 / Meta-World env, else None."""
    if u.task_name.startswith("so101/"):
        return u.model, u.data
    if u.task_name.startswith("metaworld/"):
        raw = u.raw_env
        return raw.model, raw.data
    return None


def contact_count(model: Any, data: Any, geom_id: int) -> int:
    """Active contacts involving geom ``geom_id`` (MuJoCo skips static-static pairs, so the
    obstacle resting on the table never counts; the arm or a carried object touching it does)."""
    con = data.contact[: data.ncon]
    return int(np.count_nonzero((con.geom1 == geom_id) | (con.geom2 == geom_id)))


def make_probe(task: str) -> Any:
    """``probe(env) -> (ee float[3] [m] | None, collision contacts)`` for ``task``'s family.

    Collisions are contacts with the ``obstacle`` shift's obstacle (0 in nominal scenes).
    """
    prefix = next((p for p in OBSTACLE_GEOMS if task.startswith(p)), None)
    cache: dict[str, int | None] = {}

    def probe(env: Any) -> tuple[np.ndarray | None, int]:
        u = env.unwrapped
        if prefix is None:
            return None, 0
        ee = u.tip_pos() if prefix == "so101/" else np.asarray(u.raw_env.tcp_center)
        model, data = _mj(u)
        if "gid" not in cache:
            try:
                cache["gid"] = int(model.geom(OBSTACLE_GEOMS[prefix]).id)
            except KeyError:
                cache["gid"] = None
        gid = cache["gid"]
        if gid is None:
            return np.asarray(ee, np.float32), 0
        if prefix == "metaworld/" and u.obstacle_position is None:
            return np.asarray(ee, np.float32), 0  # the obstacle is parked below the floor
        return np.asarray(ee, np.float32), contact_count(model, data, gid)

    return probe


def scene_or_empty(env: Any) -> dict[str, np.ndarray]:
    """Privileged keypoints of so101 / Meta-World tasks (``robo eval-policy``'s), else {}."""
    from sims.keypoints import sim_scene

    try:
        return sim_scene(env)
    except ValueError:
        return {}


def env_factory(policy: Any, shift: str | None, views: tuple[str, ...], max_steps: int) -> Any:
    """``make_env(task)``: the env the policy was trained on (its ``meta["state"]`` mode and
    cameras, + the GRM's ``views`` rendered)."""
    from robo.cli.vla_envs import policy_env

    overrides: dict[str, Any] = {"max_episode_steps": max_steps} if max_steps else {}
    return lambda task: policy_env(task, policy, tuple(views), shift=shift, **overrides)


def run(cfg: DictConfig) -> int:
    import torch

    from robo.cli.vla_envs import load_token_policy, policy_tasks
    from robo.tpo import TPOConfig, make_objective, plot_rounds, run_tpo, write_metrics

    torch.set_num_threads(int(cfg.threads))
    if not cfg.policy:
        raise ValueError(
            "policy=<checkpoint dir> is required (hint: `robo train-policy policy=vla`)"
        )
    policy = load_token_policy(str(cfg.policy), str(cfg.device), "TPO")
    tasks = policy_tasks(cfg.tasks, policy)
    overrides = {
        "weights": OmegaConf.to_container(cfg.objective_weights) if cfg.objective_weights else None,
        "margin": cfg.objective_margin,
        "cost_expr": cfg.objective_cost,
    }
    objective = make_objective(str(cfg.objective), overrides)
    reward_model, views = None, ()
    if cfg.reward:
        from robo.reward.ensemble import load_ensemble, split_ckpts

        # Several checkpoints (reward=[a,b]) = an ensemble: the mean of the members' progress.
        for member in split_ckpts(cfg.reward):
            if not Path(member).is_dir():
                raise FileNotFoundError(
                    f"no reward checkpoint at {member} (hint: `robo train-reward out=<dir>`)"
                )
        reward_model = [m.eval() for m in load_ensemble(cfg.reward, device=str(cfg.device))]
        views = tuple(reward_model[0].config.views)
    elif "grm_progress" in objective.weights:
        raise ValueError("objective weighs grm_progress but reward=<GRM checkpoint> is not set")
    shift = None if cfg.shift in (None, "", "none") else str(cfg.shift)
    tcfg = TPOConfig(
        rounds=int(cfg.rounds),
        train_seeds=list(range(int(cfg.train_seed0), int(cfg.train_seed0) + int(cfg.train_seeds))),
        fresh_states=bool(cfg.get("fresh_states", False)),
        eval_seeds=list(range(int(cfg.eval_seed0), int(cfg.eval_seed0) + int(cfg.eval_seeds))),
        samples_per_init=int(cfg.samples_per_init),
        temperature=float(cfg.temperature),
        eval_temperature=float(cfg.eval_temperature),
        eval_samples=int(cfg.eval_samples),
        beta=float(cfg.beta),
        lr=float(cfg.lr),
        epochs=int(cfg.epochs),
        pair_batch=int(cfg.pair_batch),
        reference=str(cfg.reference),
        prefix_only=bool(cfg.prefix_only),
        length_normalize=bool(cfg.get("length_normalize", False)),
        max_pairs_per_group=int(cfg.max_pairs_per_group),
        sft_weight=float(cfg.sft_weight),
        replay_weight=float(cfg.replay_weight),
        label_smoothing=float(cfg.label_smoothing),
        grad_clip=float(cfg.grad_clip),
        max_steps=None,
        resample_invalid=int(cfg.resample_invalid),
        lanes=int(cfg.get("lanes", 1)),
        seed=int(cfg.seed),
    )
    out = Path(cfg.out) if cfg.out else Path("outputs") / "tpo" / str(cfg.objective)
    make_env = env_factory(policy, shift, views, int(cfg.max_episode_steps))
    probe_env = make_env(tasks[0])
    gripper = list(getattr(probe_env.unwrapped, "gripper_dims", ()) or [None])[0]
    probe_env.close()
    probes = {t: make_probe(t) for t in tasks}

    def probe(env: Any) -> tuple[np.ndarray | None, int]:
        return probes[env.unwrapped.task_name](env)

    meta = {
        "policy": str(cfg.policy),
        "tasks": tasks,
        "objective": {"name": objective.name, "weights": objective.weights,
                      "margin": objective.margin, "cost_expr": objective.cost_expr},
        "shift": shift,
        "config": OmegaConf.to_container(cfg, resolve=True),
    }  # fmt: skip
    history: list[dict] = []

    def on_round(h: dict) -> None:
        history.append(h)
        ev = h["eval"]["mean"]
        dpo = h.get("dpo", {})
        extra = (
            f", pairs {h['pairs']}, DPO loss {dpo.get('loss', float('nan')):.3f} "
            f"acc {dpo.get('accuracy', float('nan')):.2f}"
            if "pairs" in h
            else ""
        )
        print(
            f"round {h['round']}: success {ev['success']:.2f}, collisions {ev['collisions']:.2f}, "
            f"length {ev['length']:.1f}{extra} ({h['seconds']:.0f} s)",
            flush=True,
        )
        write_metrics(out / "metrics.json", history, meta)

    policy, history_all = run_tpo(
        policy, make_env, tasks, objective, tcfg, probe=probe, scene=scene_or_empty,
        gripper_dim=gripper, reward_model=reward_model, on_round=on_round,
    )  # fmt: skip
    policy.meta = {
        **(getattr(policy, "meta", {}) or {}),
        "tpo": {"objective": objective.name, "rounds": tcfg.rounds, "from": str(cfg.policy)},
    }
    policy.save(out / "policy")
    write_metrics(out / "metrics.json", history_all, meta)
    if cfg.plot:
        plot_rounds(out / "tpo.png", history_all, f"TPO ({objective.name}) on {', '.join(tasks)}")
    first, last = history_all[0]["eval"]["mean"], history_all[-1]["eval"]["mean"]
    print(
        f"success {first['success']:.2f} -> {last['success']:.2f}, collisions "
        f"{first['collisions']:.2f} -> {last['collisions']:.2f}; aligned policy -> {out / 'policy'}"
    )
    return 0
