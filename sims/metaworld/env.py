"""``MetaWorldEnv``: a Meta-World v3 task behind robo's :class:`sims.base.TaskEnv` contract.

Action: float32[4] in [-1, 1]: end-effector position delta (x, y, z; 1.0 = 1 cm per step,
Meta-World's ``action_scale``) and gripper effort (index 3; +1 closes, -1 opens).
State: float32[4]: hand position (x, y, z) [m] in the world frame and gripper opening
(finger distance / 0.1 m, clipped to [0, 1]); Meta-World's proprio part of the observation.
Control step: 5 physics steps of 2.5 ms = 12.5 ms.

``info``: ``success`` is Meta-World's ``success``; ``env_reward`` its dense reward in [0, 10];
``progress_gt`` and ``subtask`` as in :mod:`sims.metaworld.progress`.
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces

from sims.base import TaskEnv
from sims.errors import BadOverrideError
from sims.metaworld.config import MetaWorldConfig
from sims.metaworld.progress import ProgressTracker
from sims.metaworld.rendering import CAMERAS, MultiViewRenderer
from sims.metaworld.scene import make_raw_env, reset_raw_env
from sims.metaworld.shifts import STEP_HALF, SceneShift
from sims.metaworld.tasks import TASKS

STATE_DIM = 4


class MetaWorldEnv(TaskEnv):
    """One Meta-World v3 task (``metaworld/<task>``); see the module docstring for spaces.

    Args:
        task: robo task name without family, e.g. ``"pick-place"``.
        config: the task's :class:`MetaWorldConfig`.
    """

    action_mode = "delta"
    gripper_dims = (3,)

    def __init__(self, task: str, config: MetaWorldConfig):
        if task not in TASKS:
            raise KeyError(f"unknown Meta-World task {task!r}; see sims.metaworld.TASKS")
        unknown = [c for c in config.cameras if c not in CAMERAS]
        if unknown:
            raise BadOverrideError(
                f"metaworld/{task} has no camera {unknown[0]!r}; cameras: {', '.join(CAMERAS)}"
            )
        self.spec_row = TASKS[task]
        super().__init__(f"metaworld/{task}", config, self.spec_row.instruction, STATE_DIM)
        obstacle = {"obstacle": config.obstacle_half_size, "surface": STEP_HALF}.get(
            str(config.shift)
        )
        self._raw = make_raw_env(self.spec_row.env_id, obstacle_half_size=obstacle)
        self.control_dt = float(self._raw.dt)
        self.action_space = spaces.Box(-1.0, 1.0, (4,), dtype=np.float32)
        self._shift = SceneShift(
            self._raw,
            config.shift,
            camera_jitter_pos=config.camera_jitter_pos,
            camera_jitter_deg=config.camera_jitter_deg,
            obstacle_half_size=config.obstacle_half_size,
        )
        self._progress = ProgressTracker(task, self.spec_row.kind)
        self._renderer: MultiViewRenderer | None = None
        self._raw_obs = np.zeros(39)
        self._raw_info: dict[str, Any] = {}
        self._raw_reward = 0.0
        model = self._raw.model
        self._pad_sites = [model.site(n).id for n in ("rightEndEffector", "leftEndEffector")]

    # -- privileged access (experts, evaluation) ---------------------------------------------
    @property
    def raw_env(self) -> Any:
        """The wrapped Meta-World env (``SawyerXYZEnv``)."""
        return self._raw

    @property
    def raw_observation(self) -> np.ndarray:
        """Meta-World's float64[39] observation (hand, gripper, objects, previous frame, goal)."""
        return self._raw_obs.copy()

    @property
    def obstacle_position(self) -> np.ndarray | None:
        """Centre of the obstacle cube [m] under ``shift="obstacle"``, else ``None``."""
        return None if self._shift.obstacle_pos is None else self._shift.obstacle_pos.copy()

    @property
    def step_box(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(centre, half sizes) [m] of the raised table section under ``shift="surface"``."""
        if self._shift.step_pos is None:
            return None
        return self._shift.step_pos.copy(), np.array(STEP_HALF)

    def copy_sim_state(self, src: MetaWorldEnv) -> None:
        """Make this env's physics and observation state a copy of ``src``'s (same task, and
        reset with the same seed so the goal and object layout agree). For lookahead labels in
        a private copy (:class:`sims.experts.lookahead.ExpertLookahead`); ``src`` is not touched.
        The episode step counters are not copied (Meta-World's is zeroed so lookahead steps
        never hit its limit)."""
        if src.task_name != self.task_name:
            raise ValueError(f"cannot copy {src.task_name} state into {self.task_name}")
        raw, other = self._raw, src._raw
        spec = mujoco.mjtState.mjSTATE_INTEGRATION  # time, qpos, qvel, act, warm start, ctrl,
        size = mujoco.mj_stateSize(other.model, spec)  # applied forces, mocap, eq_active
        state = np.empty(size, dtype=np.float64)
        mujoco.mj_getState(other.model, other.data, state, spec)
        mujoco.mj_setState(raw.model, raw.data, state, spec)
        mujoco.mj_forward(raw.model, raw.data)
        raw._prev_obs = np.array(other._prev_obs, copy=True)
        raw._last_stable_obs = (
            None if other._last_stable_obs is None else other._last_stable_obs.copy()
        )
        raw.curr_path_length = 0
        self._raw_obs = src._raw_obs.copy()
        self._raw_info = dict(src._raw_info)

    def _tcp(self) -> np.ndarray:
        # Same as Meta-World's tcp_center (mid-point of the finger sites), without name lookups.
        xpos = self._raw.data.site_xpos
        return 0.5 * (xpos[self._pad_sites[0]] + xpos[self._pad_sites[1]])

    # -- TaskEnv hooks -----------------------------------------------------------------------
    def _reset_sim(self, seed: int) -> None:
        obs = reset_raw_env(self._raw, seed)
        if self.config.shift is not None:
            reach = self.spec_row.kind == "reach"
            target = obs[-3:] if reach else obs[4:7]
            self._shift.apply(seed, target, None if reach else float(obs[6]) + 0.02)
        self._raw_obs = obs
        zero = np.zeros(4, dtype=np.float32)
        self._raw_reward, self._raw_info = self._raw.evaluate_state(obs, zero)
        self._progress.reset(self._tcp(), obs, self._raw_info)

    def _apply_action(self, action: np.ndarray) -> None:
        obs, reward, _, _, info = self._raw.step(action)
        self._raw_obs, self._raw_reward, self._raw_info = obs, float(reward), info

    def _evaluate(self) -> dict[str, Any]:
        progress, subtask = self._progress.update(self._tcp(), self._raw_obs, self._raw_info)
        return {
            "success": bool(self._raw_info["success"]),
            "progress_gt": progress,
            "env_reward": float(self._raw_reward),
            "subtask": subtask,
        }

    def _render_camera(self, name: str) -> np.ndarray:
        if self._renderer is None:
            self._renderer = MultiViewRenderer(
                self._raw.model, self.config.image_size, self.config.shadows
            )
        return self._renderer.render(self._raw.data, name)

    def _proprio(self) -> np.ndarray:
        return self._raw_obs[:STATE_DIM].astype(np.float32)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._raw.close()
        super().close()
