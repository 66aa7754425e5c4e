"""Score episodes with a reward model and turn them into :mod:`robo.reward.metrics` inputs.

Goal frames (backward-anchored perspective) come from one successful demo per task: from
``demos`` when given (for held-out episodes: the training demos), else from the scored episodes
themselves. An episode is never its own goal: its last frame would tell the backward estimate
where it ends, which flatters voc_s, voc_rev and auroc. A task without another demo is scored
without a goal frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from robo.reward.ensemble import score_episode_ensemble
from robo.reward.labels import first_success, progress_labels, rewind_ranges
from robo.reward.metrics import REGRESS_DROP, ScoredEpisode
from robo.reward.model import ProgressRewardModel
from robo.reward.scoring import PERSPECTIVES, ProgressTrace
from robo.types import Episode


def goal_frame(ep: Episode) -> dict[str, np.ndarray]:
    """Camera images at the first success step (or the last step) of a demo."""
    t = first_success(ep)
    t = len(ep) - 1 if t is None else t
    return {cam: frames[t] for cam, frames in ep.images.items()}


def episode_id(ep: Episode) -> tuple[str, str, int]:
    """(task, kind, seed): identifies an episode across loads and runs."""
    return (ep.task, ep.kind, int(ep.seed))


def pick_demos(
    episodes: Sequence[Episode], per_task: int | None = None
) -> dict[str, list[Episode]]:
    """Successful expert episodes per task (demo candidates for goal frames), at most
    ``per_task`` of each (None = all)."""
    out: dict[str, list[Episode]] = {}
    for ep in episodes:
        if ep.kind == "expert" and first_success(ep) is not None:
            out.setdefault(ep.task, []).append(ep)
    return {t: d[:per_task] for t, d in out.items()}


def regress_segments(ep: Episode) -> list[tuple[int, int]]:
    """The recorded rewinds ``[start, end)`` of ``ep`` that really undid progress.

    A rewind expert records the undo it planned; the episode can end inside it (the task
    finished: an object kept sliding into place while the arm backed off), and undoing the first
    moves of a subtask can leave the task's progress where it was. Kept: rewinds that start
    before the last frame (end clipped to it), with no success step inside ``(start, end]``, and,
    where the sim has privileged progress_gt (evaluation labels only), over which it drops by more
    than :data:`~robo.reward.metrics.REGRESS_DROP`.
    """
    T = len(ep)
    success = np.asarray(ep.success, bool)
    gt = np.asarray(ep.progress_gt, np.float64)
    out = []
    for a, b in rewind_ranges(ep):
        b = min(b, T - 1)
        if a >= b or success[a + 1 : b + 1].any():
            continue
        if np.isfinite(gt[a]) and np.isfinite(gt[b]) and not gt[b] < gt[a] - REGRESS_DROP:
            continue
        out.append((a, b))
    return out


def goal_demos(tasks: Sequence[str], root: str | Path) -> dict[str, list[Episode]]:
    """One successful expert per task from the ``<task>-expert`` datasets under ``root``
    (goal frames for episodes of a separate test split). Decodes a few episodes per task."""
    from robo.data import EpisodeReader

    out: dict = {}
    for task in tasks:
        path = Path(root) / f"{task.replace('/', '-')}-expert"
        if not path.is_dir():
            raise FileNotFoundError(f"no expert dataset {path} for goal frames (hint: goal_root=)")
        reader = EpisodeReader(path)
        for i in range(min(len(reader), 3)):
            found = pick_demos([reader.read(i)])
            if found:
                out.update(found)
                break
    return out


def score_for_metrics(
    model: ProgressRewardModel | Sequence[ProgressRewardModel],
    episodes: Sequence[Episode],
    demos: dict[str, list[Episode]] | None = None,
    use_goal: bool = True,
    views: Sequence[str] | None = None,
    perspectives: Sequence[str] = PERSPECTIVES,
    reverse: bool = True,
) -> tuple[list[ScoredEpisode], list[ProgressTrace]]:
    """Score every episode (and successful ones reversed, for ``voc_rev``).

    Args:
        model: a reward model, or the members of an ensemble (:mod:`robo.reward.ensemble`).
        demos: task -> demo episodes for goal frames (default: experts among ``episodes``);
            an episode is never scored against its own goal frame.
        use_goal: condition on a demo goal frame (backward perspective) when one exists.
    Returns:
        (metric inputs, forward traces), aligned with ``episodes``.
    """
    models = [model] if isinstance(model, ProgressRewardModel) else list(model)
    demos = pick_demos(episodes) if demos is None else demos
    ref_len = {t: float(np.median([first_success(d) for d in ds])) for t, ds in demos.items()}
    scored, traces = [], []
    for ep in episodes:
        goal = None
        if use_goal:
            others = [d for d in demos.get(ep.task, []) if episode_id(d) != episode_id(ep)]
            goal = goal_frame(others[0]) if others else None
        kw = {"goal_images": goal, "views": views, "perspectives": perspectives}
        tr = score_episode_ensemble(models, ep, **kw)
        success = first_success(ep) is not None
        rev = None
        if reverse and success:
            rev = score_episode_ensemble(models, ep, reverse=True, **kw).phi
        gt = np.asarray(ep.progress_gt, np.float64)
        scored.append(
            ScoredEpisode(
                task=ep.task,
                kind=ep.kind,
                success=success,
                phi=tr.phi,
                phi_reversed=rev,
                progress_gt=gt if np.isfinite(gt).any() else None,
                rewind_segments=regress_segments(ep),
                rewinds_all=rewind_ranges(ep),
                std=tr.std,
                label=progress_labels(ep, reference_length=ref_len.get(ep.task)),
            )
        )
        traces.append(tr)
    return scored, traces
