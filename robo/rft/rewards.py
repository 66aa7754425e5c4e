"""Chunk rewards for RL fine-tuning: QACR, CTAR, FCR (offline) and their weighted sum.

All take a group of ``n`` sampled chunks for one observation and the demonstration's chunk at
that observation, and return float32[n] in [0, 1]:

* **QACR** (quantised action consistency): fraction of action tokens equal to the demo's
  tokens, ``mean_i 1[tok_i = demo_tok_i]`` over the scored tokens.
* **CTAR** (continuous trajectory alignment): per control step ``t`` of the decoded chunk,
  ``β·exp(−α·d_t) + (1−β)·1[gripper matches]`` averaged over the scored steps, where ``d_t`` is
  the Euclidean distance [action units] between the non-gripper action dimensions of the chunk
  and of the demo at step ``t``. An invalid chunk scores 0.
* **FCR** (format compliance): 1 if the chunk decodes, else 0.

The online terms (GRM progress gain over the executed chunk, sparse success) are computed in
:mod:`robo.rft.online`. ``expert_qacr`` / ``expert_ctar`` are QACR and CTAR against the
*scripted expert's* chunk at a state the policy itself visited (mode ``visited``,
:mod:`robo.rft.visited`): dense per-chunk credit exactly where the policy drifts off the demos.
:class:`RewardWeights` combines all seven by config weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

REWARD_NAMES: tuple[str, ...] = (
    "qacr", "ctar", "fcr", "grm", "success", "expert_qacr", "expert_ctar"
)  # fmt: skip
OFFLINE_REWARDS: tuple[str, ...] = ("qacr", "ctar", "fcr")
EXPERT_REWARDS: tuple[str, ...] = ("expert_qacr", "expert_ctar", "fcr")


@dataclass(frozen=True)
class GripperSpec:
    """Which action dimensions are the gripper and how a match is decided.

    ``mode="sign"``: the gripper command is a signed open(-)/close(+) value (Meta-World dim 3,
    robosuite OSC dim 6), it matches when the signs agree (|value| < ``tol`` counts as 0).
    ``mode="tol"``: the gripper is a position target [rad] (SO-101 joint 5), it matches when
    ``|a - demo| <= tol``.
    """

    dims: tuple[int, ...] = ()
    mode: str = "sign"
    tol: float = 0.05


GRIPPER_BY_FAMILY: dict[str, GripperSpec] = {
    "metaworld": GripperSpec((3,), "sign", 0.05),  # action [dx, dy, dz, grip]
    "robosuite": GripperSpec((6,), "sign", 0.05),  # OSC_POSE [dpos(3), drot(3), grip]
    "so101": GripperSpec((5,), "tol", 0.1),  # joint targets [rad], joint 5 = gripper
}
"""Gripper dimension per task family (matches ``gripper_dims`` of each ``sims`` env)."""


def gripper_spec(task: str) -> GripperSpec:
    """The :class:`GripperSpec` of ``family/task`` (no gripper term for unknown families)."""
    return GRIPPER_BY_FAMILY.get(task.split("/", 1)[0], GripperSpec())


@dataclass
class RewardWeights:
    """Weights of the seven chunk rewards (0 switches one off). ``expert_qacr`` /
    ``expert_ctar`` score against the scripted expert's chunk at visited states (mode
    ``visited``); the others as in the module docstring."""

    qacr: float = 0.0
    ctar: float = 1.0
    fcr: float = 0.1
    grm: float = 0.0
    success: float = 0.0
    expert_qacr: float = 0.0
    expert_ctar: float = 0.0

    def __post_init__(self) -> None:
        for name, w in asdict(self).items():
            if w < 0:
                raise ValueError(f"rewards.{name}={w} must be >= 0")

    def active(self) -> dict[str, float]:
        """Name -> weight of the rewards switched on."""
        return {k: float(v) for k, v in asdict(self).items() if v > 0}

    def combine(self, parts: dict[str, torch.Tensor]) -> torch.Tensor:
        """Weighted sum float32[n] of the reward terms in ``parts`` (missing active ones raise)."""
        missing = [k for k in self.active() if k not in parts]
        if missing:
            raise ValueError(f"rewards {missing} are weighted but were not computed")
        ref = next(iter(parts.values()))
        total = torch.zeros_like(ref, dtype=torch.float32)
        for name, w in self.active().items():
            total = total + w * parts[name].float()
        return total


def qacr(
    tokens: torch.Tensor, demo_tokens: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Fraction of tokens equal to the demo's: int64[n, L] vs int64[L] (or [n, L]) -> float32[n].

    ``mask`` bool[L] or bool[n, L] restricts the count to some tokens (e.g. the executed
    prefix, or a variable-length chunk's tokens up to EOS).
    """
    same = (tokens == demo_tokens.expand_as(tokens)).float()
    if mask is None:
        return same.mean(-1)
    m = mask.to(same.device).float().expand_as(same)
    return (same * m).sum(-1) / m.sum(-1).clamp_min(1.0)


def ctar(
    chunks: torch.Tensor,
    valid: torch.Tensor,
    demo_chunk: torch.Tensor,
    gripper: GripperSpec = GripperSpec(),
    alpha: float = 5.0,
    beta: float = 0.7,
    steps: int | None = None,
) -> torch.Tensor:
    """CTAR of float32[n, H, A] chunks against the demo chunk float32[H, A] -> float32[n].

    ``steps`` scores only the first ``steps`` control steps (the executed prefix). Without a
    gripper dimension the score is ``exp(−α·d_t)`` alone (β is taken as 1).
    """
    h = chunks.shape[1] if steps is None else steps
    a, d = chunks[:, :h].float(), demo_chunk[:h].float().expand(chunks.shape[0], h, -1)
    arm = [j for j in range(a.shape[-1]) if j not in gripper.dims]
    dist = (a[..., arm] - d[..., arm]).norm(dim=-1)  # [n, h]
    close = torch.exp(-alpha * dist)
    if gripper.dims:
        g, gd = a[..., list(gripper.dims)], d[..., list(gripper.dims)]
        if gripper.mode == "sign":
            sg = torch.where(g.abs() < gripper.tol, 0.0, torch.sign(g))
            sd = torch.where(gd.abs() < gripper.tol, 0.0, torch.sign(gd))
            match = (sg == sd).all(-1).float()
        elif gripper.mode == "tol":
            match = ((g - gd).abs() <= gripper.tol).all(-1).float()
        else:
            raise ValueError(f"gripper mode {gripper.mode!r} unknown; use 'sign' or 'tol'")
        per_step = beta * close + (1.0 - beta) * match
    else:
        per_step = close
    return per_step.mean(-1) * valid.float()


def fcr(valid: torch.Tensor) -> torch.Tensor:
    """Format compliance: bool[n] (chunk decodes) -> float32[n] in {0, 1}."""
    return valid.float()


def offline_rewards(
    tokens: torch.Tensor,
    chunks: torch.Tensor,
    valid: torch.Tensor,
    demo_tokens: torch.Tensor,
    demo_chunk: torch.Tensor,
    gripper: GripperSpec,
    executed: int | None,
    token_mask: torch.Tensor | None,
    alpha: float = 5.0,
    beta: float = 0.7,
) -> dict[str, torch.Tensor]:
    """QACR, CTAR and FCR of one group (float32[n] each), scored over the executed prefix
    (``executed`` steps / ``token_mask``) or the whole chunk when those are ``None``."""
    return {
        "qacr": qacr(tokens, demo_tokens, token_mask),
        "ctar": ctar(chunks, valid, demo_chunk, gripper, alpha, beta, executed),
        "fcr": fcr(valid),
    }
