"""`robo deploy`: run a policy on a robot (twin, real arm or mock) with safety on.

``robo deploy robot=mock policy=<ckpt> goal=[0.2,0.05,0.1] duration=5 record=outputs/run1 --dry-run``

Runs the :class:`~hardware.loop.ControlLoop` (fixed rate, async inference, ensembling,
watchdog, e-stop), writes ``<out>/loop_stats.json`` and, with ``record=<dir>``, the run as one
LeRobotDataset episode in ``robo collect``'s format (state = joint positions then velocities,
action = the commands actually sent). Frames go to an on-disk journal while the run goes on
(:mod:`hardware.recording`), so a fault or crash keeps every finished frame; a journal left by
a crash is finalised at the next ``record=`` of the same folder.
``dry_run=true`` (``--dry-run``) first runs the same policy and settings on the ``so101_sim``
twin and stops if that run faulted, was e-stopped or needed an unchecked command.

The policy's state vector is built from the robot's joint state (:mod:`hardware.observation`);
policies trained with ``goal_in_state=true`` need ``goal=[x,y,z]`` [m, arm base frame].
On the twin, ``robot.task=so101/<task> robot.seed=<n> robot.shift=<shift>`` runs in that sim
task's scene (objects, obstacle, raised step) and takes the goal and the obstacle/step
keypoints for steering from it unless given here.
``rate_hz=null`` uses the control rate of the task the policy was trained on (else 30 Hz).
``steer=<name>`` compiles ``configs/steer/<name>.yaml`` against the arm's kinematics with the
keypoints ``goal``, ``obstacle``/``obstacle_half`` given here, or found at run time by a
detector ``keypoints_fn=<module>:<function>`` (:class:`DetectorKeypoints`; called with every
observation the policy samples for; with a detected goal, name the cost, e.g.
``steer_cost="reach(goal) + 100 * above(table, margin=0.01, on=body)"``).
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

HELP = "run a policy on a robot (so101_sim|so101|koch|mock) with safety on; dry_run=true twin first"

logger = logging.getLogger(__name__)

SO101_FAMILY = ("so101_sim", "so101", "mock")  # robots with the SO-101 kinematics


def _checkpoint_config(spec: str) -> dict[str, Any]:
    """``config.json`` of a checkpoint folder (empty for scripted/replay or unreadable)."""
    path = Path(spec).expanduser() / "config.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (ValueError, OSError):
        return {}


def _policy_rate(spec: str) -> float | None:
    """Control rate [Hz] of the task a checkpoint was trained on, if it says."""
    try:
        task = _checkpoint_config(spec).get("meta", {}).get("task")
        if not task:
            return None
        from sims.registry import make_config

        dt = getattr(make_config(str(task)), "control_dt", None)
        return None if not dt else 1.0 / float(dt)
    except (ValueError, KeyError, OSError):
        return None


def _twin_keypoints(robot_node: dict[str, Any]) -> dict[str, Any]:
    """The privileged keypoints of the twin's task scene (``robot.task``), else ``{}``."""
    if robot_node.get("type") != "so101_sim" or not robot_node.get("task"):
        return {}
    from hardware.drivers.sim import task_scene, task_scene_key

    key = task_scene_key(
        str(robot_node["task"]),
        int(robot_node.get("seed", 0)),
        str(robot_node.get("shift", "none")),
    )
    return task_scene(key)[2]


