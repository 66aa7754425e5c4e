"""`robo rl`: SAC with a shaped reward on a simulated task, over seeds; metrics.json + plot."""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

HELP = "RL with shaped rewards (task= reward|scheme=sparse|pbrs|naive|raw|clip|delta|oracle|gt seeds= steps= out=)"


def reference_from_dataset(root: str, index: int) -> tuple[dict, dict]:
    """Start and goal (first success) camera images of episode ``index`` of a dataset."""
    from robo.data.reader import EpisodeReader
    from robo.reward.evaluate import goal_frame

    ep = EpisodeReader(root).read(int(index))
    if not ep.success.any():
        raise ValueError(f"episode {index} of {root} never succeeds; pick a successful demo")
    return {cam: frames[0] for cam, frames in ep.images.items()}, goal_frame(ep)


def build_potential(
    cfg: Any,
    task: str,
    make_task: Any,
    make_expert: Any,
    reference: str = "expert",
    index: int = 0,
    calibrate: int = 0,
) -> tuple[Any, str, dict[str, Any] | None]:
    """(Φ source or None, its label, calibration details or None) for the job's scheme.

    The GRM potential is anchored to a demo's start and goal frames: from ``reference`` (a
    dataset folder, e.g. the one-shot demo given to `robo adapt-reward`) or, with
    ``reference=expert``, from one scripted-expert episode. With ``calibrate`` > 0, Φ_start
    and Φ_goal of the affine calibration are measured here, once: on that many expert
    episodes (seeds from :data:`robo.rl.progress.CALIBRATION_SEED0`) with
    ``reference=expert``, or on the reference demo alone with a dataset reference (the
    one-shot flow: no other demonstration reaches the reward, even where the task has a
    scripted expert); the caller freezes them into the shaping config.
    """
    from robo.reward.shaping import POTENTIAL_SCHEMES, ImageProgress, PrivilegedProgress
    from robo.rl.progress import (
        AnchoredGRMProgress,
        EnsembleProgress,
        expert_calibration_frames,
        measure_calibration,
        reference_frames,
    )

    if cfg.reward not in POTENTIAL_SCHEMES:
        return None, "none", None
    if cfg.reward == "gt" or str(cfg.progress) == "gt":
        if calibrate > 0:
            raise ValueError(
                "calibrate= applies to a learned potential; progress_gt already spans [0, 1] "
                "(hint: calibrate=0 with progress=gt)"
            )
        return PrivilegedProgress(), "gt", None
    from robo.reward.ensemble import load_ensemble, split_ckpts

    members = split_ckpts(cfg.progress)  # several = an ensemble: the mean of their anchored Φ
    models = load_ensemble(members, device=cfg.model_device)
    env = None
    if reference != "expert":
        start, goal = reference_from_dataset(reference, index)
    elif make_expert is None:
        raise ValueError(
            f"{task} has no scripted expert for the GRM's reference frames "
            "(hint: pass reference=<dataset dir> with a successful demo)"
        )
    else:
        env = make_task(render=True, image_size=cfg.image_size, cameras=tuple(cfg.cameras))
        start, goal, ok = reference_frames(env, make_expert(), seed=99_999)
        if not ok:
            env.close()
            raise ValueError(f"the expert failed the reference episode of {task}; no goal frame")
    anchored = [AnchoredGRMProgress(m, start, goal) for m in models]
    fn = anchored[0] if len(anchored) == 1 else EnsembleProgress(anchored)
    details = None
    if calibrate > 0:
        if env is not None:
            frames = expert_calibration_frames(env, make_expert, calibrate)
            source = "expert"
        else:  # one-shot: the reference demo is all the reward may see, even with an expert
            frames, source = [(start, goal)], f"{reference}#{index}"
        instruction = env.instruction if env is not None else _dataset_instruction(reference, index)
        _, details = measure_calibration(fn, frames, instruction)
        details["source"] = source
    if env is not None:
        env.close()
    return ImageProgress(fn, name="grm"), "+".join(Path(m).name for m in members), details


