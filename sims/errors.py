"""Exceptions raised by the task suite, each with a one-line reason and a hint."""

from __future__ import annotations


class SimError(ValueError):
    """Base class for bad input to :mod:`sims`."""


class UnknownTaskError(SimError):
    """A task name that is not registered."""


class BadOverrideError(SimError):
    """A config override that names no field of the task's config, or has a bad value."""


class UnknownShiftError(SimError):
    """A distribution-shift name that the task does not support."""
