"""Ray clusters: addresses, auth, code shipping, and the local `curate cluster` cluster."""

from cosmos_curate.cluster.address import RayAddress, parse_address, probe_address
from cosmos_curate.cluster.errors import (
    ClusterAuthError,
    ClusterConnectionError,
    ClusterUnreachableError,
    LocalClusterError,
)

__all__ = [
    "ClusterAuthError",
    "ClusterConnectionError",
    "ClusterUnreachableError",
    "LocalClusterError",
    "RayAddress",
    "parse_address",
    "probe_address",
]
