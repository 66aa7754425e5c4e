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
