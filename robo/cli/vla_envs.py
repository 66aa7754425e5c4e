"""Env glue of the VLA (``robo train-policy policy=vla``, its bench, RFT and TPO rollouts).

A state-only VLA needs to see where the objects and the goal are; ``state`` says what
``obs["state"]`` holds: ``proprio`` (the robo observation as is), ``goal`` (+ the privileged
goal [m]) or ``privileged`` (:func:`robo.rl.envs.policy_state`: Meta-World's raw observation
of hand, objects and goal; SO-101's joints, tip, cube and target).
"""

from __future__ import annotations

from typing import Any

STATE_MODES = ("proprio", "goal", "privileged")


def vla_env(
    task: str, state: str, cameras: tuple[str, ...], render: bool = False, **overrides: Any
):
    """The env a VLA of ``state`` mode acts in: ``proprio`` (the robo observation as is),
    ``goal`` (+ the privileged goal [m], :func:`goal_in_state`) or ``privileged``
    (``obs["state"]`` = :func:`robo.rl.envs.policy_state`: hand/joints, objects and goal).
    ``overrides`` go to :func:`sims.make` (e.g. ``shift=``)."""
    import sims

    if state not in STATE_MODES:
        raise ValueError(f"policy.state={state!r}; use one of {', '.join(STATE_MODES)}")
    env = sims.make(
        task, render=bool(cameras) or render, cameras=cameras or ("front",), **overrides
    )
    return with_state_mode(env, state)


def with_state_mode(env: Any, state: str) -> Any:
    """Wrap ``env`` so ``obs["state"]`` holds what a policy of ``state`` mode was trained on."""
    import gymnasium as gym

    if state not in STATE_MODES:
        raise ValueError(f"policy.state={state!r}; use one of {', '.join(STATE_MODES)}")
    if state == "goal":
        from robo.cli.cmd_eval_policy import goal_in_state

        return goal_in_state(env)
    if state == "privileged":
        from robo.rl.envs import policy_state

        class PrivilegedState(gym.ObservationWrapper):
            def observation(self, obs: dict) -> dict:
                return {**obs, "state": policy_state(self.env, obs)}

        return PrivilegedState(env)
    return env


def state_mode_of(policy: Any) -> str:
    """What ``obs["state"]`` held when ``policy`` was trained (its checkpoint ``meta``)."""
    meta = getattr(policy, "meta", {}) or {}
    return meta.get("state") or ("goal" if meta.get("goal_in_state") else "proprio")


def policy_env(task: str, policy: Any, views: tuple[str, ...] = (), **overrides: Any):
    """The env ``policy`` was trained in: its state mode and cameras, plus ``views`` rendered
    (e.g. the GRM's); ``overrides`` go to :func:`sims.make` (``shift=``, ``max_episode_steps=``)."""
    cams = tuple(dict.fromkeys(tuple(getattr(policy.config, "cameras", ()) or ()) + views))
    return vla_env(task, state_mode_of(policy), cams, **overrides)


def load_token_policy(path: str, device: str, needed_by: str) -> Any:
    """Load a policy checkpoint and check it is a :class:`TokenChunkPolicy` (``needed_by``
    names the command in the error)."""
    from robo.policy import load_policy
    from robo.policy.token_base import TokenChunkPolicy

    policy = load_policy(path, device=device)
    if not isinstance(policy, TokenChunkPolicy):
        raise ValueError(
            f"{path} holds a {type(policy).__name__}, not a token policy; {needed_by} needs exact "
            "token log-probs (hint: train one with `robo train-policy policy=vla`)"
        )
    return policy


def policy_tasks(tasks: Any, policy: Any) -> list[str]:
    """``tasks=`` (list or comma string) or, when empty, the checkpoint's own tasks."""
    if tasks is None or tasks == "":
        meta = getattr(policy, "meta", {}) or {}
        tasks = meta.get("tasks") or ([meta["task"]] if meta.get("task") else None)
    if not tasks:
        raise ValueError("tasks=[...] is required (the checkpoint names no tasks)")
    if isinstance(tasks, str):
        tasks = [t.strip() for t in tasks.split(",") if t.strip()]
    return [str(t) for t in tasks]


def vla_demos(
    tasks: list[str],
    episodes: int,
    seed: int,
    state: str,
    cameras: tuple[str, ...],
    **overrides: Any,
):
    """``episodes`` expert episodes per task, in memory, with the VLA's state (list of Episode)."""
    from tqdm import tqdm

    from robo.data.collect import run_seed

    demos = []
    for task in tasks:
        env = vla_env(task, state, cameras, **overrides)
        for i in tqdm(range(episodes), desc=f"demos {task}", mininterval=5):
            demos.append(run_seed(env, "expert", seed + i, {}))
        env.close()
    return demos
