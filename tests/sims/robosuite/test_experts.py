"""robosuite scripted experts: succeed on a couple of seeds, fail on purpose when asked."""

from __future__ import annotations

import pytest

import sims

pytest.importorskip("robosuite")


@pytest.mark.parametrize(
    ("task", "seeds"),
    [
        ("lift", (0, 1)),
        ("stack", (0,)),
        ("pick-place-can", (0,)),
        ("door", (0,)),
        pytest.param("stack", (1, 2), marks=pytest.mark.slow),
        pytest.param("pick-place-can", (1, 2), marks=pytest.mark.slow),
        pytest.param("door", (1, 2), marks=pytest.mark.slow),
    ],
)
def test_expert_succeeds(task, seeds, run_episode):
    name = f"robosuite/{task}"
    env = sims.make(name, render=False)
    try:
        expert = sims.get_spec(name).expert()
        assert expert.subtask_names()
        for seed in seeds:
            info, progress = run_episode(env, expert, seed)
            assert info["success"], f"{name} seed {seed}"
            assert progress[-1] == 1.0 and progress[0] < 0.2
    finally:
        env.close()
