"""Rollout collection for trajectory preference alignment.

For each (task, initial-state seed) the stochastic token policy is rolled out several times;
every chunk records what the DPO loss needs later (the observation it was sampled from, the
sampled tokens, how many of its control steps actually ran) and every control step records
what scoring needs (success, ``progress_gt``, the executed action, the end-effector position
[m] and the number of collision contacts, from a ``probe`` callback the caller supplies).

This module knows nothing about MuJoCo: the simulator-specific parts (end-effector position,
contact counting) come in through :class:`Probe` (see ``robo.cli.cmd_tpo`` for the sim glue).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from robo.policy.token_base import TokenChunkPolicy
from robo.types import Observation


class Probe(Protocol):
    """Privileged per-step measurements of a sim env (evaluation labels, never policy input)."""

    def __call__(self, env: Any) -> tuple[np.ndarray | None, int]:
        """(end-effector position float[3] [m] or None, number of collision contacts now)."""
        ...


def no_probe(env: Any) -> tuple[np.ndarray | None, int]:
    """A probe for envs that expose neither an end effector nor contacts."""
    return None, 0


@dataclass
class ChunkRecord:
    """One sampled chunk: ``tokens`` int64[L] sampled from ``obs``; ``executed`` control steps
    of it actually ran (the policy's executed prefix, fewer when the episode ended inside it);
    ``valid`` is False when the tokens did not decode (the robot then held still)."""

    obs: Observation
    tokens: torch.Tensor
    executed: int
    valid: bool = True


@dataclass
class Trajectory:
    """One rollout. Per-step arrays have length T (control steps run).

    Attributes:
        task: task name; ``init_seed``: the reset seed (decides the initial state);
        sample: index of this rollout among those of the same (task, init_seed).
        chunks: the sampled chunks in order.
        actions: float32[T, A] executed actions (action units).
        success: bool[T] per-step success; ``progress_gt`` float32[T] (NaN if unknown).
        ee_path: float32[T + 1, 3] end-effector positions [m] from reset on (None if the env
            has none).
        contacts: int64[T] collision contacts after each step (0 where not measured).
        frames: per chunk start + the final observation, camera -> uint8[H, W, 3] (for the
            GRM; empty when the env renders nothing).
        control_dt: seconds per control step.
        scene: privileged keypoints at reset (``goal``, ``obstacle``, ... [m]) for cost terms.
        invalid: sampled chunks that did not decode (resampled or held).
        scores: filled by :mod:`robo.tpo.scoring` (feature name -> value).
    """

    task: str
    init_seed: int
    sample: int
    instruction: str
    chunks: list[ChunkRecord]
    actions: np.ndarray
    success: np.ndarray
    progress_gt: np.ndarray
    ee_path: np.ndarray | None
    contacts: np.ndarray
    frames: list[dict[str, np.ndarray]] = field(default_factory=list)
    control_dt: float = 0.05
    scene: dict[str, np.ndarray] = field(default_factory=dict)
    invalid: int = 0
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def group(self) -> tuple[str, int]:
        """Pairs are only formed inside a group: same task and same initial state."""
        return (self.task, self.init_seed)

    @property
    def succeeded(self) -> bool:
        return bool(self.success.any())

    @property
    def length(self) -> int:
        """Steps to the first success (inclusive), or all steps run when it never succeeded."""
        hits = np.flatnonzero(self.success)
        return int(hits[0] + 1) if hits.size else int(len(self.success))

    @property
    def collisions(self) -> int:
        """Control steps with at least one collision contact."""
        return int((self.contacts > 0).sum())


def _obs_copy(obs: Observation) -> Observation:
    return {
        "images": {k: np.array(v, copy=True) for k, v in obs.get("images", {}).items()},
        "state": np.array(obs["state"], dtype=np.float32, copy=True),
        "instruction": str(obs.get("instruction", "")),
        "timestamp": np.array(obs.get("timestamp", 0.0), dtype=np.float64),
    }


@torch.no_grad()
def rollout(
    env: Any,
    policy: TokenChunkPolicy,
    task: str,
    init_seed: int,
    sample: int = 0,
    temperature: float = 1.0,
    probe: Probe = no_probe,
    max_steps: int | None = None,
    keep_frames: bool = False,
    scene: Callable[[Any], dict[str, np.ndarray]] | None = None,
    resample_invalid: int = 0,
) -> Trajectory:
    """Run one episode of ``policy`` on ``env`` from ``env.reset(seed=init_seed)``.

    Sampling randomness comes from torch's global generator (seed it for reproducibility).
    A chunk whose tokens do not decode is resampled up to ``resample_invalid`` times (like
    the VLA's own ``sample``; the kept tokens are what the trajectory's log-prob uses); one
    still invalid is recorded and the robot holds still for the executed prefix
    (``env.unwrapped.hold_action()`` if it has one, else zeros). ``Trajectory.invalid``
    counts every invalid draw. One episode of :func:`rollout_lockstep` (the same loop).
    """
    return rollout_lockstep(
        [env], policy, task, [(int(init_seed), int(sample))], temperature, probe, max_steps,
        keep_frames, scene, resample_invalid,
    )[0]  # fmt: skip


def _sample_rows(
    policy: TokenChunkPolicy, obs: list[Observation], temperature: float
) -> torch.Tensor:
    """One token sequence per observation, int64[len(obs), L]: one batched call where the
    policy has ``sample_tokens_many`` (the VLA), else one ``sample_tokens`` call per row."""
    many = getattr(policy, "sample_tokens_many", None)
    if many is not None:
        return many(obs, temperature=temperature).detach().cpu()
    return torch.cat(
        [policy.sample_tokens(o, n=1, temperature=temperature).detach().cpu() for o in obs]
    )


@torch.no_grad()
def rollout_lockstep(
    envs: Sequence[Any],
    policy: TokenChunkPolicy,
    task: str,
    jobs: Sequence[tuple[int, int]],
    temperature: float = 1.0,
    probe: Probe = no_probe,
    max_steps: int | None = None,
    keep_frames: bool = False,
    scene: Callable[[Any], dict[str, np.ndarray]] | None = None,
    resample_invalid: int = 0,
) -> list[Trajectory]:
    """The episodes ``jobs`` = [(init_seed, sample), ...] of ``task``, one per env, in lockstep.

    Each episode as described in :func:`rollout` (reset seed, executed prefix, resampling of
    chunks that do not decode, holding still when they never do, episode end at
    termination/truncation or ``max_steps``); every chunk step samples the running episodes'
    chunks in one batched policy call. Needs ``len(envs) >= len(jobs)``; env i runs job i.
    """
    if len(jobs) > len(envs):
        raise ValueError(f"{len(jobs)} episodes need as many envs, got {len(envs)}")
    tok = policy.tokenizer
    limit = max_steps if max_steps is not None else 10**9
    n = len(jobs)
    obs, live, keypoints, ee_paths = [], [], [], []
    recs: list[dict[str, Any]] = []
    for env, (init_seed, _) in zip(envs, jobs):
        o, _ = env.reset(seed=int(init_seed))
        obs.append(o)
        live.append(True)
        keypoints.append(dict(scene(env)) if scene is not None else {})
        ee, _ = probe(env)
        ee_paths.append([ee] if ee is not None else None)
        recs.append(
            {"chunks": [], "acts": [], "succ": [], "prog": [], "cons": [], "frames": [],
             "steps": 0, "invalid": 0}
        )  # fmt: skip
    while any(live):
        idx = [i for i in range(n) if live[i]]
        records = [_obs_copy(obs[i]) for i in idx]
        tokens = _sample_rows(policy, [obs[i] for i in idx], temperature)
        chunk, valid = tok.decode(tokens)
        for _ in range(max(0, int(resample_invalid))):
            bad = (~valid).nonzero().flatten().tolist()
            if not bad:
                break
            for j in bad:
                recs[idx[j]]["invalid"] += 1
            redraw = _sample_rows(policy, [obs[idx[j]] for j in bad], temperature)
            tokens[bad] = redraw
            chunk[bad], valid[bad] = tok.decode(redraw)
        for j in (~valid).nonzero().flatten().tolist():
            recs[idx[j]]["invalid"] += 1
        plans = chunk.detach().cpu().numpy().astype(np.float32)
        for j, i in enumerate(idx):
            env, r = envs[i], recs[i]
            if keep_frames:
                r["frames"].append(records[j]["images"])
            ran = 0
            for t in range(int(policy.executed)):
                if bool(valid[j]):
                    action = plans[j, t]
                else:
                    hold = getattr(env.unwrapped, "hold_action", None)
                    action = hold() if hold else np.zeros(plans.shape[-1], np.float32)
                obs[i], _, terminated, truncated, info = env.step(action)
                ran += 1
                r["steps"] += 1
                r["acts"].append(np.asarray(action, np.float32))
                r["succ"].append(bool(info.get("success", False)))
                r["prog"].append(float(info.get("progress_gt", np.nan)))
                ee, n_contacts = probe(env)
                r["cons"].append(int(n_contacts))
                if ee_paths[i] is not None and ee is not None:
                    ee_paths[i].append(ee)
                if terminated or truncated or r["steps"] >= limit:
                    live[i] = False
                    break
            r["chunks"].append(
                ChunkRecord(obs=records[j], tokens=tokens[j], executed=ran, valid=bool(valid[j]))
            )
    adim = int(policy.action_dim)
    out = []
    for i, (init_seed, sample) in enumerate(jobs):
        r = recs[i]
        if keep_frames:
            r["frames"].append(_obs_copy(obs[i])["images"])
        path = ee_paths[i]
        out.append(
            Trajectory(
                task=task,
                init_seed=int(init_seed),
                sample=int(sample),
                instruction=str(obs[i].get("instruction", "")),
                chunks=r["chunks"],
                actions=np.asarray(r["acts"], np.float32).reshape(-1, adim),
                success=np.asarray(r["succ"], bool),
                progress_gt=np.asarray(r["prog"], np.float32),
                ee_path=np.asarray(path, np.float32) if path is not None else None,
                contacts=np.asarray(r["cons"], np.int64),
                frames=r["frames"],
                control_dt=float(getattr(envs[i].unwrapped, "control_dt", 0.05)),
                scene=keypoints[i],
                invalid=r["invalid"],
            )
        )
    return out


def collect(
    make_env: Callable[[str], Any],
    policy: TokenChunkPolicy,
    tasks: Sequence[str],
    init_seeds: Sequence[int],
    samples_per_init: int,
    temperature: float = 1.0,
    probe: Probe = no_probe,
    seed: int = 0,
    keep_frames: bool = False,
    max_steps: int | None = None,
    progress: bool = True,
    scene: Callable[[Any], dict[str, np.ndarray]] | None = None,
    resample_invalid: int = 0,
    lanes: int = 1,
) -> list[Trajectory]:
    """``samples_per_init`` rollouts per (task, initial seed); envs come from ``make_env(task)``.

    Rollout k of seed s on task i draws its sampling noise from ``torch.manual_seed`` of a
    number derived from (``seed``, i, s, k), so a collection is reproducible. With
    ``lanes`` > 1, ``lanes`` envs per task run that many rollouts at once in lockstep
    (:func:`rollout_lockstep`: one batched policy call per chunk step); each batch of rollouts
    then draws from one seed derived from (``seed``, i, first rollout of the batch), so the
    collection is reproducible for a given ``lanes`` but differs from ``lanes=1``.
    """
    if lanes > 1:
        return _collect_lockstep(
            make_env, policy, tasks, init_seeds, samples_per_init, temperature, probe, seed,
            keep_frames, max_steps, progress, scene, resample_invalid, lanes,
        )  # fmt: skip
    from tqdm import tqdm

    was_training = getattr(policy, "training", False)
    if hasattr(policy, "eval"):
        policy.eval()
    out: list[Trajectory] = []
    total = len(tasks) * len(init_seeds) * samples_per_init
    bar = tqdm(total=total, desc="rollouts", disable=not progress, leave=False)
    try:
        for ti, task in enumerate(tasks):
            env = make_env(task)
            try:
                for s in init_seeds:
                    for k in range(samples_per_init):
                        torch.manual_seed(hash((seed, ti, int(s), k)) % (2**31))
                        out.append(
                            rollout(
                                env,
                                policy,
                                task,
                                int(s),
                                k,
                                temperature,
                                probe,
                                max_steps,
                                keep_frames,
                                scene,
                                resample_invalid,
                            )  # fmt: skip
                        )
                        bar.update(1)
            finally:
                env.close()
    finally:
        bar.close()
        if was_training and hasattr(policy, "train"):
            policy.train()
    return out


def _collect_lockstep(
    make_env: Callable[[str], Any],
    policy: TokenChunkPolicy,
    tasks: Sequence[str],
    init_seeds: Sequence[int],
    samples_per_init: int,
    temperature: float,
    probe: Probe,
    seed: int,
    keep_frames: bool,
    max_steps: int | None,
    progress: bool,
    scene: Callable[[Any], dict[str, np.ndarray]] | None,
    resample_invalid: int,
    lanes: int,
) -> list[Trajectory]:
    from tqdm import tqdm

    was_training = getattr(policy, "training", False)
    if hasattr(policy, "eval"):
        policy.eval()
    out: list[Trajectory] = []
    jobs = [(int(s), k) for s in init_seeds for k in range(samples_per_init)]
    bar = tqdm(total=len(tasks) * len(jobs), desc="rollouts", disable=not progress, leave=False)
    try:
        for ti, task in enumerate(tasks):
            envs = [make_env(task) for _ in range(min(lanes, len(jobs)))]
            try:
                for a in range(0, len(jobs), len(envs)):
                    part = jobs[a : a + len(envs)]
                    torch.manual_seed(hash((seed, ti, -1, a)) % (2**31))
                    out += rollout_lockstep(
                        envs, policy, task, part, temperature, probe, max_steps, keep_frames,
                        scene, resample_invalid,
                    )  # fmt: skip
                    bar.update(len(part))
            finally:
                for env in envs:
                    env.close()
    finally:
        bar.close()
        if was_training and hasattr(policy, "train"):
            policy.train()
    return out


def clone_policy(policy: Any) -> Any:
    """A frozen deep copy (the DPO reference): eval mode, no parameter requires grad."""
    ref = copy.deepcopy(policy)
    if hasattr(ref, "eval"):
        ref.eval()
    if hasattr(ref, "parameters"):
        for p in ref.parameters():
            p.requires_grad_(False)
    return ref
