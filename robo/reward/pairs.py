"""Training pairs for the hop model, balanced over hop bins and time gaps, with negatives.

:class:`EpisodeStore` keeps each episode's frames (uint8[T', V, S, S, 3], subsampled to at
most ``max_frames``) and its automatic progress labels (:mod:`robo.reward.labels`).
:meth:`EpisodeStore.sample_batch` draws a few episodes, a few frames of each (always the start
frame) plus one goal frame (a success frame of a demo of the same task), encodes each unique
frame once, and draws many (before, after) pairs among them:

* all ordered pairs including zero-gap ones and anchored ones (start -> t, goal -> t), weighted
  by 1 / (count of their hop bin) x 1 / (count of their time-gap bucket) in the batch;
* negatives: ``failure`` and ``random`` episodes that never succeed (:data:`NEGATIVE_KINDS`;
  Φ = 0 throughout, so goal -> t is a hop of -1), rewinds
  (mirrored labels) and instruction swaps (another task's instruction and goal frame, Φ = 0);
* **hard negatives**: a failed attempt starts like a demo and looks much like one, so with
  balanced sampling alone its frames are a few percent of the loss and the model scores a
  failure as steady progress. Each batch therefore pairs up to ``hard_episodes`` of its
  episodes with a failure episode of the same task and draws ``hard_frac`` of its pairs from
  pairs whose AFTER frame is a failure frame: start -> t and t -> t' (hop 0), goal -> t and
  demo frame at Φ > 0 -> t (hop -1), balanced over hop bins among themselves. Only the episode's *kind*
  (failure or random, from the recorder) is used, never the privileged ``progress_gt``;
* **failure decay** (``fail_decay`` > 0): a failed attempt's frames are Φ = 0, and from Φ = 0
  any hop h <= 0 is consistent with the labels (Φ' = Φ + hΦ = 0), so pairs t -> t' (t' later)
  inside a failure episode take the target hop -fail_decay x (t' - t) / L, L the task's median
  demo steps-to-success: time spent in a failed attempt counts as regress at the rate a demo
  progresses. Off by default: at 1.0 it drove voc_fail below 0 but voc_s of successes to 0.07
  (the model learned to expect regress from demo-like frames too; bench/bench_reward_hardneg).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from robo.reward.bins import HopBins, hop_between
from robo.reward.labels import LabelMode, first_success, progress_labels
from robo.reward.scoring import stack_views
from robo.reward.text import embed_instructions
from robo.types import Episode

NEGATIVE_KINDS: tuple[str, ...] = ("failure", "random")
"""Episode kinds whose unsuccessful episodes are hard negatives: a failed attempt of the
scripted expert, and random actions (the states an exploring RL agent visits)."""


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """uint8[..., H, W, 3] -> uint8[..., size, size, 3] (antialiased bilinear)."""
    lead, (h, w) = frames.shape[:-3], frames.shape[-3:-1]
    if (h, w) == (size, size):
        return frames
    x = torch.as_tensor(frames.reshape(-1, h, w, 3)).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    out = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return out.reshape(*lead, size, size, 3)


@dataclass
class Batch:
    """Tensors of one training batch (M pairs over N unique frames)."""

    frames: torch.Tensor  # uint8[N, V, S, S, 3]
    before: torch.Tensor  # long[M] index into frames
    after: torch.Tensor  # long[M]
    start: torch.Tensor  # long[M]
    goal: torch.Tensor  # long[M]
    goal_mask: torch.Tensor  # bool[M]
    view_mask: torch.Tensor  # bool[M, V]
    text: torch.Tensor  # float[M, text_dim]
    hop: torch.Tensor  # float[M] target hop


class EpisodeStore:
    """Frames + labels of training episodes (see the module docstring).

    Args:
        episodes: episodes with at least the model's cameras.
        views: camera order of the model.
        image_size: stored frame side [px].
        label_mode: ``"segments"`` (auto subtasks) or ``"time"`` (ablation).
        max_frames: frames kept per episode (evenly spaced, first success frame kept).
        text_backend: instruction embedding backend.
    """

    def __init__(
        self,
        episodes: list[Episode],
        views: tuple[str, ...],
        image_size: int,
        label_mode: LabelMode = "segments",
        max_frames: int = 48,
        text_backend: str = "minilm",
    ):
        if not episodes:
            raise ValueError("no training episodes (hint: check data=<dataset paths>)")
        self.views = views
        succ_len = defaultdict(list)
        for ep in episodes:
            fs = first_success(ep)
            if fs is not None:
                succ_len[ep.task].append(fs)
        ref_len = {k: float(np.median(v)) for k, v in succ_len.items()}
        self.ref_len = ref_len
        self.frames: list[np.ndarray] = []
        self.phi: list[np.ndarray] = []
        self.times: list[np.ndarray] = []
        self.tasks: list[str] = []
        self.instructions: list[str] = []
        self.kinds: list[str] = []
        self.goals: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.failures: dict[str, list[int]] = defaultdict(list)
        self.weights: list[float] = []
        self.skipped = 0
        self.image_size = image_size
        self.max_frames = max_frames
        for ep in episodes:
            phi = progress_labels(ep, label_mode, ref_len.get(ep.task))
            if phi is None:
                self.skipped += 1
                continue
            self.add(ep, phi)
        if not self.frames:
            raise ValueError("no episode could be labelled (hint: include successful demos)")
        self.text_backend = text_backend
        self._refresh_text()

    def _refresh_text(self) -> None:
        self.task_instruction = dict(zip(self.tasks, self.instructions))
        texts = sorted(set(self.instructions))
        self.text = dict(zip(texts, embed_instructions(texts, self.text_backend)))

    def add(
        self, ep: Episode, phi: np.ndarray, order: np.ndarray | None = None, weight: float = 1.0
    ) -> None:
        """Add ``ep`` with labels ``phi`` float[T]; ``order`` int[T'] re-times it (frames
        ``order[k]`` in that order, e.g. a speed change or a synthetic rewind)."""
        T = len(ep)
        order = np.arange(T) if order is None else np.asarray(order)
        sub = np.unique(np.linspace(0, len(order) - 1, min(len(order), self.max_frames)).round())
        sub = sub.astype(int)
        succ = np.flatnonzero(np.asarray(ep.success, bool)[order])
        fs = int(succ[0]) if len(succ) else None
        if fs is not None and fs not in sub:
            sub = np.unique(np.append(sub, fs))
        idx = order[sub]
        i = len(self.frames)
        self.frames.append(resize_frames(stack_views(ep.images, self.views)[idx], self.image_size))
        self.phi.append(np.asarray(phi, np.float32)[idx])
        self.times.append(sub)
        self.tasks.append(ep.task)
        self.instructions.append(ep.instruction)
        self.kinds.append(ep.kind)
        self.weights.append(float(weight))
        if fs is not None:
            self.goals[ep.task].append((i, int(np.searchsorted(sub, fs))))
        elif ep.kind in NEGATIVE_KINDS:
            self.failures[ep.task].append(i)
        if hasattr(self, "text") and ep.instruction not in self.text:
            self._refresh_text()

    def __len__(self) -> int:
        return len(self.frames)

    def nbytes(self) -> int:
        return sum(f.nbytes for f in self.frames)

    def sample_batch(
        self,
        rng: np.random.Generator,
        bins: HopBins,
        episodes: int = 8,
        frames: int = 6,
        pairs: int = 128,
        swap_prob: float = 0.15,
        view_dropout: float = 0.5,
        goal_dropout: float = 0.3,
        episode_weights: np.ndarray | None = None,
        hard_frac: float = 0.0,
        hard_episodes: int = 2,
        fail_decay: float = 0.0,
    ) -> Batch:
        """One balanced batch; see the module docstring.

        Args:
            hard_frac: share of the ``pairs`` drawn from hard negatives (pairs that end on a
                failure frame, including demo -> failure cross pairs); 0 = plain sampling.
            hard_episodes: chosen episodes (at most) that get a same-task failure partner.
            fail_decay: regress per demo length of failure time (target hop of a later pair
                inside a failure episode, see the module docstring); 0 = hop 0 (off).
        """
        w_ep = np.asarray(self.weights if episode_weights is None else episode_weights, float)
        p = w_ep / w_ep.sum()
        chosen = rng.choice(len(self), size=min(episodes, len(self)), replace=False, p=p)
        all_frames: list[np.ndarray] = []
        cand: list[tuple[int, int, int, int, float, int, str]] = []  # b, a, s, g, hop, gap, text
        hard: list[int] = []  # indices into cand of hard-negative pairs
        tasks = sorted(self.goals)
        partners = hard_episodes if hard_frac > 0 else 0
        for e in chosen:
            e = int(e)
            T = len(self.frames[e])
            k = min(frames, T)
            idx = np.unique(np.concatenate([[0], rng.choice(T, size=k - 1, replace=False)]))
            phi = self.phi[e][idx].astype(np.float64)
            times = self.times[e][idx]
            task, text = self.tasks[e], self.instructions[e]
            if swap_prob > 0 and len(tasks) > 1 and rng.random() < swap_prob:
                task = tasks[rng.integers(len(tasks))]
                while task == self.tasks[e]:
                    task = tasks[rng.integers(len(tasks))]
                text, phi = self.task_instruction[task], np.zeros_like(phi)
            base = sum(len(f) for f in all_frames)
            all_frames.append(self.frames[e][idx])
            g_idx = -1
            if self.goals.get(task):
                ge, gt = self.goals[task][rng.integers(len(self.goals[task]))]
                g_idx = base + len(idx)
                all_frames.append(self.frames[ge][gt : gt + 1])
            is_failure = task == self.tasks[e] and e in self.failures.get(task, ())
            rate = self._decay_rate(task, fail_decay)
            n0 = len(cand)
            self._episode_pairs(cand, base, g_idx, phi, times, text, rate if is_failure else 0.0)
            if is_failure:
                hard.extend(range(n0, len(cand)))
            elif partners > 0 and task == self.tasks[e] and self.failures.get(task):
                partners -= 1
                f = int(rng.choice(self.failures[task]))
                fidx = np.unique(
                    np.concatenate([[0], rng.choice(len(self.frames[f]), k - 1, replace=False)])
                    if len(self.frames[f]) >= k
                    else np.arange(len(self.frames[f]))
                )
                fbase = sum(len(fr) for fr in all_frames)
                all_frames.append(self.frames[f][fidx])
                n0 = len(cand)
                fphi = self.phi[f][fidx].astype(np.float64)
                self._episode_pairs(cand, fbase, g_idx, fphi, self.times[f][fidx], text, rate)
                for i in range(len(idx)):  # demo frame -> failure frame of the same task
                    for j in range(len(fidx)):
                        hop = float(hop_between(phi[i], fphi[j]))
                        cand.append((base + i, fbase + j, fbase, g_idx, hop, -1, text))
                hard.extend(range(n0, len(cand)))
        hops = np.array([c[4] for c in cand])
        gaps = np.array([c[5] for c in cand])
        hb = bins.index(hops)
        gb = np.where(gaps < 0, -1, np.ceil(np.log2(np.maximum(gaps, 0) + 1)).astype(int))
        w = 1.0 / np.bincount(hb)[hb] / np.bincount(gb + 1)[gb + 1]
        n_hard = int(round(hard_frac * pairs)) if hard else 0
        pick = rng.choice(len(cand), size=pairs - n_hard, replace=True, p=w / w.sum())
        if n_hard:
            hard_idx = np.asarray(hard)
            wh = 1.0 / np.bincount(hb[hard_idx])[hb[hard_idx]]
            pick = np.concatenate([pick, rng.choice(hard_idx, n_hard, p=wh / wh.sum())])
        sel = [cand[i] for i in pick]
        m, v = len(sel), len(self.views)
        view_mask = np.ones((m, v), bool)
        drop = rng.random(m) < view_dropout
        for r in np.flatnonzero(drop):
            keep = rng.integers(1, v + 1) if v > 1 else 1
            view_mask[r] = False
            view_mask[r, rng.choice(v, size=keep, replace=False)] = True
        goal_idx = np.array([s[3] for s in sel])
        before = np.array([s[0] for s in sel])
        goal_mask = (goal_idx >= 0) & ((rng.random(m) >= goal_dropout) | (before == goal_idx))
        return Batch(
            frames=torch.as_tensor(np.concatenate(all_frames, 0)),
            before=torch.as_tensor(before),
            after=torch.as_tensor(np.array([s[1] for s in sel])),
            start=torch.as_tensor(np.array([s[2] for s in sel])),
            goal=torch.as_tensor(np.maximum(goal_idx, 0)),
            goal_mask=torch.as_tensor(goal_mask),
            view_mask=torch.as_tensor(view_mask),
            text=torch.as_tensor(np.stack([self.text_for(s[6]) for s in sel])),
            hop=torch.as_tensor(np.array([s[4] for s in sel], np.float32)),
        )

    def _decay_rate(self, task: str, fail_decay: float) -> float:
        """Regress per step [1/step] of a failure of ``task`` (0 when off or no demo)."""
        if fail_decay <= 0 or task not in self.ref_len:
            return 0.0
        return fail_decay / max(self.ref_len[task], 1.0)

    @staticmethod
    def _episode_pairs(
        cand: list,
        base: int,
        g_idx: int,
        phi: np.ndarray,
        times: np.ndarray,
        text: str,
        decay_rate: float = 0.0,
    ) -> None:
        """Append every ordered pair of one episode's sampled frames (and goal -> frame).

        ``decay_rate`` [1/step] > 0 marks a failure episode (all Φ = 0): a pair forward in time
        gets the hop -min(1, decay_rate x steps between the frames).
        """
        for i in range(len(phi)):
            for j in range(len(phi)):
                gap = int(abs(times[j] - times[i]))
                hop = float(hop_between(phi[i], phi[j]))
                if decay_rate > 0 and times[j] > times[i]:
                    hop = -min(1.0, decay_rate * gap)
                cand.append((base + i, base + j, base, g_idx, hop, gap, text))
            if g_idx >= 0:
                cand.append(
                    (g_idx, base + i, base, g_idx, float(hop_between(1.0, phi[i])), -1, text)
                )

    def text_for(self, instruction: str) -> np.ndarray:
        return self.text[instruction]
