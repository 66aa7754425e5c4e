"""Pictures of a reward-model evaluation: progress curves under filmstrips, a reliability
diagram of Φ, a coverage diagram of its std, and an mp4 with the progress trace drawn under
the video.

Inputs are episodes (:class:`robo.types.Episode`) with their predicted progress Φ float[T]
(and its std float[T]); everything written is PNG / mp4 under the given folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from robo.eval.media import contact_sheet, save_png, tile_views, write_mp4
from robo.types import Episode


def _fig_to_array(fig) -> np.ndarray:
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    import matplotlib.pyplot as plt

    plt.close(fig)
    return img


def progress_figure(
    ep: Episode,
    phi: np.ndarray,
    std: np.ndarray | None = None,
    perspectives: dict[str, np.ndarray] | None = None,
    camera: str | None = None,
    title: str | None = None,
) -> np.ndarray:
    """uint8[H, W, 3]: a filmstrip of one camera above Φ(t) (±std band), the perspectives,
    the privileged progress_gt (if any) and the time-only baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cam = camera or next(iter(ep.images))
    strip = contact_sheet(ep.images[cam], n=8, title=title or f"{ep.task} [{ep.kind}] {cam}")
    T = len(phi)
    t = np.arange(T)
    fig, ax = plt.subplots(figsize=(strip.shape[1] / 100, 2.6), dpi=100)
    ax.plot(t, phi, color="C0", lw=2, label="Φ (fused)")
    if std is not None:
        ax.fill_between(
            t, np.clip(phi - std, 0, 1), np.clip(phi + std, 0, 1), color="C0", alpha=0.2
        )
    for i, (name, trace) in enumerate((perspectives or {}).items()):
        if np.isfinite(trace).any():
            ax.plot(t, trace, ls="--", lw=1, color=f"C{i + 3}", label=name)
    gt = np.asarray(ep.progress_gt, float)
    if np.isfinite(gt).any():
        ax.plot(t, gt, color="k", lw=1.2, label="progress_gt")
    ax.plot(t, t / max(T - 1, 1), color="0.6", lw=1, ls=":", label="time baseline")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, max(T - 1, 1))
    ax.set_xlabel("step")
    ax.set_ylabel("progress")
    ax.legend(fontsize=6, loc="upper left", ncol=3)
    fig.tight_layout()
    plot = _fig_to_array(fig)
    if plot.shape[1] != strip.shape[1]:
        plot = np.asarray(
            Image.fromarray(plot).resize(
                (strip.shape[1], plot.shape[0] * strip.shape[1] // plot.shape[1])
            )
        )
    return np.concatenate([strip, plot], axis=0)


def reliability_figure(
    centers: np.ndarray, mean_gt: np.ndarray, counts: np.ndarray, ece: float | None
) -> np.ndarray:
    """uint8[H, W, 3]: mean progress_gt per predicted-Φ bin against the diagonal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.plot([0, 1], [0, 1], color="0.6", ls=":")
    ok = counts > 0
    ax.bar(centers[ok], mean_gt[ok], width=0.09, alpha=0.7, edgecolor="k")
    ax.set_xlabel("predicted Φ")
    ax.set_ylabel("mean progress_gt")
    ax.set_title(f"reliability (ECE {ece:.3f})" if ece is not None else "reliability")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    fig.tight_layout()
    return _fig_to_array(fig)


def coverage_figure(levels: np.ndarray, coverage: np.ndarray, unc_ece: float | None) -> np.ndarray:
    """uint8[H, W, 3]: observed coverage of the ±z_q std intervals against nominal level q."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.plot([0, 1], [0, 1], color="0.6", ls=":")
    ax.plot(levels, coverage, "o-")
    ax.set_xlabel("nominal level q (Gaussian interval ±z_q std)")
    ax.set_ylabel("fraction of steps with |Φ - progress_gt| inside")
    title = "uncertainty calibration"
    ax.set_title(f"{title} (err {unc_ece:.3f})" if unc_ece is not None else title)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    fig.tight_layout()
    return _fig_to_array(fig)


def trace_video_frames(
    ep: Episode, phi: np.ndarray, std: np.ndarray | None = None, height: int = 60
) -> list[np.ndarray]:
    """Frames of all cameras side by side with the Φ trace drawn below (uint8[H, W, 3] each)."""
    cams = list(ep.images)
    T = len(phi)
    frames = []
    for t in range(T):
        top = tile_views([ep.images[c][t] for c in cams])
        w = top.shape[1]
        panel = Image.new("RGB", (w, height), (20, 20, 20))
        draw = ImageDraw.Draw(panel)
        xs = np.linspace(2, w - 3, max(T, 2))

        def y(v: float) -> float:
            return height - 4 - float(np.clip(v, 0, 1)) * (height - 16)

        pts = [(float(xs[k]), y(phi[k])) for k in range(t + 1)]
        if std is not None:
            for k in range(t + 1):
                draw.line(
                    [(xs[k], y(phi[k] + std[k])), (xs[k], y(phi[k] - std[k]))], fill=(40, 70, 110)
                )
        if len(pts) > 1:
            draw.line(pts, fill=(90, 170, 255), width=2)
        draw.line([(xs[t], 12), (xs[t], height - 2)], fill=(200, 200, 200))
        draw.text((3, 0), f"t={t}  progress={phi[t]:.2f}", fill=(255, 255, 255))
        frames.append(np.concatenate([top, np.asarray(panel)], axis=0))
    return frames


def write_reward_report(
    out_dir: str | Path,
    episodes: Sequence[Episode],
    traces: Sequence,
    reliability: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ece: float | None = None,
    max_figures: int = 12,
    videos: int = 2,
    fps: int = 10,
    coverage: tuple[np.ndarray, np.ndarray, float | None] | None = None,
) -> list[Path]:
    """Write ``progress_<i>.png`` (one per episode, up to ``max_figures``, spread over tasks
    and kinds), ``reliability.png``, ``uncertainty.png`` (with ``coverage`` = (levels,
    observed coverage, unc_ece)) and ``trace_<i>.mp4`` (first ``videos`` episodes).

    ``traces`` items need ``phi``, ``std`` and ``perspectives`` (a :class:`ProgressTrace`).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    seen: set[tuple[str, str]] = set()
    order = [
        i
        for i, e in enumerate(episodes)
        if (e.task, e.kind) not in seen and not seen.add((e.task, e.kind))
    ]
    order += [i for i in range(len(episodes)) if i not in order]
    for n, i in enumerate(order[:max_figures]):
        tr = traces[i]
        img = progress_figure(episodes[i], tr.phi, tr.std, tr.perspectives)
        written.append(save_png(img, out / f"progress_{n:02d}.png"))
    if reliability is not None:
        written.append(save_png(reliability_figure(*reliability, ece), out / "reliability.png"))
    if coverage is not None:
        written.append(save_png(coverage_figure(*coverage), out / "uncertainty.png"))
    for n, i in enumerate(order[:videos]):
        frames = trace_video_frames(episodes[i], traces[i].phi, traces[i].std)
        written.append(write_mp4(frames, out / f"trace_{n:02d}.mp4", fps=fps))
    return written
