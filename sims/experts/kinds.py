"""Labelled suboptimal experts built from a task's scripted expert: ``make_expert(env, kind, rng)``.

Kinds (the ``kind`` label stored with each episode):

* ``expert``: the family's scripted expert, unchanged.
* ``noisy``: expert actions plus i.i.d. Gaussian noise, ``sigma = noise * (high - low) / 2``
  per action dimension (``noise`` is a fraction of the half-range; gripper dims untouched unless
  ``noise_gripper=True``), clipped to the action space.
* ``failure``: the family expert built with ``failure=True`` (misses the grasp, drops the object).
* ``rewind``: the expert runs until progress is made (``progress_gt`` above ``trigger_progress``,
  or, where the sim has no progress, at ``trigger_step``), then undoes its last ``rewind_steps``
  actions (default: ``rewind_fraction`` of the steps taken so far): for ``action_mode="delta"`` it plays the negated recent arm actions in reverse order;
  for ``"absolute"`` it replays earlier joint targets in reverse order; gripper dims replay the
  recorded gripper commands in reverse; then it holds still for ``settle_steps`` (default half
  the undo) so arms that lag their commands catch up. Then the closed-loop expert resumes (and
  may recover). The recorded rewind range covers the undo and the settling.
* ``paused``: the expert with ``n_pauses`` stretches of ``env.hold_action()`` (gripper commands
  held) inserted when progress crosses random thresholds (or at random steps without progress).
* ``random``: uniform random actions in ``scale`` x the action range around its middle, for
  the whole episode (the expert is not consulted): the states an exploring RL agent visits.
  It almost never succeeds, so the automatic labels make it a negative (Φ = 0), like a failure.
* ``mixed``: one of the above per episode (except ``random``), drawn with :data:`MIXED_WEIGHTS`.

Every expert returned has :meth:`LabelledExpert.metadata`: the kind, its parameters and the
``[start, end)`` step ranges of rewinds and pauses (step t = the action taken at frame t).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sims.experts.base import Expert

KINDS: tuple[str, ...] = ("expert", "noisy", "failure", "rewind", "paused", "random", "mixed")
MIXED_WEIGHTS: dict[str, float] = {
    "expert": 0.4,
    "noisy": 0.2,
    "failure": 0.1,
    "rewind": 0.15,
    "paused": 0.15,
}
"""Probability of each kind in a ``mixed`` collection (drawn per episode from its rng)."""

PARAMS: dict[str, dict[str, Any]] = {
    "expert": {},
    "failure": {},
    "noisy": {"noise": 0.1, "noise_gripper": False},
    "rewind": {
        "trigger_progress": None,  # None: uniform in [0.3, 0.6] per episode; or [lo, hi]
        "trigger_step": None,  # used when progress_gt is NaN; None: 15-40% of max steps
        "rewind_steps": None,  # None: rewind_fraction of the steps taken so far
        "rewind_fraction": None,  # None: uniform in [0.4, 0.9] per rewind; or [lo, hi]
        "settle_steps": None,  # holds after the undo (lagging arms catch up); None: half of it
        "n_rewinds": 1,
    },
    "paused": {
        "n_pauses": 2,
        "pause_steps": None,  # None: uniform integer in [5, 15] per pause
    },
    "random": {"scale": 1.0},  # fraction of the action half-range around its middle
}
"""Parameters each kind accepts and their defaults (``None`` = drawn per episode; where noted a
``[lo, hi]`` pair is drawn uniformly from that range instead of the default one)."""


def _span(value: Any, default: tuple[float, float], name: str) -> tuple[float, float] | None:
    """The ``(lo, hi)`` range to draw ``value`` from (``None``: ``default``); None for a number.

    Raises:
        ValueError: a range that is not ``[lo, hi]`` with ``0 <= lo <= hi``.
    """
    span = default if value is None else value
    if not isinstance(span, (list, tuple)):
        return None
    if len(span) != 2 or not 0.0 <= float(span[0]) <= float(span[1]):
        raise ValueError(
            f"{name}={list(span)} must be a number or [lo, hi] with 0 <= lo <= hi "
            "(hint: e.g. trigger_progress=[0.3,0.85])"
        )
    return float(span[0]), float(span[1])


class LabelledExpert(Expert):
    """A family expert wrapped to produce one labelled kind; records what it did."""

    kind: str = "expert"

    def __init__(self, base: Expert, rng: np.random.Generator, params: dict[str, Any]):
        self.base = base
        self.rng = rng
        self.params = dict(params)
        self.rewinds: list[list[int]] = []
        self.pauses: list[list[int]] = []
        self.t = 0
        self.history: list[np.ndarray] = []

    def reset(self, env: Any, obs: Any, info: dict[str, Any]) -> None:
        self.t = 0
        self.history = []
        self.rewinds, self.pauses = [], []
        self.base.reset(env, obs, info)

    def act(self, env: Any, obs: Any, info: dict[str, Any]) -> np.ndarray:
        action = _clip(env, self._act(env, obs, info))
        self.history.append(action)
        self.t += 1
        return action

    def _act(self, env: Any, obs: Any, info: dict[str, Any]) -> np.ndarray:
        return np.asarray(self.base.act(env, obs, info), dtype=np.float32)

    def subtask_names(self) -> tuple[str, ...]:
        return self.base.subtask_names()

    def metadata(self) -> dict[str, Any]:
        """``{"kind", "params", "rewinds", "pauses"}``; ranges are ``[start, end)`` steps."""
        return {
            "kind": self.kind,
            "params": _jsonable(self.params),
            "rewinds": [list(r) for r in self.rewinds],
            "pauses": [list(p) for p in self.pauses],
        }


class ScriptedExpert(LabelledExpert):
    """The family expert as is (``expert``) or built with ``failure=True`` (``failure``)."""

    def __init__(self, base: Expert, rng: np.random.Generator, params: dict[str, Any], kind: str):
        super().__init__(base, rng, params)
        self.kind = kind


class NoisyExpert(LabelledExpert):
    """Expert action + N(0, sigma^2), ``sigma = noise * (high - low) / 2`` per dim."""

    kind = "noisy"

    def _act(self, env: Any, obs: Any, info: dict[str, Any]) -> np.ndarray:
        action = super()._act(env, obs, info)
        space = env.action_space
        sigma = float(self.params["noise"]) * (space.high - space.low) / 2.0
        if not self.params["noise_gripper"]:
            sigma = sigma.copy()
            sigma[list(_gripper_dims(env))] = 0.0
        return action + self.rng.normal(size=action.shape) * sigma


class RewindExpert(LabelledExpert):
    """Undo recent progress ``n_rewinds`` times, then let the closed-loop expert resume."""

    kind = "rewind"

    def __init__(self, base: Expert, rng: np.random.Generator, params: dict[str, Any]):
        super().__init__(base, rng, params)
        # Parsed once here, so bad ranges fail before `robo collect` opens its dataset.
        self.trigger_span = _span(params["trigger_progress"], (0.3, 0.6), "trigger_progress")
        self.fraction_span = _span(params["rewind_fraction"], (0.4, 0.9), "rewind_fraction")

    def reset(self, env: Any, obs: Any, info: dict[str, Any]) -> None:
        super().reset(env, obs, info)
        p = self.params
        if self.trigger_span is not None:
            p["trigger_progress"] = round(float(self.rng.uniform(*self.trigger_span)), 3)
        if p["trigger_step"] is None:
            max_steps = _max_steps(env)
            p["trigger_step"] = int(
                self.rng.integers(int(0.15 * max_steps), int(0.4 * max_steps) + 1)
            )
        self.wanted_steps = p["rewind_steps"]
        self.start_hold = _clip(env, env.unwrapped.hold_action())
        self.plan: list[np.ndarray] = []
        self.armed_after = 0  # a new rewind needs fresh progress after the last one
        self.settled: list[int] = []

    def _triggered(self, info: dict[str, Any]) -> bool:
        if len(self.rewinds) >= int(self.params["n_rewinds"]) or self.t < max(2, self.armed_after):
            return False
        progress = float(info.get("progress_gt", np.nan))
        if np.isfinite(progress):
            return progress > float(self.params["trigger_progress"])
        return self.t >= int(self.params["trigger_step"])

    def _undo_plan(self, env: Any) -> list[np.ndarray]:
        k = self.wanted_steps
        if k is None:
            # A fraction of the steps taken, so a rewind undoes a similar share of the progress
            # whatever the control rate (Meta-World runs at 80 Hz, SO-101 at 20 Hz).
            frac = self.params["rewind_fraction"]
            if self.fraction_span is not None:
                frac = float(self.rng.uniform(*self.fraction_span))
            k = max(1, round(float(frac) * len(self.history)))
        k = int(min(k, len(self.history)))
        mode = env.unwrapped.action_mode
        grip = list(_gripper_dims(env))
        past = [self.start_hold, *self.history]  # past[i + 1] = action at step i

        plan = []
        for j in range(k):
            last = len(self.history) - 1 - j  # the step being undone
            earlier = past[last]  # the command in force before that step
            if mode == "absolute":
                plan.append(earlier.copy())
            else:
                undo = -self.history[last]
                undo[grip] = earlier[grip]
                plan.append(undo)
        if not plan:
            return plan
        settle = self.params["settle_steps"]
        settle = len(plan) // 2 if settle is None else int(settle)
        # Hold still after the undo: the last joint targets, or zero deltas with the gripper
        # command kept, so an arm that lags its commands (Meta-World's mocap) catches up.
        if mode == "absolute":
            hold = plan[-1].copy()
        else:
            hold = _clip(env, env.unwrapped.hold_action())
            hold[grip] = plan[-1][grip]
        self.settled.append(settle)
        return plan + [hold.copy() for _ in range(settle)]

    def _act(self, env: Any, obs: Any, info: dict[str, Any]) -> np.ndarray:
        if not self.plan and self._triggered(info):
            self.plan = self._undo_plan(env)
            if self.plan:
                self.rewinds.append([self.t, self.t + len(self.plan)])
                self.armed_after = self.t + 2 * len(self.plan)
        if self.plan:
            return self.plan.pop(0)
        return super()._act(env, obs, info)

    def metadata(self) -> dict[str, Any]:
        meta = super().metadata()
        if self.rewinds:
            meta["params"]["settle_steps"] = list(self.settled)
            meta["params"]["rewind_steps"] = [
                r[1] - r[0] - s for r, s in zip(self.rewinds, self.settled)
            ]
        return meta


class PausedExpert(LabelledExpert):
    """Insert stretches of ``hold_action()`` at random progress levels (or steps)."""

    kind = "paused"

    def reset(self, env: Any, obs: Any, info: dict[str, Any]) -> None:
        super().reset(env, obs, info)
        n = int(self.params["n_pauses"])
        self.by_progress = bool(np.isfinite(float(info.get("progress_gt", np.nan))))
        if self.by_progress:
            self.triggers = sorted(float(x) for x in self.rng.uniform(0.05, 0.85, n))
        else:
            hi = max(2, int(0.5 * _max_steps(env)))
            self.triggers = sorted(int(x) for x in self.rng.integers(1, hi, n))
        self.params["triggers"] = [round(x, 3) for x in self.triggers]
        lengths = self.params["pause_steps"]
        if lengths is None:
            lengths = [int(x) for x in self.rng.integers(5, 16, n)]
        elif isinstance(lengths, int):
            lengths = [lengths] * n
        self.lengths = list(lengths)
        self.params["pause_steps"] = list(self.lengths)
        self.remaining = 0

    def _act(self, env: Any, obs: Any, info: dict[str, Any]) -> np.ndarray:
        if self.remaining == 0 and len(self.pauses) < len(self.triggers):
            level = self.triggers[len(self.pauses)]
            if self.by_progress:
                crossed = float(info.get("progress_gt", np.nan)) >= level
            else:
                crossed = self.t >= level
            if crossed:
                self.remaining = int(self.lengths[len(self.pauses)])
                self.pauses.append([self.t, self.t + self.remaining])
        if self.remaining > 0:
            self.remaining -= 1
            hold = np.asarray(env.unwrapped.hold_action(), dtype=np.float32).copy()
            if self.history and env.unwrapped.action_mode == "delta":
                grip = list(_gripper_dims(env))
                hold[grip] = self.history[-1][grip]
            return hold
        return super()._act(env, obs, info)


class RandomActions(LabelledExpert):
    """Uniform random actions in ``middle ± scale * (high - low) / 2``, every dimension."""

    kind = "random"

    def _act(self, env: Any, obs: Any, info: dict[str, Any]) -> np.ndarray:
        space = env.action_space
        mid, half = (space.high + space.low) / 2.0, (space.high - space.low) / 2.0
        u = self.rng.uniform(-1.0, 1.0, size=np.shape(space.low))
        return (mid + float(self.params["scale"]) * half * u).astype(np.float32)


_CLASSES: dict[str, type[LabelledExpert]] = {
    "noisy": NoisyExpert,
    "rewind": RewindExpert,
    "paused": PausedExpert,
    "random": RandomActions,
}


def make_expert(env: Any, kind: str, rng: np.random.Generator, **params: Any) -> LabelledExpert:
    """Build a labelled expert of ``kind`` for ``env`` from its task's scripted expert.

    Args:
        env: a :class:`sims.base.TaskEnv` (or a wrapper of one) of a registered task.
        kind: one of :data:`KINDS`.
        rng: randomness of the suboptimality (noise, trigger levels, rewind lengths, the kind
            drawn by ``mixed``); seed it per episode for reproducible episodes.
        params: kind parameters (see :data:`PARAMS`); ``mixed`` passes each drawn kind the
            parameters it accepts.

    Raises:
        ValueError: unknown kind or parameter, or a task without a (failure-capable) expert.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown expert kind {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "mixed":
        _check_params("mixed", params, set().union(*(PARAMS[k] for k in PARAMS)))
        names = list(MIXED_WEIGHTS)
        weights = np.array([MIXED_WEIGHTS[k] for k in names])
        drawn = names[int(rng.choice(len(names), p=weights / weights.sum()))]
        expert = make_expert(
            env, drawn, rng, **{k: v for k, v in params.items() if k in PARAMS[drawn]}
        )
        expert.params["mixed"] = True
        return expert
    _check_params(kind, params, set(PARAMS[kind]))
    full = {**PARAMS[kind], **params}
    base = _family_expert(env, failure=kind == "failure")
    if kind in ("expert", "failure"):
        return ScriptedExpert(base, rng, full, kind)
    return _CLASSES[kind](base, rng, full)


def _family_expert(env: Any, failure: bool) -> Expert:
    from sims.registry import get_spec

    task = env.unwrapped.task_name
    spec = get_spec(task)
    if spec.expert is None:
        raise ValueError(f"task {task!r} has no scripted expert; pick a task that has one")
    if not failure:
        return spec.expert()
    try:
        return spec.expert(failure=True)
    except TypeError:
        raise ValueError(
            f"task {task!r}: its expert has no failure mode (failure=True); use another kind"
        ) from None


def _check_params(kind: str, params: dict[str, Any], valid: set[str]) -> None:
    unknown = sorted(set(params) - valid)
    if unknown:
        options = ", ".join(sorted(valid)) or "none"
        raise ValueError(f"kind {kind!r} has no parameter {unknown[0]!r}; valid: {options}")


def _gripper_dims(env: Any) -> tuple[int, ...]:
    return tuple(env.unwrapped.gripper_dims)


def _max_steps(env: Any) -> int:
    return int(env.unwrapped.config.max_episode_steps)


def _clip(env: Any, action: np.ndarray) -> np.ndarray:
    space = env.action_space
    out = np.asarray(action, dtype=np.float32).reshape(space.shape)
    return np.clip(out, space.low, space.high).astype(np.float32)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