def _scene(cfg: DictConfig, twin: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keypoints for steering costs [m, arm base frame]: the config's, else the twin task
    scene's (``twin``)."""
    import numpy as np

    out: dict[str, Any] = {"table": np.array([0.0, 0.0, float(cfg.table_z)])}
    for key, value in (twin or {}).items():
        out[key] = np.asarray(value, dtype=np.float64)
    for key in ("goal", "obstacle", "obstacle_half"):
        value = cfg.get(key)
        if value is not None:
            arr = np.asarray(list(value), dtype=np.float64)
            if arr.shape != (3,):
                raise ValueError(f"{key} must be 3 numbers [m], got {list(value)}")
            out[key] = arr
    return out


class _FixedKeypoints:
    """``obs -> keypoints``: the scene's fixed keypoints (a class, not a lambda, so a steerer
    pickles to the inference process)."""

    def __init__(self, keypoints: dict[str, Any]):
        self.keypoints = keypoints

    def __call__(self, obs: Any) -> dict[str, Any]:
        return self.keypoints


class DetectorKeypoints:
    """``obs -> keypoints`` from a user's detector: ``keypoints_fn=<module>:<function>``, called
    with every observation the policy samples for (``{"images": ..., "state": ...}``) and
    returning ``{name: [x, y, z] m (arm base frame) | float}``; its keys override the fixed
    keypoints (``goal=``, ``obstacle=``, ...). Pickles as the dotted name (the inference process
    imports the function itself)."""

    def __init__(self, spec: str, fixed: dict[str, Any]):
        module, sep, name = spec.partition(":")
        if not sep or not module or not name:
            raise ValueError(
                f"keypoints_fn={spec!r} must be <module>:<function> (hint: "
                "keypoints_fn=my_pkg.vision:detect, importable from where robo runs)"
            )
        self.spec, self.fixed = spec, fixed
        self._fn: Any = None

    def function(self) -> Any:
        if self._fn is None:
            import importlib

            module, _, name = self.spec.partition(":")
            try:
                fn = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError) as err:
                raise ValueError(
                    f"keypoints_fn={self.spec!r}: {err} (hint: the module must be importable)"
                ) from None
            if not callable(fn):
                raise ValueError(f"keypoints_fn={self.spec!r} is not callable")
            self._fn = fn
        return self._fn

    def __call__(self, obs: Any) -> dict[str, Any]:
        import numpy as np

        found = self.function()(obs)
        if not isinstance(found, dict):
            raise ValueError(
                f"keypoints_fn={self.spec!r} returned {type(found).__name__}, "
                "not a dict {name: [x, y, z]}"
            )
        return {**self.fixed, **{k: np.asarray(v, dtype=np.float64) for k, v in found.items()}}

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec, "fixed": self.fixed, "_fn": None}


def _make_steer(cfg: DictConfig, robot_type: str, twin: dict[str, Any] | None = None) -> Any:
    """``steer=<name>`` -> a steering object over the SO-101 tip path (None for none)."""
    spec = cfg.steer
    if spec is None or str(spec) == "none":
        return None
    from robo.cli.main import CONFIG_DIR

    path = CONFIG_DIR / "steer" / f"{spec}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (CONFIG_DIR / "steer").glob("*.yaml"))
        raise ValueError(f"unknown steer={spec!r}; known: {', '.join(known)}")
    if robot_type not in SO101_FAMILY:
        raise ValueError(
            f"steer= needs the arm's kinematics; {robot_type} has no MJCF here "
            "(hint: steer on so101_sim, so101 or mock)"
        )
    from robo.steer import FKPathMap, KinematicChain, build_steer, compile_cost
    from sims.so101.assets import arm_xml

    steer_cfg = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    assert isinstance(steer_cfg, dict)
    keypoints = _scene(cfg, twin)
    detector = cfg.get("keypoints_fn")
    provider = DetectorKeypoints(str(detector), keypoints) if detector else None
    if provider is not None:
        provider.function()  # a bad name fails here, in one line, not in the inference process
    expr = cfg.steer_cost or steer_cfg.get("cost") or _default_cost("goal" in keypoints)
    if "goal" in str(expr) and "goal" not in keypoints and provider is None:
        raise ValueError(
            f"steer={spec}'s cost uses the goal (hint: pass goal=[x,y,z] in metres, or a "
            "detector keypoints_fn=<module>:<function> that returns it)"
        )
    chain = KinematicChain.from_mjcf(arm_xml(), "tip")
    cost = compile_cost(
        str(expr),
        FKPathMap(chain, range(5), range(5)),
        gripper_dim=5,
        keypoints=provider or _FixedKeypoints(keypoints),
        optional=("obstacle", "obstacle_half", "step", "step_half"),
    )
    return build_steer(steer_cfg, cost)


