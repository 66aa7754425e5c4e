"""Iterative trajectory preference optimisation (GRAPE-style): sample, score, rank, train.

One round: the current policy (the *sampler*) is rolled out ``samples_per_init`` times from each
training initial state of each task; rollouts are scored (:mod:`robo.tpo.scoring`), paired
inside (task, initial state) groups (:mod:`robo.tpo.pairs`), and the policy is trained on the
pairs with the trajectory DPO loss (:mod:`robo.tpo.dpo`) against a frozen reference — the
initial policy (``reference="initial"``) or the previous round's (``"previous"``). The trained
policy samples the next round. Held-out initial states are evaluated before round 1 and after
every round.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from robo.policy.token_base import TokenChunkPolicy
from robo.tpo.dpo import DPOStats, dpo_loss, trajectory_log_probs
from robo.tpo.pairs import Pair, build_pairs, unpaired_successes
from robo.tpo.rollouts import Probe, Trajectory, clone_policy, collect, no_probe
from robo.tpo.scoring import Objective, score_all, summarize


@dataclass
class TPOConfig:
    """Knobs of :func:`run_tpo` (one per field).

    Attributes:
        rounds: sample-score-rank-train rounds.
        train_seeds: reset seeds of the initial states rollouts are collected from.
        fresh_states: draw new initial states every round: round r uses ``train_seeds``
            shifted by ``(r - 1) * span`` (span = max - min + 1), so no state is trained on
            twice (else every round re-ranks rollouts of the same states).
        eval_seeds: held-out reset seeds for evaluation (never trained on).
        samples_per_init: rollouts per (task, initial state) per round (>= 2 to form pairs).
        temperature: sampling temperature of the rollouts.
        eval_temperature: sampling temperature in evaluation (0 = greedy decoding).
        eval_samples: rollouts per held-out initial state.
        beta: DPO inverse temperature β.
        lr: Adam learning rate.
        epochs: passes over a round's pairs.
        pair_batch: pairs per gradient step.
        reference: ``"initial"`` (the policy before round 1) or ``"previous"`` (the policy at
            the start of the round).
        prefix_only: trajectory log-prob over executed-prefix tokens only (else whole chunks).
        length_normalize: mean log-prob per counted token instead of the sum (β then acts per
            token; use a larger β, e.g. 1-5).
        max_pairs_per_group: cap on pairs per (task, initial state), widest gaps first.
        sft_weight: weight of an extra NLL term on the chosen trajectories (0 = pure DPO).
        replay_weight: weight of an NLL term on successful rollouts of states that formed no
            pair (every rollout tied, e.g. a task already solved), ``pair_batch`` of them per
            gradient step; anchors those tasks while the others train (0 = off).
        label_smoothing: conservative-DPO ε.
        grad_clip: max gradient norm.
        max_steps: episode step cap (None = the env's own).
        resample_invalid: redraws of a chunk that does not decode before holding still.
        lanes: rollouts of one task run at once in lockstep (1 = one after another; > 1 = one
            batched policy call per chunk step, see :func:`robo.tpo.rollouts.rollout_lockstep`).
        seed: base seed of rollout sampling.
    """

    rounds: int = 3
    train_seeds: list[int] = field(default_factory=lambda: list(range(8)))
    fresh_states: bool = False
    eval_seeds: list[int] = field(default_factory=lambda: list(range(1000, 1010)))
    samples_per_init: int = 4
    temperature: float = 1.0
    eval_temperature: float = 1.0
    eval_samples: int = 1
    beta: float = 0.1
    lr: float = 1e-4
    epochs: int = 2
    pair_batch: int = 8
    reference: str = "initial"
    prefix_only: bool = True
    length_normalize: bool = False
    max_pairs_per_group: int = 4
    sft_weight: float = 0.0
    replay_weight: float = 0.0
    label_smoothing: float = 0.0
    grad_clip: float = 1.0
    max_steps: int | None = None
    resample_invalid: int = 2
    lanes: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.reference not in ("initial", "previous"):
            raise ValueError(f"reference={self.reference!r} must be 'initial' or 'previous'")
        if self.samples_per_init < 2:
            raise ValueError(
                f"samples_per_init={self.samples_per_init}: pairs need >= 2 rollouts per state"
            )
        if self.rounds < 0 or self.epochs < 1 or self.pair_batch < 1 or self.lanes < 1:
            raise ValueError("rounds must be >= 0, epochs, pair_batch and lanes >= 1")
        if self.sft_weight < 0 or self.replay_weight < 0:
            raise ValueError(
                f"sft_weight={self.sft_weight}, replay_weight={self.replay_weight}: "
                "NLL weights must be >= 0 (0 turns the term off)"
            )
        if self.fresh_states:
            used = {s for r in range(1, self.rounds + 1) for s in self.round_seeds(r)}
            clash = sorted(used & set(self.eval_seeds))
            if clash:
                raise ValueError(
                    f"fresh_states: {self.rounds} rounds train on reset seeds up to {max(used)}, "
                    f"which include held-out eval seed {clash[0]} (hint: move eval_seeds past "
                    "the last round's training seeds)"
                )

    def round_seeds(self, r: int) -> list[int]:
        """Reset seeds of the initial states rolled out in round ``r`` (1-based)."""
        if not self.fresh_states or not self.train_seeds:
            return list(self.train_seeds)
        span = max(self.train_seeds) - min(self.train_seeds) + 1
        return [s + (r - 1) * span for s in self.train_seeds]


def train_on_pairs(
    policy: Any,
    reference: Any,
    trajectories: Sequence[Trajectory],
    pairs: Sequence[Pair],
    cfg: TPOConfig,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator | None = None,
    replay: Sequence[int] = (),
) -> dict[str, float]:
    """``cfg.epochs`` passes of trajectory DPO over ``pairs``; returns mean/first/last stats.

    Reference log-probs are computed once (no grad); the policy's per batch (with grad).
    ``replay`` (indices into ``trajectories``, e.g. :func:`robo.tpo.pairs.unpaired_successes`)
    adds ``cfg.replay_weight`` x their mean per-step NLL, ``cfg.pair_batch`` of them per step.
    """
    used = sorted({p.chosen for p in pairs} | {p.rejected for p in pairs})
    pos = {i: k for k, i in enumerate(used)}
    with torch.no_grad():
        ref_lp = trajectory_log_probs(
            reference, [trajectories[i] for i in used], cfg.prefix_only,
            length_normalize=cfg.length_normalize,
        )  # fmt: skip
    history: list[DPOStats] = []
    replay_nll: list[float] = []
    replay = list(replay) if cfg.replay_weight > 0 else []
    replay_order: list[int] = []
    policy.train()
    for _ in range(cfg.epochs):
        order = torch.randperm(len(pairs), generator=generator).tolist()
        for a in range(0, len(order), cfg.pair_batch):
            batch = [pairs[k] for k in order[a : a + cfg.pair_batch]]
            trajs = [trajectories[p.chosen] for p in batch] + [
                trajectories[p.rejected] for p in batch
            ]
            lp = trajectory_log_probs(
                policy, trajs, cfg.prefix_only, length_normalize=cfg.length_normalize
            )
            n = len(batch)
            ref_c = ref_lp[[pos[p.chosen] for p in batch]].to(lp.device)
            ref_r = ref_lp[[pos[p.rejected] for p in batch]].to(lp.device)
            loss, stats = dpo_loss(lp[:n], lp[n:], ref_c, ref_r, cfg.beta, cfg.label_smoothing)
            if cfg.sft_weight > 0:
                loss = loss - cfg.sft_weight * _per_step(lp[:n], trajs[:n], cfg).mean()
            if replay:
                if len(replay_order) < cfg.pair_batch:
                    perm = torch.randperm(len(replay), generator=generator).tolist()
                    replay_order += [replay[k] for k in perm]
                chunk, replay_order = replay_order[: cfg.pair_batch], replay_order[cfg.pair_batch :]
                rtrajs = [trajectories[i] for i in chunk]
                nll = -_per_step(
                    trajectory_log_probs(
                        policy, rtrajs, cfg.prefix_only, length_normalize=cfg.length_normalize
                    ),
                    rtrajs,
                    cfg,
                ).mean()
                replay_nll.append(float(nll.detach()))
                loss = loss + cfg.replay_weight * nll
            optimizer.zero_grad()
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.grad_clip)
            optimizer.step()
            history.append(stats)
    policy.eval()
    if not history:
        return {"steps": 0}
    mean = {k: float(np.mean([asdict(s)[k] for s in history])) for k in asdict(history[0])}
    out = {
        **mean,
        "first_loss": history[0].loss,
        "last_loss": history[-1].loss,
        "last_accuracy": history[-1].accuracy,
        "steps": len(history),
    }
    if replay_nll:
        out |= {"replay_trajectories": len(replay), "replay_nll": float(np.mean(replay_nll))}
    return out


def _per_step(lp: torch.Tensor, trajs: Sequence[Trajectory], cfg: TPOConfig) -> torch.Tensor:
    """Trajectory log-probs ``lp`` (B,) per executed step (already per token when
    ``cfg.length_normalize``)."""
    if cfg.length_normalize:
        return lp
    return lp / torch.as_tensor([max(1, t.length) for t in trajs], device=lp.device)


def evaluate(
    make_env: Callable[[str], Any],
    policy: TokenChunkPolicy,
    tasks: Sequence[str],
    cfg: TPOConfig,
    objective: Objective,
    probe: Probe = no_probe,
    scene: Callable[[Any], dict] | None = None,
    gripper_dim: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Success, collisions and episode length on the held-out initial states, per task + mean,
    and ``episodes``: one record per rollout (task, init_seed, sample, success, collisions,
    length) so callers can pair rounds on the same initial states."""
    trajs = collect(
        make_env, policy, tasks, cfg.eval_seeds, cfg.eval_samples, cfg.eval_temperature, probe,
        seed=cfg.seed + 10**6, max_steps=cfg.max_steps, progress=progress, scene=scene,
        resample_invalid=cfg.resample_invalid, lanes=cfg.lanes,
    )  # fmt: skip
    score_all(trajs, objective, gripper_dim)
    out: dict[str, Any] = {"mean": summarize(trajs)}
    out["per_task"] = {t: summarize([x for x in trajs if x.task == t]) for t in tasks}
    out["episodes"] = [
        {"task": x.task, "init_seed": x.init_seed, "sample": x.sample,
         **{k: float(x.scores[k]) for k in ("success", "collisions", "length")}}
        for x in trajs
    ]  # fmt: skip
    return out


def run_tpo(
    policy: Any,
    make_env: Callable[[str], Any],
    tasks: Sequence[str],
    objective: Objective,
    cfg: TPOConfig,
    probe: Probe = no_probe,
    scene: Callable[[Any], dict] | None = None,
    gripper_dim: int | None = None,
    reward_model: Any | None = None,
    progress: bool = True,
    on_round: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[Any, list[dict[str, Any]]]:
    """Run ``cfg.rounds`` rounds of TPO on ``policy`` (trained in place); returns
    (policy, per-round metrics). Round 0 holds the evaluation of the initial policy.

    ``make_env(task)`` builds a fresh env; ``probe`` / ``scene`` are the sim glue (EE position
    and contacts, privileged keypoints); ``reward_model`` (a GRM) adds the ``grm_progress``
    feature and needs rendered frames.
    """
    if not isinstance(policy, TokenChunkPolicy):
        raise TypeError(
            f"{type(policy).__name__} is not a TokenChunkPolicy (hint: TPO needs exact token "
            "log-probs: use a token VLA checkpoint, e.g. `robo train-policy policy=vla`)"
        )
    gen = torch.Generator().manual_seed(cfg.seed)
    initial = clone_policy(policy)
    params = [p for p in policy.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    policy.eval()
    history: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    ev = evaluate(make_env, policy, tasks, cfg, objective, probe, scene, gripper_dim, progress)
    history.append({"round": 0, "eval": ev, "seconds": time.perf_counter() - t0})
    if on_round:
        on_round(history[-1])
    for r in range(1, cfg.rounds + 1):
        t0 = time.perf_counter()
        reference = initial if cfg.reference == "initial" else clone_policy(policy)
        trajs = collect(
            make_env, policy, tasks, cfg.round_seeds(r), cfg.samples_per_init, cfg.temperature,
            probe, seed=cfg.seed + r, keep_frames=reward_model is not None,
            max_steps=cfg.max_steps, progress=progress, scene=scene,
            resample_invalid=cfg.resample_invalid, lanes=cfg.lanes,
        )  # fmt: skip
        score_all(trajs, objective, gripper_dim, reward_model)
        pairs = build_pairs(trajs, objective, cfg.max_pairs_per_group)
        n_success_pairs = sum(1 for p in pairs if p.gap[0] > 0)
        replay = unpaired_successes(trajs, pairs) if cfg.replay_weight > 0 else []
        dpo = (
            train_on_pairs(policy, reference, trajs, pairs, cfg, optimizer, gen, replay)
            if pairs
            else {"steps": 0}
        )
        ev = evaluate(make_env, policy, tasks, cfg, objective, probe, scene, gripper_dim, progress)
        history.append(
            {
                "round": r,
                "rollouts": summarize(trajs),
                "pairs": len(pairs),
                "pairs_success_gap": n_success_pairs,
                "dpo": dpo,
                "eval": ev,
                "seconds": time.perf_counter() - t0,
            }
        )
        if on_round:
            on_round(history[-1])
    return policy, history
