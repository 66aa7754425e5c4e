import numpy as np
import torch

from robo.eval.policy_eval import EpisodeLog, draw_paths, run_episode, summarize


class LineEnv:
    """1-D toy env: success when the position passes 1.0; truncates after 20 steps."""

    def reset(self, seed=None):
        self.x, self.t = 0.0, 0
        return {"state": np.array([self.x], np.float32)}, {"success": False}

    def step(self, action):
        self.x += float(action[0])
        self.t += 1
        ok = self.x >= 1.0
        return (
            {"state": np.array([self.x], np.float32)},
            float(ok),
            ok,
            self.t >= 20,
            {"success": ok},
        )


class ConstantPolicy:
    horizon, action_dim, executed = 4, 1, 2

    def __init__(self, step):
        self.step, self.last_info, self.calls = step, {}, 0

    def sample(self, obs, n=1, steer=None, generator=None):
        self.calls += 1
        self.last_info = {"nfe": 10}
        return torch.full((n, 4, 1), self.step)


def test_run_episode_executes_prefixes_and_summarizes():
    env = LineEnv()
    log = run_episode(env, ConstantPolicy(0.3), seed=0)
    assert log.success and log.steps == 4 and len(log.ms) == 2 and log.nfe == [10, 10]
    fail = run_episode(env, ConstantPolicy(0.0), seed=1)
    assert not fail.success and fail.steps == 20
    m = summarize([log, fail], {"task": "toy"})
    assert m["success"] == 0.5 and m["n"] == 2 and m["ci_low"] < 0.5 < m["ci_high"]
    assert m["nfe_per_chunk"] == 10 and m["task"] == "toy" and m["ms_per_chunk"]["p99"] >= 0


def test_run_episode_records_frames_with_paths():
    env = LineEnv()

    def path_of(chunks, obs):
        xs = obs["state"][0] + torch.cumsum(chunks[..., 0], -1).numpy()
        return np.stack([xs, np.zeros_like(xs), np.zeros_like(xs)], -1)

    log = run_episode(
        env, ConstantPolicy(0.3), seed=0, frame=lambda e: np.zeros((32, 32, 3), np.uint8),
        path_of=path_of, scene=lambda e: {"goal": [1.0, 0.0, 0.0]},
    )  # fmt: skip
    assert len(log.frames) == log.steps and log.frames[0].shape == (32, 64, 3)


def test_draw_paths_marks_the_executed_path_red():
    paths = np.zeros((3, 5, 3))
    paths[:, :, 0] = np.linspace(0, 0.2, 5)
    img = draw_paths(None, paths, paths[0], {"goal": [0.2, 0, 0], "table": [0, 0, -5]}, size=64)
    assert img.shape == (64, 64, 3)
    red = (img[..., 0] > 200) & (img[..., 1] < 80)
    assert red.any()
    assert isinstance(EpisodeLog(seed=0, success=False, steps=0).frames, list)


def test_collision_free_success_needs_success_before_the_first_collision():
    from robo.eval.policy_eval import collision_free

    logs = [
        EpisodeLog(seed=0, success=True, steps=9, success_step=9),  # clean
        EpisodeLog(seed=1, success=True, steps=9, success_step=9, collision_step=4),  # scraped
        EpisodeLog(seed=2, success=True, steps=9, success_step=5, collision_step=7),  # after
        EpisodeLog(seed=3, success=False, steps=9, collision_step=2),
    ]
    assert [collision_free(log) for log in logs] == [True, False, True, False]
    m = summarize(logs)
    assert m["success"] == 0.75 and m["collision_free"]["success"] == 0.5
    assert m["collision_rate"] == 0.75
    assert m["per_episode_collision"] == [False, True, True, True]