def _default_cost(has_goal: bool) -> str:
    """The SO-101 steering cost ``robo eval-policy`` uses (reach tasks add the goal term)."""
    from robo.cli import cmd_eval_policy

    default = getattr(cmd_eval_policy, "default_cost", None)
    if default is not None:
        return str(default("so101/reach" if has_goal else "so101/deploy"))
    if has_goal:
        return "reach(goal)"
    raise ValueError("the steer config sets no cost (hint: pass steer_cost='<expression>')")


def _run_once(
    cfg: DictConfig, robot_node: dict[str, Any], duration: float, rate: float, label: str
) -> tuple[Any, Any, dict[str, Any]]:
    from hardware.config import make_shield, robot_config_from_dict
    from hardware.estop import EStop
    from hardware.loop import ControlLoop, LoopConfig
    from hardware.observation import state_adapter_for
    from hardware.policies import make_policy
    from hardware.recording import FrameJournal, recover

    rcfg = robot_config_from_dict(robot_node)
    dt = 1.0 / rate
    if hasattr(rcfg, "control_dt"):
        rcfg.control_dt = dt  # the twin's `fast` pacing advances one control period per send
    policy = make_policy(str(cfg.policy), dt, home=tuple(rcfg.home))
    twin = _twin_keypoints(robot_node)  # a twin task scene's goal / obstacle / step
    goal = cfg.goal if cfg.goal is not None else twin.get("goal")
    obs_state = state_adapter_for(policy, len(rcfg.home), goal)
    steer = _make_steer(cfg, rcfg.type, twin)
    estop = EStop(stop_file=cfg.stop_file, keyboard=bool(cfg.keyboard))
    estop.install_signal_handlers()
    loop_cfg = LoopConfig(
        rate_hz=rate,
        duration_s=float(duration),
        watchdog_timeout_s=float(cfg.watchdog_timeout_s),
        watchdog_action=str(cfg.watchdog_action),  # type: ignore[arg-type]
        safe_state=str(cfg.safe_state),  # type: ignore[arg-type]
        ensemble_k=float(cfg.ensemble_k),
        instruction=str(cfg.instruction),
        record=False,
        inference=str(cfg.get("inference", "process")),  # type: ignore[arg-type]
        inference_nice=int(cfg.get("inference_nice", 5)),
        torch_threads=int(cfg.get("torch_threads", 1)),
        warmup_timeout_s=(
            None if cfg.get("warmup_timeout_s", 30.0) is None else float(cfg.warmup_timeout_s)
        ),
        rt_priority=None if cfg.get("rt_priority") is None else int(cfg.rt_priority),
    )
    journal = None
    if cfg.record is not None and label == "run":
        index = recover(str(cfg.record), bool(cfg.video))
        if index is not None:
            print(f"record: finalised a crashed run's frames as episode {index} of {cfg.record}")
        meta = {
            "task": f"deploy/{rcfg.type}",
            "instruction": str(cfg.instruction) or "deploy",
            "robot": rcfg.type,
            "policy": str(cfg.policy),
            "steer": None if cfg.steer is None else str(cfg.steer),
            "goal": None if goal is None else [float(g) for g in goal],
            "rate_hz": rate,
        }
        size = cfg.get("record_image_size")
        journal = FrameJournal(str(cfg.record), rate, meta, image_size=size and int(size))
    print(
        f"[{label}] robot={rcfg.type} policy={cfg.policy} steer={cfg.steer} rate={rate:g} Hz "
        f"for {duration:g} s"
    )
    extra: dict[str, Any] = {}
    result = None
    try:
        with rcfg.build() as robot:
            shield = make_shield(rcfg, robot, dt)
            loop = ControlLoop(
                robot, policy, shield, loop_cfg, estop, steer, obs_state=obs_state, recorder=journal
            )
            result = loop.run()
            with contextlib.suppress(Exception):  # a dead bus: the loop reported the fault
                extra["final_joint_pos"] = [float(q) for q in robot.read().joint_pos]
    finally:
        estop.close()
        if journal is not None:
            frames = journal.close()
            stop = result.stop_reason if result is not None else "exception"
            index = _finalize(cfg, journal, stop)
            if index is not None:
                print(f"recorded episode {index} ({frames} frames) to {cfg.record}")
    if goal is not None and rcfg.type in SO101_FAMILY and "final_joint_pos" in extra:
        import numpy as np

        from sims.so101.kinematics import forward_kinematics

        tip = forward_kinematics(np.asarray(extra["final_joint_pos"]))
        extra["goal"] = [float(g) for g in goal]
        extra["final_tip_to_goal_m"] = float(np.linalg.norm(tip - np.asarray(extra["goal"])))
    return rcfg, result, extra


