"""Configuration of Meta-World tasks: :class:`MetaWorldConfig` extends the shared TaskConfig."""

from __future__ import annotations

from dataclasses import dataclass

from sims.config import TaskConfig


@dataclass
class MetaWorldConfig(TaskConfig):
    """Options of every ``metaworld/<task>`` env (plus those of :class:`sims.config.TaskConfig`).

    Attributes:
        camera_jitter_pos: ``shift="camera"``: max offset of each third-person camera [m].
        camera_jitter_deg: ``shift="camera"``: max rotation of each third-person camera [deg].
        obstacle_half_size: ``shift="obstacle"``: half edge of the obstacle cube [m].
    """

    max_episode_steps: int = 250
    camera_jitter_pos: float = 0.05
    camera_jitter_deg: float = 5.0
    obstacle_half_size: float = 0.03
