"""Configuration of the SO-101 tasks."""

from __future__ import annotations

from dataclasses import dataclass

from sims.config import TaskConfig


@dataclass
class SO101Config(TaskConfig):
    """Options of every ``so101/*`` task (plus those of :class:`sims.config.TaskConfig`).

    Attributes:
        control_dt: seconds per ``env.step`` (20 Hz); must be a multiple of ``sim_dt``.
        sim_dt: MuJoCo physics timestep [s]; ``control_dt / sim_dt`` substeps per step.
        home_noise: scale of the seeded joint noise added to the home pose [rad].
    """

    control_dt: float = 0.05
    sim_dt: float = 0.002
    home_noise: float = 1.0
