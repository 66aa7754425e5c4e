"""The scripted expert's next actions from any state an env is in (DAgger-style labels).

:class:`ExpertLookahead` answers "what chunk would the expert execute from here?" for the
states a *policy* visits: it keeps one private shadow env per queried env (same task, reset
with the same seed, so goal and layout agree), copies the queried env's simulator state into
it (``copy_sim_state``, Meta-World), and lets the task's scripted expert act ``horizon`` steps
there. The queried env is never stepped or changed: the policy alone acts in it. The expert
reads privileged state, which is allowed for experts and labels (not for policies).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sims.experts.kinds import make_expert


class LookaheadUnsupportedError(TypeError):
    """The env cannot copy another env's simulator state (no ``copy_sim_state``)."""


class ExpertLookahead:
    """Expert chunk labels float32[horizon, A] at an env's current state.

    Args:
        make_env: builds a shadow env of the same task as the envs that will be queried
            (any wrappers; its ``unwrapped`` must have ``copy_sim_state``).
        horizon: control steps per chunk.
    """

    def __init__(self, make_env: Callable[[], Any], horizon: int):
        if horizon < 1:
            raise ValueError(f"horizon={horizon} must be >= 1")
        self.make_env, self.horizon = make_env, horizon
        self._shadows: dict[int, tuple[Any, Any, list[int | None]]] = {}

    def _shadow(self, env: Any) -> tuple[Any, Any, list[int | None]]:
        key = id(env)
        if key not in self._shadows:
            shadow = self.make_env()
            if not hasattr(shadow.unwrapped, "copy_sim_state"):
                raise LookaheadUnsupportedError(
                    f"{type(shadow.unwrapped).__name__} cannot copy simulator state; expert "
                    "lookahead labels need it (Meta-World envs have it)"
                )
            expert = make_expert(shadow, "expert", np.random.default_rng(0))
            self._shadows[key] = (shadow, expert, [None])
        return self._shadows[key]

    def __call__(self, env: Any) -> np.ndarray:
        """The expert's next ``horizon`` actions from ``env``'s current state: float32[H, A]."""
        base = env.unwrapped
        shadow, expert, seed = self._shadow(env)
        sbase = shadow.unwrapped
        if seed[0] != base._seed:  # same seed -> same goal, layout and scene shift
            obs, info = shadow.reset(seed=base._seed)
            expert.reset(shadow, obs, info)
            seed[0] = base._seed
        sbase.copy_sim_state(base)
        info = {"seed": base._seed}
        actions = []
        for _ in range(self.horizon):
            action = np.asarray(expert.act(shadow, None, info), dtype=np.float32)
            actions.append(action)
            sbase._apply_action(np.clip(action, sbase.action_space.low, sbase.action_space.high))
        expert.history.clear()
        return np.stack(actions).astype(np.float32)

    def close(self) -> None:
        for shadow, _, _ in self._shadows.values():
            shadow.close()
        self._shadows.clear()