def _dataset_instruction(root: str, index: int) -> str:
    from robo.data.reader import EpisodeReader

    return str(EpisodeReader(root).read(int(index)).instruction)


def run(cfg: DictConfig) -> int:
    # torch's optimisers import torch._dynamo -> triton lazily; doing that after an EGL
    # context exists (rendering for the reward model) segfaults, so import it first.
    import torch._dynamo  # noqa: F401

    import sims
    from robo.rl.report import plot_run, write_metrics
    from robo.rl.train import RLConfig, config_dict, summarize_runs, train_seed

    spec = sims.get_spec(str(cfg.task))
    fields = {f.name for f in dataclasses.fields(RLConfig)}
    values = {k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k in fields}
    values["task"] = spec.name
    if cfg.get("scheme"):
        values["reward"] = str(cfg.scheme)
    values["cameras"] = tuple(values.get("cameras", ()))
    if isinstance(values.get("progress"), list):  # progress=[a,b]: an ensemble of GRMs
        values["progress"] = ",".join(str(p) for p in values["progress"])
    rl_cfg = RLConfig(**values)
    rl_cfg.shaping()  # validate the scheme before any work
    if int(cfg.seeds) < 1 or rl_cfg.steps < 1:
        raise ValueError(f"seeds={cfg.seeds} and steps={rl_cfg.steps} must be >= 1")
    out = Path(cfg.out or f"outputs/rl/{spec.name.replace('/', '_')}/{rl_cfg.reward}")
    if (out / "metrics.json").exists() and not cfg.overwrite:
        raise ValueError(
            f"{out}/metrics.json exists (hint: choose another out= or pass overwrite=true)"
        )
    make_task = partial(sims.make, spec.name)
    make_expert = spec.expert
    if rl_cfg.action == "delta":  # refuse a delta-action task before loading/calibrating Φ
        from robo.rl.actions import DeltaJointAction

        probe = make_task(render=False)
        try:
            DeltaJointAction(probe, rl_cfg.max_delta)
        finally:
            probe.close()
    potential, label, calibration = build_potential(
        rl_cfg,
        spec.name,
        make_task,
        make_expert,
        str(cfg.get("reference", "expert")),
        int(cfg.get("reference_episode", 0)),
        int(cfg.get("calibrate", 0) or 0),
    )
    if calibration is not None:
        # Frozen from here on: Φ_cal depends on the current state only.
        rl_cfg = dataclasses.replace(
            rl_cfg, phi_start=calibration["phi_start"], phi_goal=calibration["phi_goal"]
        )
        rl_cfg.shaping()
        label = f"{label}-cal"
        print(
            f"robo rl: calibrated Φ on {calibration['episodes']} demo episode(s): "
            f"Φ_start {calibration['phi_start']:.3f}, Φ_goal {calibration['phi_goal']:.3f} "
            f"(gain {calibration['gain']:.1f}x)",
            flush=True,
        )
    payload: dict[str, Any] = {
        "task": spec.name,
        "reward": rl_cfg.reward,
        "progress_label": label,
        "steps": rl_cfg.steps,
        "config": config_dict(rl_cfg),
        "learner": "stable-baselines3 SAC",
        "calibration": calibration,
        "runs": [],
    }
    for k in range(int(cfg.seeds)):
        seed = int(cfg.seed0) + k
        print(f"robo rl: {spec.name} reward={rl_cfg.reward} seed={seed}", flush=True)
        payload["runs"].append(train_seed(rl_cfg, seed, potential, make_task, make_expert))
        payload["summary"] = summarize_runs(payload["runs"], rl_cfg.steps)
        write_metrics(out, payload)  # after every seed, so a stopped job keeps its seeds
    if cfg.plot:
        plot_run(out, payload)
    s = payload["summary"]
    print(
        f"robo rl: final success {s['final_success_mean']:.2f}, steps to 80% (median) "
        f"{s['steps_to_80_median']:.0f} ({s['reached_80']}/{s['seeds']} seeds), hover (gt Φ) "
        f"{s['hover_ratio_gt_mean']:.3f} -> {out}/metrics.json"
    )
    return 0
