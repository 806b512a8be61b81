"""Connecting to Ray: an embedded cluster or an existing one, and reading its capacity.

An existing cluster is named by a GCS address (`host:port`) or a Ray Client address
(`ray://host:10001`). Before `ray.init` the address is probed (a TCP connect, then one RPC
with the auth token), so a wrong address or token is one clear error within seconds instead
of Ray's long retry loop. The plumbing is `cosmos_curate.core.ray_cluster`: `auth` handles
the token and `code_shipping` how the driver's code reaches the cluster's workers.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import attrs
import ray

from cosmos_curate.core.ray_cluster.address import RayAddress, parse_address, probe_address
from cosmos_curate.core.ray_cluster.bind import (
    bind_host,
    loopback_kept,
    metrics_bind_host,
    require_token_auth,
)
from cosmos_curate.core.ray_cluster.code_shipping import (
    driver_runtime_env,
    inherited_by_new_cluster,
)
from cosmos_curate.core.ray_cluster.errors import (
    ClusterAuthError,
    ClusterConnectionError,
    ClusterUnreachableError,
)
from cosmos_curate.core.ray_cluster.ports import record_endpoint, remove_endpoint, require_free
from cosmos_curate.core.ray_cluster.signals import handlers_kept
from cosmos_curate.core.runtime import driver_output
from cosmos_curate.core.runtime.planner import NodeCapacity
from cosmos_curate.presentation.format import first_line

logger = logging.getLogger(__name__)


@attrs.define
class RayConnection:
    """A live Ray connection; `started_here` says whether `close()` must stop Ray."""

    started_here: bool
    address: str | None
    endpoint_record: Path | None = None  # where `metrics tail` finds this run's port

    def close(self) -> None:
        """Disconnect; an embedded cluster is stopped with it, a remote one keeps running."""
        remove_endpoint(self.endpoint_record)
        if not ray.is_initialized():
            return
        if self.started_here or self.address is not None:
            ray.shutdown()


def connect(
    address: str | None,
    *,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
    metrics_port: int | None = None,
) -> RayConnection:
    """Use the connected Ray, else connect to `address` (or `RAY_ADDRESS`), else embed one.

    `address` is `host:port` (the head's GCS) or `ray://host:port` (Ray Client). Raises
    `ClusterUnreachableError` when nothing answers there and `ClusterAuthError` when the
    cluster wants a Ray auth token this process does not have (or has a wrong one).
    The embedded cluster gets `num_cpus` logical CPUs (default: this machine's count) and
    exports metrics on `metrics_port`; both are ignored for an existing cluster.
    """
    driver_output.install()
    if ray.is_initialized():
        return RayConnection(started_here=False, address=None)
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        return _connect_existing(address)
    kwargs: dict[str, Any] = {
        # "local": always start a new cluster, never attach to a `ray start` one by accident.
        "address": "local",
        "num_cpus": num_cpus if num_cpus is not None else os.cpu_count(),
        "include_dashboard": False,
        "logging_level": logging.WARNING,
        "configure_logging": True,
    }
    runtime_env = driver_runtime_env(None)
    # The embedded cluster's processes inherit this process's environment: its variables
    # go there instead of into the job's runtime_env (which would slow every worker start).
    env_vars = runtime_env.pop("env_vars", {})
    if runtime_env:
        kwargs["runtime_env"] = runtime_env
    if num_gpus is not None:
        kwargs["num_gpus"] = num_gpus
    # Loopback only unless CURATE_BIND_HOST says otherwise (see core.ray_cluster.bind).
    host = kwargs["_node_ip_address"] = bind_host()
    require_token_auth(host)  # beyond loopback: token auth on
    if metrics_port is not None:
        require_free(metrics_bind_host(host), metrics_port, "metrics port")
        kwargs["_metrics_export_port"] = metrics_port
    with inherited_by_new_cluster(env_vars), loopback_kept(host), handlers_kept():
        start_embedded(**kwargs)
    record = record_endpoint(metrics_port, host) if metrics_port else None
    return RayConnection(started_here=True, address=None, endpoint_record=record)


EMBEDDED_START_ATTEMPTS = 3
_START_TIMED_OUT = "timed out during startup"  # Ray's words when its node missed the window


def start_embedded(**init_kwargs: Any) -> None:
    """`ray.init(**init_kwargs)` for a new cluster, with up to 3 tries.

    A try is repeated only when the node misses Ray's fixed 30 s registration window, as it
    can on a machine busy with other work; the half-started processes are stopped first.
    Other errors are raised.
    """
    for attempt in range(1, EMBEDDED_START_ATTEMPTS + 1):
        try:
            ray.init(**init_kwargs)
        except Exception as exc:  # Ray raises a bare Exception for this one
            ray.shutdown()
            if _START_TIMED_OUT not in str(exc) or attempt == EMBEDDED_START_ATTEMPTS:
                raise
            logger.warning(
                "Ray's node did not start within Ray's 30 s (is the machine busy?); "
                "starting it again (try %d of %d)",
                attempt + 1,
                EMBEDDED_START_ATTEMPTS,
            )
        else:
            return


def _connect_existing(raw: str) -> RayConnection:
    target = parse_address(raw)
    if target is not None:
        probe_address(target)
    runtime_env = driver_runtime_env(target)
    try:
        with handlers_kept(), loopback_kept(target.host if target is not None else ""):
            ray.init(
                address=target.url if target is not None else raw,
                runtime_env=runtime_env,
                logging_level=logging.WARNING,
            )
    except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
        msg = f"cannot connect to the Ray cluster at {raw}: {first_line(exc)}"
        raise ClusterConnectionError(msg) from exc
    logger.info("connected to the Ray cluster at %s", raw)
    return RayConnection(started_here=False, address=raw)


def node_capacities() -> tuple[NodeCapacity, ...]:
    """CPUs and GPUs of every alive node."""
    nodes = []
    for node in ray.nodes():  # type: ignore[no-untyped-call]
        if not node.get("Alive"):
            continue
        resources = node.get("Resources", {})
        nodes.append(
            NodeCapacity(
                node_id=node["NodeID"],
                cpus=float(resources.get("CPU", 0.0)),
                gpus=float(resources.get("GPU", 0.0)),
            )
        )
    return tuple(sorted(nodes, key=lambda n: n.node_id))


__all__ = [
    "ClusterAuthError",
    "ClusterConnectionError",
    "ClusterUnreachableError",
    "RayAddress",
    "RayConnection",
    "connect",
    "node_capacities",
    "parse_address",
    "probe_address",
]
