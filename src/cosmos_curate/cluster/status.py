"""What runs on a cluster: its nodes with their resources, and the jobs (pipelines) running.

Read straight from the head's GCS, so asking does not register a job of its own.
"""

from __future__ import annotations

from typing import Any

import attrs

from cosmos_curate.core.ray_cluster.address import parse_address, probe_address
from cosmos_curate.core.ray_cluster.bind import loopback_kept
from cosmos_curate.core.ray_cluster.errors import ClusterConnectionError


@attrs.frozen
class NodeStatus:
    """One node: address, liveness and resources (total and free)."""

    node_id: str
    ip: str
    alive: bool
    is_head: bool
    cpus: float
    cpus_free: float
    gpus: float
    gpus_free: float
    memory_bytes: float
    object_store_bytes: float
    metrics_port: int | None


@attrs.frozen
class JobStatus:
    """One running driver (a pipeline run): job id, its process and its command line."""

    job_id: str
    driver_ip: str
    driver_pid: int
    started_at: float
    entrypoint: str


@attrs.frozen
class ClusterStatus:
    """Nodes (alive first) and running jobs of one cluster."""

    address: str
    nodes: tuple[NodeStatus, ...]
    jobs: tuple[JobStatus, ...]

    @property
    def alive_nodes(self) -> tuple[NodeStatus, ...]:
        """Nodes still alive."""
        return tuple(n for n in self.nodes if n.alive)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for `--json`)."""
        return attrs.asdict(self)


def cluster_status(address: str) -> ClusterStatus:
    """Nodes and running jobs of the cluster whose GCS is at `address` (`host:port`)."""
    target = parse_address(address)
    if target is None or target.kind != "gcs":
        msg = f"cluster status needs the head's GCS address (host:port), not {address!r}"
        raise ClusterConnectionError(msg)
    probe_address(target)
    from ray._private.internal_api import get_state_from_address

    try:
        with loopback_kept(target.host):  # Ray would rewrite 127.0.0.1 to this host's IP
            state = get_state_from_address(target.url)  # type: ignore[no-untyped-call]
            free = state.available_resources_per_node()
            nodes = [_node(n, free.get(n["NodeID"], {})) for n in state.node_table()]
            jobs = [_job(j) for j in state.job_table() if not j.get("IsDead")]
    except Exception as exc:  # Ray raises many kinds here; the user needs one line
        msg = f"cannot read the state of the Ray cluster at {address}: {exc}"
        raise ClusterConnectionError(msg) from exc
    nodes.sort(key=lambda n: (not n.alive, not n.is_head, n.ip, n.node_id))
    return ClusterStatus(address=target.url, nodes=tuple(nodes), jobs=tuple(jobs))


def _node(raw: dict[str, Any], free: dict[str, Any]) -> NodeStatus:
    res = raw.get("Resources", {})
    port = raw.get("MetricsExportPort")
    return NodeStatus(
        node_id=raw["NodeID"],
        ip=raw.get("NodeManagerAddress", "?"),
        alive=bool(raw.get("Alive")),
        is_head="node:__internal_head__" in res,
        cpus=float(res.get("CPU", 0.0)),
        cpus_free=float(free.get("CPU", 0.0)),
        gpus=float(res.get("GPU", 0.0)),
        gpus_free=float(free.get("GPU", 0.0)),
        memory_bytes=float(res.get("memory", 0.0)),
        object_store_bytes=float(res.get("object_store_memory", 0.0)),
        metrics_port=int(port) if port else None,
    )


def _job(raw: dict[str, Any]) -> JobStatus:
    return JobStatus(
        job_id=str(raw.get("JobID", "")),
        driver_ip=str(raw.get("DriverIPAddress", "")),
        driver_pid=int(raw.get("DriverPid", 0)),
        started_at=float(raw.get("StartTime", 0)) / 1000.0,
        entrypoint=str(raw.get("Entrypoint", "")),
    )


__all__ = ["ClusterStatus", "JobStatus", "NodeStatus", "cluster_status"]
