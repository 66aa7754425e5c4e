"""Building and seeding the raw Meta-World v3 env (no rendering, no robo contract).

Meta-World's benchmarks (MT1, ML1) pre-draw 50 layouts from their own generator and hand them
out as "tasks"; ``reset(seed=...)`` does not change the scene. Here task sampling is off
(``_set_task_called`` without a task) and the layout vector is drawn from
``np.random.default_rng(seed)`` inside the env's own ``_random_reset_space`` on every reset,
so ``seed=k`` always gives the same scene and different seeds give different scenes. Rejection
loops inside ``reset_model`` (e.g. pick-place's goal-far-from-object check) draw from the same
seeded generator, so they stay deterministic.
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np
from metaworld.env_dict import ENV_CLS_MAP
from metaworld.sawyer_xyz_env import SawyerXYZEnv

OBSTACLE_NAME = "robo_obstacle"
"""Name of the body and geom the ``obstacle`` shift adds to the model."""

_PARKED = np.array([0.0, 0.0, -5.0])  # far below the floor: the obstacle out of the way [m]


def _obstacle_initialize_simulation(self: Any) -> tuple[mujoco.MjModel, mujoco.MjData]:
    # Replaces MujocoEnv._initialize_simulation: same XML plus one static box in the world.
    spec = mujoco.MjSpec.from_file(self.fullpath)
    body = spec.worldbody.add_body(name=OBSTACLE_NAME, pos=_PARKED)
    half = np.broadcast_to(np.asarray(self._robo_obstacle_half_size, dtype=np.float64), 3)
    body.add_geom(
        name=OBSTACLE_NAME,
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=half.tolist(),
        rgba=[0.85, 0.55, 0.1, 1.0],
        contype=7,  # collide with the arm (4), gripper base/pads (1) and claws (2)
        conaffinity=7,
        friction=[1.0, 0.005, 0.0001],
    )
    model = spec.compile()
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, self.width)
    model.vis.global_.offheight = max(model.vis.global_.offheight, self.height)
    return model, mujoco.MjData(model)


def make_raw_env(
    env_id: str, obstacle_half_size: float | tuple[float, float, float] | None = None
) -> SawyerXYZEnv:
    """A Meta-World v3 env with the goal observable and seed-controlled layouts.

    Args:
        env_id: Meta-World name, e.g. ``"pick-place-v3"``.
        obstacle_half_size: if set, the model gets a static box of this half edge [m] (a cube)
            or half sizes (x, y, z) [m], parked out of the scene until :func:`place_obstacle`
            moves it (the ``obstacle`` cube, or the ``surface`` shift's raised section).

    Returns:
        The raw env; call :func:`reset_raw_env` (not ``env.reset``) to start an episode.
    """
    cls = ENV_CLS_MAP[env_id]
    if obstacle_half_size is not None:
        cls = type(
            cls.__name__ + "WithObstacle",
            (cls,),
            {
                "_initialize_simulation": _obstacle_initialize_simulation,
                "_robo_obstacle_half_size": obstacle_half_size,
            },
        )
    env = cls()
    env._partially_observable = False  # the goal is part of the raw obs (experts read it)
    del env.sawyer_observation_space  # cached for the hidden-goal layout: recompute
    env._set_task_called = True
    env._freeze_rand_vec = False
    env.seeded_rand_vec = True  # draw the layout from env.np_random, which reset seeds
    env.max_path_length = 2**62  # robo's TaskEnv truncates episodes, not Meta-World
    return env


def reset_raw_env(env: SawyerXYZEnv, seed: int) -> np.ndarray:
    """Reset ``env`` to the layout of ``seed``; returns the raw float64[39] observation.

    Some Meta-World v3 ``reset_model`` s set joint positions after the last kinematics pass
    (window-close sets ``window_slide`` and builds its observation without ``mj_forward``), so
    site positions, the reset observation and ``evaluate_state`` describe the *previous*
    layout: window-close reported ``success`` at reset and recorded a success on frame 0 of
    every episode. Kinematics are recomputed here and the observation rebuilt the way
    Meta-World's ``reset`` builds it (current object block repeated as the "previous" one);
    for tasks whose reset was already consistent this changes nothing.
    """
    if has_obstacle(env):
        place_obstacle(env, _PARKED)  # keep last episode's obstacle out of the hand reset
    env.np_random = np.random.default_rng(seed)
    obs, _ = env.reset()
    mujoco.mj_forward(env.model, env.data)
    curr = np.asarray(env._get_curr_obs_combined_no_goal(), dtype=np.float64)
    obs = np.asarray(obs, dtype=np.float64).copy()
    obs[:18] = curr
    obs[18:36] = curr
    env._prev_obs = curr.copy()
    return obs


def has_obstacle(env: SawyerXYZEnv) -> bool:
    """Whether ``env``'s model contains the obstacle body."""
    return mujoco.mj_name2id(env.model, mujoco.mjtObj.mjOBJ_BODY, OBSTACLE_NAME) >= 0


def place_obstacle(env: SawyerXYZEnv, pos: np.ndarray) -> None:
    """Move the obstacle body to ``pos`` (float[3], world frame [m]) and recompute kinematics."""
    body = env.model.body(OBSTACLE_NAME)
    env.model.body_pos[body.id] = pos
    mujoco.mj_forward(env.model, env.data)
