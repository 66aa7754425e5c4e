"""Default configuration of the robosuite family."""

from __future__ import annotations

from dataclasses import dataclass

from sims.config import TaskConfig


@dataclass
class RobosuiteConfig(TaskConfig):
    """Options of a robosuite task (``sims.make("robosuite/lift", image_size=128)``).

    Attributes:
        control_freq: policy steps per simulated second [Hz]; one ``env.step`` lasts
            ``1 / control_freq`` s (the OSC controller runs at the 500 Hz physics rate inside it).
        robot: robosuite robot name (the experts are tuned for ``"Panda"``). The arm always
            runs robosuite's OSC_POSE controller: 6-D end-effector delta, xyz [m] scaled by 0.05
            and axis-angle [rad] scaled by 0.5 per unit of action.
        initialization_noise: std of the Gaussian joint noise at reset [rad] (seeded).
    """

    image_size: int = 96
    max_episode_steps: int = 200
    control_freq: int = 20
    robot: str = "Panda"
    initialization_noise: float = 0.02