def _finalize(cfg: DictConfig, journal: Any, stop_reason: str) -> int | None:
    from hardware.recording import finalize_journal

    return finalize_journal(journal.root, bool(cfg.video), {"stop_reason": stop_reason})


def _report(label: str, result: Any, out: Path, extra: dict[str, Any]) -> dict[str, Any]:
    summary = result.stats.summary()
    summary["stop_reason"] = result.stop_reason
    summary["error"] = result.error
    summary.update(extra)
    out.mkdir(parents=True, exist_ok=True)
    path = out / ("loop_stats.json" if label == "run" else "loop_stats_dry_run.json")
    path.write_text(json.dumps(summary, indent=2))
    pe, inf = summary["period_error_ms"], summary["inference_ms"]
    print(
        f"[{label}] {summary['ticks']} ticks at {summary['achieved_hz'] or 0:.1f} Hz, "
        f"period error p50 {pe['p50'] or 0:.2f} ms p99 {pe['p99'] or 0:.2f} ms, "
        f"inference p50 {inf['p50'] or 0:.0f} ms ({inf['count']} chunks), "
        f"interventions {summary['safety_interventions']}, watchdog trips "
        f"{summary['watchdog_trips']}, stop: {result.stop_reason} -> {path}"
    )
    if "final_tip_to_goal_m" in summary:
        print(f"[{label}] final tip-to-goal distance {summary['final_tip_to_goal_m'] * 100:.1f} cm")
    if result.error:
        print(f"[{label}] fault: {result.error}")
    return summary


def run(cfg: DictConfig) -> int:
    import sys

    import torch

    from hardware.errors import HardwareError

    torch.set_num_threads(int(cfg.torch_threads))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    robot_node = OmegaConf.to_container(cfg.robot, resolve=True)
    assert isinstance(robot_node, dict)
    out = Path(str(cfg.out))
    duration = float(cfg.duration)
    rate = cfg.rate_hz
    rate = float(rate) if rate is not None else (_policy_rate(str(cfg.policy)) or 30.0)
    if robot_node.get("type") in ("so101", "koch", "mock"):
        from hardware.drivers.lerobot_arm import preload_lerobot

        preload_lerobot(str(robot_node["type"]))  # before any EGL context (see its docstring)
    try:
        if cfg.dry_run and robot_node.get("type") != "so101_sim":
            from hardware.config import robot_config

            twin = {k: v for k, v in vars(robot_config("so101_sim")).items()}
            twin.update(
                {k: robot_node[k] for k in ("home", "max_velocity", "max_step") if k in robot_node}
            )
            twin["type"] = "so101_sim"
            cams = cfg.dry_run_cameras
            if cams is None:  # the views the policy looks at
                cams = _checkpoint_config(str(cfg.policy)).get("config", {}).get("cameras", [])
            twin["cameras"] = list(cams)
            dry = float(cfg.dry_run_duration or duration)
            _, dry_result, extra = _run_once(cfg, twin, dry, rate, "dry-run")
            summary = _report("dry-run", dry_result, out, extra)
            if (
                dry_result.error
                or summary["unchecked_commands"]
                or summary["commands_outside_limits"]
                or dry_result.stop_reason.startswith("estop")
            ):
                print("dry run did not finish cleanly: not running on the robot")
                return 1
        _, result, extra = _run_once(cfg, robot_node, duration, rate, "run")
    except HardwareError as err:
        print(f"robo deploy: error: {err}", file=sys.stderr)
        return 2
    _report("run", result, out, extra)
    return 1 if result.error else 0
