"""Record labelled expert episodes of a simulated task into a dataset (``robo collect``).

Episode ``i`` of a collection uses ``seed + i`` for both the scene and the suboptimality, so a
re-run reproduces it and a resumed run skips the seeds already committed. With ``workers > 1``
episodes run in spawned processes (each builds its own env and EGL context) and are written in
seed order by the parent, the only process that touches the dataset.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robo.data.schema import SVTAV1_MIN_SIZE, DatasetSpec
from robo.data.writer import EpisodeWriter
from robo.types import Episode


@dataclass
class CollectResult:
    """What a collection did. Rates are over the episodes recorded in this run."""

    out: Path
    recorded: int
    skipped: int
    total: int
    seconds: float
    success_rate: float
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def episodes_per_min(self) -> float:
        return 60.0 * self.recorded / self.seconds if self.seconds > 0 else float("nan")


def rollout(env: Any, expert: Any, seed: int) -> Episode:
    """Run ``expert`` on ``env`` from ``reset(seed=seed)`` to termination or truncation.

    Returns an :class:`Episode` of T = steps + 1 frames: the observation at each step with the
    action taken there, then the final observation with ``env.hold_action()`` (not executed).
    ``meta`` holds the expert's :meth:`metadata` (kind, params, rewinds, pauses), the per-frame
    ``subtask`` (int64[T]), ``subtask_names``, ``terminated`` and ``shift``.
    """
    base = env.unwrapped
    obs, info = env.reset(seed=seed)
    expert.reset(env, obs, info)
    images: dict[str, list[np.ndarray]] = {name: [] for name in obs["images"]}
    states, actions, success, progress, subtask, stamps = [], [], [], [], [], []

    def record(o: dict[str, Any], inf: dict[str, Any]) -> None:
        for name, img in o["images"].items():
            images[name].append(img)
        states.append(o["state"])
        success.append(bool(inf["success"]))
        progress.append(float(inf.get("progress_gt", np.nan)))
        subtask.append(int(inf.get("subtask", -1)))
        stamps.append(float(o["timestamp"]))

    terminated = truncated = False
    while not (terminated or truncated):
        record(obs, info)
        action = np.asarray(expert.act(env, obs, info), dtype=np.float32)
        actions.append(action)
        obs, _, terminated, truncated, info = env.step(action)
    record(obs, info)
    hold = np.clip(base.hold_action(), env.action_space.low, env.action_space.high)
    actions.append(np.asarray(hold, dtype=np.float32))

    sub = np.asarray(subtask, dtype=np.int64)
    boundaries = [t for t in range(1, len(sub)) if sub[t] != sub[t - 1] and sub[t] >= 0]
    meta = expert.metadata() if hasattr(expert, "metadata") else {"kind": "expert"}
    _clip_ranges(meta, steps=len(actions) - 1)
    meta.update(
        subtask=sub,
        subtask_names=list(expert.subtask_names()),
        terminated=bool(terminated),
        shift=base.config.shift,
    )
    return Episode(
        task=base.task_name,
        instruction=obs["instruction"],
        kind=str(meta["kind"]),
        seed=int(seed),
        images={k: np.stack(v) for k, v in images.items()},
        state=np.stack(states).astype(np.float32),
        action=np.stack(actions).astype(np.float32),
        success=np.asarray(success, dtype=bool),
        progress_gt=np.asarray(progress, dtype=np.float32),
        timestamp=np.asarray(stamps, dtype=np.float64),
        subtask_boundaries=boundaries,
        meta=meta,
    )


def _clip_ranges(meta: dict[str, Any], steps: int) -> None:
    """Keep ``meta["rewinds"]`` / ``meta["pauses"]`` (``[start, end)`` steps) inside the
    ``steps`` executed steps: an expert records the undo it *planned*, and the episode can end
    inside it (the task finished while the arm backed off). The planned ranges stay in
    ``<key>_planned`` where clipping changed them."""
    for key in ("rewinds", "pauses"):
        if key not in meta:
            continue
        planned = [[int(a), int(b)] for a, b in meta[key]]
        kept = [[a, min(b, steps)] for a, b in planned if a < steps]
        if kept != planned:
            meta[f"{key}_planned"] = planned
        meta[key] = kept


def run_seed(env: Any, kind: str, seed: int, params: dict[str, Any]) -> Episode:
    """One labelled episode: the expert of ``kind`` with rng seeded by ``seed``."""
    from sims.experts.kinds import make_expert

    expert = make_expert(env, kind, np.random.default_rng(seed), **params)
    return rollout(env, expert, seed)


def dataset_spec(env: Any, video: bool = True, vcodec: str = "libsvtav1") -> DatasetSpec:
    """The :class:`DatasetSpec` of ``env``'s episodes (fps from its control period).

    ``libsvtav1`` cannot encode images below 32 px; smaller images use ``h264``.
    """
    base = env.unwrapped
    cfg = base.config
    if vcodec == "libsvtav1" and cfg.image_size < SVTAV1_MIN_SIZE:
        vcodec = "h264"
    obs_space = env.observation_space
    return DatasetSpec(
        fps=max(1, round(1.0 / base.control_dt)),
        cameras=tuple(cfg.cameras),
        image_size=int(cfg.image_size),
        state_dim=int(obs_space["state"].shape[0]),
        action_dim=int(env.action_space.shape[0]),
        video=video,
        vcodec=vcodec,
        robot_type=base.task_name.split("/", 1)[0],
        info={
            "task": base.task_name,
            "shift": cfg.shift,
            "control_dt": float(base.control_dt),
            "action_mode": base.action_mode,
            "gripper_dims": list(base.gripper_dims),
            "max_episode_steps": int(cfg.max_episode_steps),
        },
    )


# -- worker processes ------------------------------------------------------------------
_WORKER_ENV: Any = None


def exit_with_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    """Make this process exit once ``parent_pid`` is gone (polls every ``poll_s`` [s]).

    A pool worker blocks on its task queue forever when the parent dies without shutting the
    pool down (SIGTERM/SIGKILL): its own copy of the queue keeps the pipe open. A daemon thread
    watching the parent id ends such orphans; the dataset is the parent's alone, so nothing is
    lost.
    """
    import os
    import threading

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _init_worker(spec: Any, config: Any, parent_pid: int) -> None:
    import torch

    from sims.vector import build_env

    exit_with_parent(parent_pid)
    torch.set_num_threads(1)
    global _WORKER_ENV
    _WORKER_ENV = build_env(spec, config)


def _worker_episode(kind: str, seed: int, params: dict[str, Any]) -> Episode:
    return run_seed(_WORKER_ENV, kind, seed, params)


def collect(
    task: str,
    episodes: int,
    out: str | Path,
    kind: str = "expert",
    seed: int = 0,
    workers: int = 1,
    video: bool = True,
    vcodec: str = "libsvtav1",
    params: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_episode: Callable[[Episode], None] | None = None,
) -> CollectResult:
    """Record episodes ``seed .. seed + episodes - 1`` of ``task`` into the dataset at ``out``.

    Args:
        task: registered task name (``so101/reach``).
        episodes: number of seeds to cover (already committed ones are skipped).
        out: dataset folder (created or resumed).
        kind: expert kind (:data:`sims.experts.KINDS`).
        seed: first seed.
        workers: parallel env processes (1 = in this process).
        video: AV1 video (True) or PNG images in the parquet files (False).
        params: kind parameters (:data:`sims.experts.PARAMS`).
        overrides: task config overrides (``image_size``, ``shift``, ...).
        on_start: called with (episodes to record, episodes skipped) once the dataset is open.
        on_episode: called after each committed episode (progress bars).

    Raises:
        UnknownTaskError, BadOverrideError, UnknownShiftError, ValueError, DatasetError.
    """
    import os

    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering unless the caller chose
    import sims
    from sims.experts.kinds import KINDS, make_expert

    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    if episodes < 1 or workers < 1:
        raise ValueError(f"episodes={episodes} and workers={workers} must be >= 1")
    params = dict(params or {})
    spec = sims.get_spec(task)
    config = sims.make_config(spec.name, **(overrides or {}))
    if not config.render:
        raise ValueError("collect records images; drop render=false")
    env = spec.factory(config)
    make_expert(env, kind, np.random.default_rng(0), **params)  # bad params fail before writing
    writer = EpisodeWriter.open(out, dataset_spec(env, video=video, vcodec=vcodec))
    done = writer.done_seeds()
    todo = [s for s in range(seed, seed + episodes) if s not in done]
    kinds: dict[str, int] = {}
    successes = 0
    if on_start is not None:
        on_start(len(todo), episodes - len(todo))
    start = time.perf_counter()

    def commit(ep: Episode) -> None:
        nonlocal successes
        writer.write(ep)
        kinds[ep.kind] = kinds.get(ep.kind, 0) + 1
        successes += int(ep.success.any())
        if on_episode is not None:
            on_episode(ep)

    try:
        if workers == 1 or len(todo) <= 1:
            for s in todo:
                commit(run_seed(env, kind, s, params))
        else:
            _collect_parallel(spec, config, kind, params, todo, workers, commit)
    finally:
        env.close()
        writer.close()
    seconds = time.perf_counter() - start
    return CollectResult(
        out=writer.root,
        recorded=len(todo),
        skipped=episodes - len(todo),
        total=len(writer),
        seconds=seconds,
        success_rate=successes / len(todo) if todo else float("nan"),
        kinds=kinds,
    )


def _collect_parallel(
    spec: Any,
    config: Any,
    kind: str,
    params: dict[str, Any],
    seeds: list[int],
    workers: int,
    commit: Callable[[Episode], None],
) -> None:
    import multiprocessing as mp
    import os

    ctx = mp.get_context("spawn")
    pending: deque[Future] = deque()
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(spec, config, os.getpid()),
    ) as pool:
        queue = iter(seeds)
        for s in queue:
            pending.append(pool.submit(_worker_episode, kind, s, params))
            if len(pending) >= 2 * workers:
                break
        while pending:
            ep = pending.popleft().result()
            commit(ep)
            nxt = next(queue, None)
            if nxt is not None:
                pending.append(pool.submit(_worker_episode, kind, nxt, params))
