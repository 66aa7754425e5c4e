"""Small ChunkPolicies for deploy dry runs, tests and benchmarks (no learning involved).

* :class:`ScriptedPolicy`: a smooth joint-space sway around a home pose (``policy=scripted``).
* :class:`ReplayPolicy`: replays the action column of a recorded episode (``policy=replay:<dir>``).

Both return chunks float32[n, H, A] of absolute joint targets [rad] like a trained SO-101
policy, so the control loop cannot tell them apart from a diffusion policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from robo.types import Observation


class ScriptedPolicy:
    """Joint targets ``home + amp * sin(2π f t + phase)`` sampled on the control grid.

    Args:
        home: float[A] centre pose [rad].
        amplitude: float[A] sway per joint [rad].
        freq_hz: sway frequency [Hz].
        control_dt: spacing of the chunk's rows [s].
        horizon / executed: chunk length and executed prefix [steps].
    """

    def __init__(
        self,
        home: tuple[float, ...] = (0.0, -1.2, 1.2, 0.6, 0.0, 0.3),
        amplitude: tuple[float, ...] = (0.35, 0.15, 0.15, 0.2, 0.3, 0.25),
        freq_hz: float = 0.25,
        control_dt: float = 1.0 / 30.0,
        horizon: int = 16,
        executed: int = 8,
    ):
        self.home = np.asarray(home, dtype=np.float64)
        self.amplitude = np.asarray(amplitude, dtype=np.float64)
        self.freq_hz = freq_hz
        self.control_dt = control_dt
        self.horizon = horizon
        self.action_dim = len(home)
        self.executed = executed
        self._t0: float | None = None

    def sample(self, obs: Observation, n: int = 1, steer: Any | None = None) -> torch.Tensor:
        t_obs = float(obs["timestamp"])
        if self._t0 is None:
            self._t0 = t_obs
        t = t_obs - self._t0 + self.control_dt * np.arange(self.horizon)
        phase = np.linspace(0.0, np.pi, self.action_dim)
        # Ramp the amplitude in over 1 s so the first chunk starts at the home pose.
        ramp = np.clip(t / 1.0, 0.0, 1.0)[:, None]
        chunk = self.home + ramp * self.amplitude * np.sin(
            2 * np.pi * self.freq_hz * t[:, None] + phase
        )
        return torch.as_tensor(np.repeat(chunk[None], n, 0), dtype=torch.float32)

    def log_prob(self, obs: Observation, chunks: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("ScriptedPolicy is deterministic: no likelihood")

    def save(self, path: str | Path) -> None:
        raise NotImplementedError("ScriptedPolicy has no parameters to save")


class ReplayPolicy:
    """Replays ``actions`` float[T, A] (e.g. an episode's action column) chunk by chunk.

    The step index advances by ``executed`` per call, as the control loop consumes chunks.
    """

    def __init__(self, actions: np.ndarray, horizon: int = 16, executed: int = 8):
        actions = np.asarray(actions, dtype=np.float32)
        if actions.ndim != 2 or len(actions) == 0:
            raise ValueError(f"replay actions must be [T, A] with T >= 1, got {actions.shape}")
        self.actions = actions
        self.horizon = horizon
        self.action_dim = actions.shape[1]
        self.executed = executed
        self._i = 0

    @classmethod
    def from_dataset(cls, root: str | Path, episode: int = 0, **kw: Any) -> ReplayPolicy:
        """The action column of episode ``episode`` of a LeRobotDataset at ``root``."""
        import pandas as pd

        root = Path(root).expanduser()
        files = sorted((root / "data").rglob("*.parquet"))
        if not files:
            raise FileNotFoundError(
                f"no episodes under {root}/data (hint: record= or collect first)"
            )
        df = pd.concat([pd.read_parquet(f, columns=["episode_index", "action"]) for f in files])
        rows = df[df["episode_index"] == episode]["action"]
        if rows.empty:
            raise ValueError(f"{root} has no episode {episode} (hint: episodes start at 0)")
        return cls(np.stack(rows.to_numpy()), **kw)

    def sample(self, obs: Observation, n: int = 1, steer: Any | None = None) -> torch.Tensor:
        idx = np.clip(self._i + np.arange(self.horizon), 0, len(self.actions) - 1)
        self._i += self.executed
        chunk = self.actions[idx]
        return torch.as_tensor(np.repeat(chunk[None], n, 0))

    def log_prob(self, obs: Observation, chunks: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("ReplayPolicy has no likelihood")

    def save(self, path: str | Path) -> None:
        raise NotImplementedError("ReplayPolicy has no parameters to save")


def make_policy(spec: str, control_dt: float, home: tuple[float, ...] | None = None) -> Any:
    """``scripted`` | ``replay:<dataset dir>`` | a checkpoint path (``robo.policy.load_policy``)."""
    if spec == "scripted":
        kw: dict[str, Any] = {"control_dt": control_dt}
        if home is not None:
            kw["home"] = tuple(home)
        return ScriptedPolicy(**kw)
    if spec.startswith("replay:"):
        return ReplayPolicy.from_dataset(spec.split(":", 1)[1])
    path = Path(spec).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"policy {spec!r} is not a checkpoint path (hint: policy=scripted, "
            "policy=replay:<dataset dir>, or policy=<checkpoint dir>)"
        )
    from robo.policy import load_policy

    return load_policy(path)
