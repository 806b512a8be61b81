"""Connecting to Ray: an embedded local cluster or an existing one, and reading its capacity."""

from __future__ import annotations

import logging
import os
from typing import Any

import attrs
import ray

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.runtime.planner import NodeCapacity

logger = logging.getLogger(__name__)


class ClusterConnectionError(CurateError):
    """The Ray cluster at the given address could not be reached."""


@attrs.define
class RayConnection:
    """A live Ray connection; `started_here` says whether `close()` must stop Ray."""

    started_here: bool
    address: str | None

    def close(self) -> None:
        """Disconnect; an embedded cluster is stopped with it."""
        if ray.is_initialized() and self.started_here:
            ray.shutdown()


def connect(
    address: str | None,
    *,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
    metrics_port: int | None = None,
) -> RayConnection:
    """Use the connected Ray, else connect to `address` (or `RAY_ADDRESS`), else embed one.

    The embedded cluster gets `num_cpus` logical CPUs (default: this machine's count) and
    exports metrics on `metrics_port`.
    """
    if ray.is_initialized():
        return RayConnection(started_here=False, address=None)
    address = address or os.environ.get("RAY_ADDRESS") or None
    runtime_env = _driver_runtime_env()
    if address:
        try:
            ray.init(address=address, runtime_env=runtime_env, logging_level=logging.WARNING)
        except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
            msg = f"cannot reach the Ray cluster at {address}: {exc}"
            raise ClusterConnectionError(msg) from exc
        return RayConnection(started_here=False, address=address)
    kwargs: dict[str, Any] = {
        # "local": always start a new cluster, never attach to a `ray start` one by accident.
        "address": "local",
        "num_cpus": num_cpus if num_cpus is not None else os.cpu_count(),
        "include_dashboard": False,
        "logging_level": logging.WARNING,
        "runtime_env": runtime_env,
        "configure_logging": True,
    }
    if num_gpus is not None:
        kwargs["num_gpus"] = num_gpus
    if metrics_port is not None:
        kwargs["_metrics_export_port"] = metrics_port
    ray.init(**kwargs)
    return RayConnection(started_here=True, address=None)


def _driver_runtime_env() -> dict[str, Any]:
    # Workers find the driver's modules (stages defined in scripts and tests) on its path.
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in _driver_paths() if p)}}


def _driver_paths() -> list[str]:
    # Only the driver's own code folders: never site-packages or the stdlib, which would
    # leak this interpreter's packages into workers running another env's Python.
    import sys

    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    paths = [os.getcwd()]
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if not real or not os.path.isdir(real) or "-packages" in real:
            continue
        if any(real == p or real.startswith(p + os.sep) for p in prefixes):
            continue
        paths.append(real)
    existing = os.environ.get("PYTHONPATH", "")
    return [*dict.fromkeys(paths), existing] if existing else list(dict.fromkeys(paths))


def node_capacities() -> tuple[NodeCapacity, ...]:
    """CPUs and GPUs of every alive node."""
    nodes = []
    for node in ray.nodes():
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
