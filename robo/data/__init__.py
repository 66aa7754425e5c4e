"""Episodes on disk (LeRobotDataset v3 + robo sidecar), recording, frame/pair sampling.

* :class:`EpisodeWriter`: durable, resumable episode recording with LeRobot's writer;
  :func:`repair` rolls a killed collection back to its last committed episode.
* :class:`EpisodeReader` / :func:`read_episodes`: committed episodes as :class:`robo.types.Episode`.
* :class:`FramePairDataset`: random frame pairs for training (torch Dataset).
* :func:`collect`: record labelled expert episodes of a sim task (``robo collect``).
"""

from robo.data.reader import EpisodeReader, read_episodes
from robo.data.schema import DatasetError, DatasetSpec
from robo.data.writer import EpisodeWriter, repair

__all__ = [
    "DatasetError",
    "DatasetSpec",
    "EpisodeReader",
    "EpisodeWriter",
    "FramePairDataset",
    "collect",
    "read_episodes",
    "repair",
]


def __getattr__(name: str):
    # Lazy: torch (pairs) and sims (collect) load only when used.
    if name == "FramePairDataset":
        from robo.data.pairs import FramePairDataset

        return FramePairDataset
    if name == "collect":
        from robo.data.collect import collect

        return collect
    raise AttributeError(f"module 'robo.data' has no attribute {name!r}")
