"""Errors about reaching a Ray cluster, its auth token, and the address and ports Ray binds."""

from __future__ import annotations

from cosmos_curate.core.interfaces.errors import CurateError


class ClusterConnectionError(CurateError):
    """The Ray cluster at the given address could not be connected to."""


class ClusterUnreachableError(ClusterConnectionError):
    """Nothing that speaks Ray answers at the address (wrong host or port, cluster down)."""


class ClusterAuthError(ClusterConnectionError):
    """The cluster uses Ray token auth and this process has no token, or a wrong one."""


class BindHostError(CurateError, ValueError):
    """`CURATE_BIND_HOST` is set to something that is not an IP address or `auto`."""


class PortUnavailableError(CurateError, ValueError):
    """A port given on the command line is out of range or already in use."""


__all__ = [
    "BindHostError",
    "ClusterAuthError",
    "ClusterConnectionError",
    "ClusterUnreachableError",
    "PortUnavailableError",
]
