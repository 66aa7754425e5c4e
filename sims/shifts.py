"""Distribution-shift variants, ``sims.make(name, shift=...)``.

Each family says which shifts its tasks support (``TaskSpec.shifts``) and applies them when it
builds the scene. Names and meanings are shared across families:

* ``obstacle``: a static obstacle placed in the nominal end-effector path.
* ``surface``: the support surface (table) shifted/raised, so objects sit higher.
* ``distractor``: extra objects in the scene that are not part of the task.
* ``camera``: camera poses jittered (per seed).
* ``lighting``: light and texture colours changed.
"""

from __future__ import annotations

SHIFTS: dict[str, str] = {
    "obstacle": "a static obstacle in the nominal end-effector path",
    "surface": "the support surface shifted/raised",
    "distractor": "extra non-task objects in the scene",
    "camera": "camera poses jittered per seed",
    "lighting": "light and texture colours changed",
}
