"""The 50 Meta-World v3 tasks: instruction, progress kind and episode length per task.

``kind`` decides how :mod:`sims.metaworld.progress` turns Meta-World's signals into
``progress_gt`` and ``subtask``:

* ``"reach"``: move the hand to a goal point (one stage).
* ``"contact"``: reach an object or handle, then push/press/turn/slide it (two stages).
* ``"grasp"``: reach, close the gripper on the object, carry it (three stages).

``max_steps`` is the default episode length [control steps]: at least 1.4x the longest
successful expert episode over 20 seeds (``bench/bench_experts_metaworld.py``; e.g. push-back
356 of 500, bin-picking 264 of 400, most tasks under 130 of 250).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Kind = Literal["reach", "contact", "grasp"]


class MetaWorldTask(NamedTuple):
    """One Meta-World v3 task as robo sees it.

    Attributes:
        env_id: Meta-World's name (``"pick-place-v3"``).
        instruction: one-sentence natural-language instruction.
        kind: progress/subtask scheme (see module docstring).
        max_steps: default ``max_episode_steps`` [control steps].
    """

    env_id: str
    instruction: str
    kind: Kind
    max_steps: int


def _t(instruction: str, kind: Kind, max_steps: int = 250) -> tuple[str, Kind, int]:
    return instruction, kind, max_steps


_TABLE: dict[str, tuple[str, Kind, int]] = {
    "assembly": _t("put the ring on the peg", "grasp", 300),
    "basketball": _t("dunk the ball into the basket", "grasp", 300),
    "bin-picking": _t("pick the puck out of one bin and place it in the other bin", "grasp", 400),
    "box-close": _t("grab the lid and close the box", "grasp", 300),
    "button-press-topdown": _t("press the button from the top", "contact"),
    "button-press-topdown-wall": _t("press the button from the top behind the wall", "contact"),
    "button-press": _t("press the button", "contact"),
    "button-press-wall": _t("press the button behind the wall", "contact"),
    "coffee-button": _t("push the button on the coffee machine", "contact"),
    "coffee-pull": _t("pull the mug away from the coffee machine", "contact"),
    "coffee-push": _t("push the mug under the coffee machine", "contact"),
    "dial-turn": _t("rotate the dial 180 degrees", "contact"),
    "disassemble": _t("pick the ring off the peg", "grasp", 400),
    "door-close": _t("close the door", "contact"),
    "door-lock": _t("lock the door by rotating the lock clockwise", "contact"),
    "door-open": _t("open the door", "contact"),
    "door-unlock": _t("unlock the door by rotating the lock counter-clockwise", "contact"),
    "drawer-close": _t("push the drawer closed", "contact"),
    "drawer-open": _t("open the drawer", "contact"),
    "faucet-close": _t("rotate the faucet clockwise to close it", "contact"),
    "faucet-open": _t("rotate the faucet counter-clockwise to open it", "contact"),
    "hammer": _t("hammer the nail into the wall", "grasp", 300),
    "hand-insert": _t("insert the gripper into the hole", "contact"),
    "handle-press-side": _t("press the handle down sideways", "contact"),
    "handle-press": _t("press the handle down", "contact"),
    "handle-pull-side": _t("pull the handle up sideways", "contact", 300),
    "handle-pull": _t("pull the handle up", "contact", 300),
    "lever-pull": _t("pull the lever up", "contact", 300),
    "peg-insert-side": _t("insert the peg into the hole from the side", "grasp", 400),
    "peg-unplug-side": _t("unplug the peg from the side", "contact", 300),
    "pick-out-of-hole": _t("pick the puck out of the hole", "grasp", 300),
    "pick-place": _t("pick up the puck and place it at the goal", "grasp", 300),
    "pick-place-wall": _t(
        "pick up the puck and place it at the goal behind the wall", "grasp", 300
    ),
    "plate-slide-back-side": _t("slide the plate sideways back into the cabinet", "contact"),
    "plate-slide-back": _t("slide the plate back into the cabinet", "contact"),
    "plate-slide-side": _t("slide the plate sideways into the cabinet", "contact"),
    "plate-slide": _t("slide the plate into the cabinet", "contact"),
    "push-back": _t("push the puck back to the goal", "contact", 500),
    "push": _t("push the puck to the goal", "contact"),
    "push-wall": _t("push the puck around the wall to the goal", "contact", 300),
    "reach": _t("reach the goal position", "reach", 200),
    "reach-wall": _t("reach the goal position behind the wall", "reach", 200),
    "shelf-place": _t("pick up the puck and place it on the shelf", "grasp", 300),
    "soccer": _t("kick the ball into the goal", "contact", 400),
    "stick-pull": _t("grasp the stick and pull the box with it", "grasp", 400),
    "stick-push": _t("grasp the stick and push the box with it", "grasp", 300),
    "sweep-into": _t("sweep the puck into the hole", "contact"),
    "sweep": _t("sweep the puck off the table", "contact", 300),
    "window-close": _t("push the window closed", "contact"),
    "window-open": _t("push the window open", "contact"),
}

TASKS: dict[str, MetaWorldTask] = {
    name: MetaWorldTask(f"{name}-v3", *row) for name, row in sorted(_TABLE.items())
}
"""robo task name (no ``-v3`` suffix) -> :class:`MetaWorldTask`; all 50 Meta-World v3 tasks."""

OBSTACLE_TASKS: frozenset[str] = frozenset(
    {"reach", "reach-wall", "push", "push-back", "pick-place", "pick-place-wall", "sweep-into"}
)
"""Tasks that support the ``obstacle`` shift (a box between the hand start and the target)."""

SURFACE_TASKS: frozenset[str] = frozenset({"reach"})
"""Tasks that support the ``surface`` shift (a raised table section between hand and goal)."""
