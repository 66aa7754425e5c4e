"""``robo.data.collect.rollout`` keeps the expert's rewind/pause ranges inside the episode."""

from __future__ import annotations

import numpy as np

from robo.data.collect import rollout


class PlannedTooFar:
    """Holds still; claims a rewind planned past the episode's end and one after it."""

    def reset(self, env, obs, info) -> None:
        pass

    def act(self, env, obs, info):
        return env.unwrapped.hold_action()

    def subtask_names(self):
        return ("reach",)

    def metadata(self):
        return {"kind": "rewind", "params": {}, "rewinds": [[2, 40], [50, 60]], "pauses": [[1, 3]]}


def test_ranges_are_clipped_to_executed_steps(fake_tasks):
    import sims

    env = sims.make("fake/reach", image_size=16, max_episode_steps=6)
    ep = rollout(env, PlannedTooFar(), seed=0)
    steps = len(ep) - 1
    assert steps == 6
    assert ep.meta["rewinds"] == [[2, 6]]
    assert ep.meta["rewinds_planned"] == [[2, 40], [50, 60]]
    assert ep.meta["pauses"] == [[1, 3]] and "pauses_planned" not in ep.meta
    assert np.all(ep.action[-1] == env.unwrapped.hold_action())
