"""Vectorised task envs: ``make_vector_env("so101/reach", n=4, image_size=64)``.

``n > 1`` runs each env in its own process with gymnasium's :class:`AsyncVectorEnv`, started
with ``forkserver`` (default) or ``spawn`` so every worker creates its own MuJoCo/EGL context
after it starts (a forked GL context is not safe to use). ``n == 1`` (or ``asynchronous=False``)
uses :class:`SyncVectorEnv` in this process.

Observations are batched per key: ``obs["images"][cam]`` uint8[n, S, S, 3], ``obs["state"]``
float32[n, D], ``obs["instruction"]`` a tuple of n strings, ``obs["timestamp"]`` float64[n];
``info`` values are arrays of length n (gymnasium's vector info convention).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import gymnasium as gym
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv

from sims.registry import TaskSpec, get_spec, make_config

CONTEXTS = ("forkserver", "spawn")


def build_env(spec: TaskSpec, config: Any) -> gym.Env:
    """Worker side: build one env. The spec travels with the worker's arguments (pickled by
    multiprocessing itself) and is registered there, so tasks registered at run time (tests)
    exist in spawned workers too."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    from sims.registry import register

    register(spec)
    return spec.factory(config)


def make_vector_env(
    task: str,
    n: int,
    *,
    context: str = "forkserver",
    asynchronous: bool | None = None,
    autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
    **overrides: Any,
) -> gym.vector.VectorEnv:
    """``n`` copies of ``task`` behind one vector env.

    Args:
        task: registered task name.
        n: number of envs (>= 1).
        context: ``"forkserver"`` or ``"spawn"`` (never ``fork``: see module docstring).
        asynchronous: force async (True) or sync (False); default async when ``n > 1``.
        autoreset_mode: gymnasium autoreset mode (``NextStep``, ``SameStep``, ``Disabled``).
        overrides: task config overrides (``image_size=64``, ``shift="obstacle"``, ...).

    Raises:
        UnknownTaskError, BadOverrideError, UnknownShiftError: bad task or options.
        ValueError: bad ``n`` or ``context``.
    """
    if n < 1:
        raise ValueError(f"n={n} must be >= 1 envs")
    if context not in CONTEXTS:
        raise ValueError(f"context={context!r} must be one of {CONTEXTS} (fork breaks EGL)")
    spec = get_spec(task)
    config = make_config(spec.name, **overrides)
    fns = [functools.partial(build_env, spec, config) for _ in range(n)]
    if asynchronous is None:
        asynchronous = n > 1
    if not asynchronous:
        return SyncVectorEnv(fns, autoreset_mode=autoreset_mode)
    # Text observations (the instruction) cannot live in shared memory; pipes carry them.
    return AsyncVectorEnv(fns, context=context, shared_memory=False, autoreset_mode=autoreset_mode)
