"""Errors `curate view` reports to the user (exit 2: nothing was served)."""

from __future__ import annotations

from cosmos_curate.core.interfaces.errors import CurateError


class ViewPathError(CurateError):
    """PATH is not a local folder holding an output this viewer knows."""


class ViewPortError(CurateError):
    """The host and port cannot be bound (in use, or not an address of this machine)."""
