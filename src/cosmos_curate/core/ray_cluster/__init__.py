"""Reaching and running Ray: the plumbing the runtime and the launchers share.

Addresses and their probe (`address`), token auth (`auth`), the address Ray binds
(`bind`), port checks and the metrics-endpoint records (`ports`), how the driver's code
reaches the workers (`code_shipping`, `shipped_files`) and the signal handlers kept across
`ray.init` (`signals`). No feature lives here: `curate cluster` (a loopback multi-node
cluster) is `cosmos_curate.cluster`, and the runtime's own connection is
`cosmos_curate.core.runtime.ray_connection`.
"""

from cosmos_curate.core.ray_cluster.address import RayAddress, parse_address, probe_address
from cosmos_curate.core.ray_cluster.errors import (
    BindHostError,
    ClusterAuthError,
    ClusterConnectionError,
    ClusterUnreachableError,
    PortUnavailableError,
)

__all__ = [
    "BindHostError",
    "ClusterAuthError",
    "ClusterConnectionError",
    "ClusterUnreachableError",
    "PortUnavailableError",
    "RayAddress",
    "parse_address",
    "probe_address",
]
