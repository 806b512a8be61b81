"""`curate cluster`: a multi-node Ray cluster on this machine, on loopback unless opened.

Starting and stopping it (`loopback`, `loopback_ports`, `processes`), its state file
(`state`) and what runs on a cluster (`status`). The Ray plumbing it shares with the
runtime (addresses, auth, bind, ports, code shipping) is `cosmos_curate.core.ray_cluster`.
"""

from cosmos_curate.cluster.errors import LoopbackClusterError

__all__ = ["LoopbackClusterError"]
