"""robosuite scripted experts with ``failure=True`` fail on purpose."""

from __future__ import annotations

import pytest

import sims

pytest.importorskip("robosuite")


@pytest.mark.parametrize(("task", "steps"), [("lift", 80), ("door", 120), ("stack", 150)])
def test_expert_failure_mode_fails(task, steps, run_episode):
    name = f"robosuite/{task}"
    env = sims.make(name, render=False, max_episode_steps=steps)
    try:
        expert = sims.get_spec(name).expert(failure=True)
        info, progress = run_episode(env, expert, seed=0)
        assert not info["success"] and progress.max() < 1.0
    finally:
        env.close()
