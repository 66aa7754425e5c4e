"""Hand-written instruction paraphrases per task, for multi-task training with real variation.

``TRAIN`` paraphrases are sampled during training (together with the env's own instruction);
``HELD_OUT`` ones are never trained on and measure generalisation to new wordings.
"""

from __future__ import annotations

import numpy as np

TRAIN: dict[str, tuple[str, ...]] = {
    "metaworld/reach": (
        "move the gripper to the goal",
        "reach for the target position",
        "put your hand at the goal point",
        "go to the red goal marker",
    ),
    "metaworld/push": (
        "push the puck to the goal",
        "slide the puck over to the target",
        "shove the puck until it reaches the goal",
        "nudge the disc to the goal position",
    ),
    "metaworld/pick-place": (
        "pick up the puck and put it at the goal",
        "grab the puck and place it on the target",
        "lift the puck and move it to the goal",
        "grasp the disc, carry it to the goal and set it there",
    ),
    "metaworld/drawer-open": (
        "open the drawer",
        "pull the drawer out",
        "slide the drawer open",
        "grab the drawer handle and pull it open",
    ),
    "metaworld/drawer-close": (
        "close the drawer",
        "push the drawer shut",
        "slide the drawer closed",
    ),
    "metaworld/button-press-topdown": (
        "press the button from above",
        "push the button down from the top",
        "press down on the button",
    ),
    "metaworld/door-open": (
        "open the door",
        "pull the door open",
        "swing the door open by its handle",
    ),
    "metaworld/window-open": (
        "open the window",
        "slide the window open",
        "push the window to open it",
    ),
    "so101/reach": (
        "move the gripper to the green marker",
        "reach the green target",
        "put the gripper tip on the marker",
    ),
    "so101/pick-cube": (
        "pick up the red cube",
        "grasp the cube and lift it",
        "lift the red block off the table",
    ),
    "so101/push-cube": (
        "push the red cube onto the green target",
        "slide the cube to the green disc",
        "shove the block onto the target",
    ),
    "so101/place-cube-in-bin": (
        "put the red cube in the blue bin",
        "place the cube into the bin",
        "drop the red block in the blue box",
    ),
}

HELD_OUT: dict[str, tuple[str, ...]] = {
    "metaworld/reach": ("bring the end effector to the goal location",),
    "metaworld/push": ("push the hockey puck onto the goal spot",),
    "metaworld/pick-place": ("take the puck and set it down at the goal",),
    "metaworld/drawer-open": ("pull open the drawer",),
    "metaworld/drawer-close": ("shut the drawer",),
    "metaworld/button-press-topdown": ("push down the button",),
    "metaworld/door-open": ("open up the door",),
    "metaworld/window-open": ("slide open the window",),
    "so101/reach": ("touch the green marker with the gripper",),
    "so101/pick-cube": ("raise the red cube",),
    "so101/push-cube": ("push the block to the green spot",),
    "so101/place-cube-in-bin": ("put the block inside the bin",),
}


def paraphrases(task: str, canonical: str | None = None) -> list[str]:
    """Training instructions of ``task``: the env's ``canonical`` one first, then ``TRAIN``.

    A task without a table entry gets its canonical instruction only (and must have one).
    """
    out = [canonical] if canonical else []
    out += [p for p in TRAIN.get(task, ()) if p not in out]
    if not out:
        raise ValueError(
            f"no instruction for task {task!r} (hint: pass the env's instruction or add "
            "paraphrases to robo.policy.vla.instructions.TRAIN)"
        )
    return out


def sample_instruction(task: str, canonical: str | None, rng: np.random.Generator) -> str:
    """One training instruction of ``task`` drawn uniformly from :func:`paraphrases`."""
    options = paraphrases(task, canonical)
    return options[int(rng.integers(len(options)))]
