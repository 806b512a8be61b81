"""Errors of the `curate cluster` feature: starting, finding and stopping the loopback cluster."""

from __future__ import annotations

from cosmos_curate.core.interfaces.errors import CurateError


class LoopbackClusterError(CurateError):
    """`curate cluster start|stop` could not start, find or stop the loopback cluster."""


__all__ = ["LoopbackClusterError"]
