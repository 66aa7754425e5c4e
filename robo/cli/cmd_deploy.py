"""`robo deploy`: run a policy on a robot (twin, real arm or mock) with safety on.

``robo deploy robot=mock policy=scripted duration=5 record=outputs/run1 dry_run=true``

Runs the :class:`~hardware.loop.ControlLoop` (fixed rate, async inference, ensembling,
watchdog, e-stop), writes ``<out>/loop_stats.json`` and, with ``record=<dir>``, the run as a
LeRobotDataset in ``robo collect``'s format (the commands actually sent are the actions).
``dry_run=true`` first runs the same policy and settings on the ``so101_sim`` twin and stops
if that run faulted or needed an unchecked command.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

HELP = "run a policy on a robot (so101_sim|so101|koch|mock) with safety on; dry_run=true twin first"

logger = logging.getLogger(__name__)


def _run_once(cfg: DictConfig, robot_node: dict[str, Any], duration: float, label: str) -> Any:
    from hardware.config import make_shield, robot_config_from_dict
    from hardware.estop import EStop
    from hardware.loop import ControlLoop, LoopConfig
    from hardware.policies import make_policy

    rcfg = robot_config_from_dict(robot_node)
    dt = 1.0 / float(cfg.rate_hz)
    if hasattr(rcfg, "control_dt"):
        rcfg.control_dt = dt  # the twin's `fast` pacing advances one control period per send
    policy = make_policy(str(cfg.policy), dt, home=tuple(rcfg.home))
    steer = _make_steer(cfg.steer)
    estop = EStop(stop_file=cfg.stop_file, keyboard=bool(cfg.keyboard))
    estop.install_signal_handlers()
    loop_cfg = LoopConfig(
        rate_hz=float(cfg.rate_hz),
        duration_s=float(duration),
        watchdog_timeout_s=float(cfg.watchdog_timeout_s),
        watchdog_action=str(cfg.watchdog_action),  # type: ignore[arg-type]
        safe_state=str(cfg.safe_state),  # type: ignore[arg-type]
        ensemble_k=float(cfg.ensemble_k),
        instruction=str(cfg.instruction),
        record=cfg.record is not None and label != "dry-run",
    )
    print(f"[{label}] robot={rcfg.type} policy={cfg.policy} rate={cfg.rate_hz} Hz for {duration} s")
    try:
        with rcfg.build() as robot:
            shield = make_shield(rcfg, robot, dt)
            result = ControlLoop(robot, policy, shield, loop_cfg, estop, steer).run()
    finally:
        estop.close()
    return rcfg, result


def _make_steer(spec: Any) -> Any:
    if spec is None:
        return None
    import robo.steer

    factory = getattr(robo.steer, "make_steer", None)
    if factory is None:
        raise ValueError(
            f"steer={spec!r} needs robo.steer.make_steer, which this build lacks "
            "(hint: run without steer= or update robo.steer)"
        )
    return factory(spec)


def _record(cfg: DictConfig, rcfg: Any, result: Any) -> Path | None:
    """Write the recorded frames as one episode; finished frames survive a faulted run."""
    import numpy as np

    from robo.data.schema import DatasetSpec
    from robo.data.writer import EpisodeWriter
    from robo.types import Episode

    frames = result.frames
    if not frames:
        print("record: no frames to write")
        return None
    cams = [c for c in frames[0].images if all(c in f.images for f in frames)]
    sizes = {frames[0].images[c].shape for c in cams}
    if len(sizes) > 1 or any(s[0] != s[1] for s in sizes):
        logger.warning("record: cameras need one square size; images not recorded (%s)", sizes)
        cams = []
    size = next(iter(sizes))[0] if cams else 0
    T = len(frames)
    ep = Episode(
        task=f"deploy/{rcfg.type}",
        instruction=str(cfg.instruction) or "deploy",
        kind="policy",
        seed=0,
        images={c: np.stack([f.images[c] for f in frames]) for c in cams},
        state=np.stack([f.state for f in frames]).astype(np.float32),
        action=np.stack([f.action for f in frames]).astype(np.float32),
        success=np.zeros(T, dtype=bool),
        progress_gt=np.full(T, np.nan, dtype=np.float32),
        timestamp=np.array([f.timestamp for f in frames]),
        meta={
            "robot": rcfg.type,
            "policy": str(cfg.policy),
            "stop_reason": result.stop_reason,
            "interventions": int(sum(bool(f.interventions) for f in frames)),
        },
    )
    spec = DatasetSpec(
        fps=int(round(float(cfg.rate_hz))),
        cameras=tuple(cams),
        image_size=int(size),
        state_dim=ep.state.shape[1],
        action_dim=ep.action.shape[1],
        video=bool(cfg.video),
        robot_type=rcfg.type,
        info={"task": ep.task, "source": "robo deploy"},
    )
    root = Path(str(cfg.record))
    with EpisodeWriter.open(root, spec) as writer:
        index = writer.write(ep)
    print(f"recorded episode {index} ({T} frames) to {root}")
    return root


def _report(label: str, result: Any, out: Path) -> dict[str, Any]:
    summary = result.stats.summary()
    summary["stop_reason"] = result.stop_reason
    summary["error"] = result.error
    out.mkdir(parents=True, exist_ok=True)
    path = out / ("loop_stats.json" if label == "run" else "loop_stats_dry_run.json")
    path.write_text(json.dumps(summary, indent=2))
    pe = summary["period_error_ms"]
    print(
        f"[{label}] {summary['ticks']} ticks at {summary['achieved_hz'] or 0:.1f} Hz, "
        f"period error p50 {pe['p50'] or 0:.2f} ms p99 {pe['p99'] or 0:.2f} ms, "
        f"interventions {summary['safety_interventions']}, watchdog trips "
        f"{summary['watchdog_trips']}, stop: {result.stop_reason} -> {path}"
    )
    if result.error:
        print(f"[{label}] fault: {result.error}")
    return summary


def run(cfg: DictConfig) -> int:
    import torch

    torch.set_num_threads(int(cfg.torch_threads))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    robot_node = OmegaConf.to_container(cfg.robot, resolve=True)
    assert isinstance(robot_node, dict)
    out = Path(str(cfg.out))
    duration = float(cfg.duration)
    if robot_node.get("type") in ("so101", "koch", "mock"):
        from hardware.drivers.lerobot_arm import preload_lerobot

        preload_lerobot(str(robot_node["type"]))  # before any EGL context (see its docstring)
    if cfg.dry_run and robot_node.get("type") != "so101_sim":
        from hardware.config import robot_config

        twin = {k: v for k, v in vars(robot_config("so101_sim")).items()}
        twin.update(
            {k: robot_node[k] for k in ("home", "max_velocity", "max_step") if k in robot_node}
        )
        twin["type"] = "so101_sim"
        dry = float(cfg.dry_run_duration or duration)
        _, dry_result = _run_once(cfg, twin, dry, "dry-run")
        summary = _report("dry-run", dry_result, out)
        if (
            dry_result.error
            or summary["unchecked_commands"]
            or dry_result.stop_reason.startswith("estop")
        ):
            print("dry run did not finish cleanly: not running on the robot")
            return 1
    rcfg, result = _run_once(cfg, robot_node, duration, "run")
    _report("run", result, out)
    if cfg.record is not None:
        _record(cfg, rcfg, result)
    return 1 if result.error else 0
