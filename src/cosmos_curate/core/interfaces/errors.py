"""Exceptions raised for bad pipeline definitions; each carries a one-line user message."""

from __future__ import annotations


class CurateError(Exception):
    """Base of the errors a user can fix; `str()` is a one-line message with what to do."""


class InvalidResourceError(CurateError, ValueError):
    """A `CuratorStageResource` was given impossible CPU or GPU numbers."""


class StageDefinitionError(CurateError, TypeError):
    """A stage class or stage spec is malformed (e.g. `process_data` not overridden)."""
