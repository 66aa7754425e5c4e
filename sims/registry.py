"""Task registry: name -> factory + default config (dm_control / mujoco_playground style).

Task names are ``family/task`` (``metaworld/reach``, ``robosuite/lift``, ``so101/pick-cube``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym

from sims.config import TaskConfig, apply_overrides
from sims.errors import UnknownShiftError, UnknownTaskError


@dataclass(frozen=True)
class TaskSpec:
    """A registered task.

    Attributes:
        name: ``family/task``.
        factory: builds the env from a full config.
        default_config: returns a fresh default config for this task.
        instruction: default natural-language instruction.
        shifts: names of the distribution shifts this task supports (besides ``None``).
        expert: builds the task's scripted expert (``None`` if it has none).
    """

    name: str
    factory: Callable[[TaskConfig], gym.Env]
    default_config: Callable[[], TaskConfig]
    instruction: str
    shifts: tuple[str, ...] = ()
    expert: Callable[..., object] | None = None

    @property
    def family(self) -> str:
        return self.name.split("/", 1)[0]


_REGISTRY: dict[str, TaskSpec] = {}
_FAMILIES = ("metaworld", "robosuite", "so101")
_LOADED: set[str] = set()


def register(spec: TaskSpec) -> None:
    """Add a task; re-registering a name replaces it."""
    if "/" not in spec.name:
        raise ValueError(f"task names are 'family/task', got {spec.name!r}")
    _REGISTRY[spec.name] = spec


def _load_families(only: str | None = None) -> None:
    # Families register on import; importing lazily keeps `import sims` cheap, and a task name
    # with a known family prefix imports that family alone (robosuite alone takes seconds).
    import importlib

    for family in _FAMILIES:
        if family in _LOADED or (only is not None and family != only):
            continue
        _LOADED.add(family)
        module = f"sims.{family}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            # A family whose package is not written yet or whose optional backend is missing.
            if err.name and (err.name == module or err.name.startswith(module + ".")):
                continue
            raise


def list_tasks(family: str | None = None) -> list[str]:
    """Sorted names of registered tasks, optionally of one family."""
    _load_families()
    return sorted(n for n, s in _REGISTRY.items() if family is None or s.family == family)


def get_spec(name: str) -> TaskSpec:
    """The spec of a task, or :class:`UnknownTaskError` naming the closest matches."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    family = name.split("/", 1)[0] if "/" in name else None
    if family in _FAMILIES:
        _load_families(only=family)
        if name in _REGISTRY:
            return _REGISTRY[name]
    _load_families()
    if name in _REGISTRY:
        return _REGISTRY[name]
    # Accept a bare task name when it is unambiguous ("pick-cube" -> "so101/pick-cube").
    bare = [n for n in _REGISTRY if n.split("/", 1)[1] == name.split("/")[-1]]
    if len(bare) == 1:
        return _REGISTRY[bare[0]]
    close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
    close += [n for n in bare if n not in close]
    hint = f"did you mean {', '.join(close)}?" if close else "run `robo tasks` to list them"
    raise UnknownTaskError(f"unknown task {name!r}; {hint}")


def make_config(name: str, **overrides: object) -> TaskConfig:
    """The task's default config with ``overrides`` applied (validated)."""
    spec = get_spec(name)
    config = apply_overrides(spec.default_config(), dict(overrides), spec.name)
    if config.shift is not None and config.shift not in spec.shifts:
        options = ", ".join(spec.shifts) if spec.shifts else "none"
        raise UnknownShiftError(
            f"task {spec.name!r} has no shift {config.shift!r}; supported: {options}"
        )
    return config


def make(name: str, **overrides: object) -> gym.Env:
    """Build a task env. ``sims.make("so101/pick-cube", image_size=128, shift="obstacle")``.

    Raises:
        UnknownTaskError, BadOverrideError, UnknownShiftError: with a one-line hint.
    """
    spec = get_spec(name)
    config = make_config(spec.name, **overrides)
    return spec.factory(config)
