"""Port checks made before Ray starts, and the record that lets `metrics tail` find a run.

A port is "free" when a listening socket could bind it now. The probe sets `SO_REUSEADDR`,
as servers do, so a port that merely has connections in TIME_WAIT (for a minute after any
connection to it) is not reported as taken.

`choose_port` is the one rule for a listener's port (the metrics port of `pipeline run`,
`local launch`, a Slurm node, a loopback cluster's ports): the user's port, checked; else
the default when free; else a free one. A taken port is one `PortUnavailableError`.

Every embedded pipeline writes `<runs folder>/metrics-endpoints/<pid>.json` with the port
its metrics are exported on, removed when it ends; `running_endpoints()` lists the records
of the processes still alive, so `curate metrics tail` finds the runs of this machine.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from pathlib import Path
from typing import Any

import attrs
import psutil

from cosmos_curate.core.ray_cluster.errors import PortUnavailableError
from cosmos_curate.core.storage import publish_json
from cosmos_curate.core.utils import settings

# Ray's worker processes use 10002-19999 by default: never hand those out.
WORKER_PORT_RANGE = range(10002, 20000)
ENDPOINTS_FOLDER = "metrics-endpoints"


Hosts = str | tuple[str, ...]
"""One host, or several a port must be free on (a loopback cluster binds its IP and 127.0.0.1)."""


def is_free(host: Hosts, port: int) -> bool:
    """Whether a server could listen on `port` at `host` (every host given) now.

    TIME_WAIT does not count: the probe sets `SO_REUSEADDR`, as servers do.
    """
    return all(_bindable(one, port) for one in _as_tuple(host))


def _bindable(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _as_tuple(host: Hosts) -> tuple[str, ...]:
    return (host,) if isinstance(host, str) else host


def free_port(host: Hosts) -> int:
    """A port nothing listens on at `host` (the first host given), outside Ray's worker range."""
    while True:
        with socket.socket() as sock:
            sock.bind((_as_tuple(host)[0], 0))
            port = int(sock.getsockname()[1])
        if port not in WORKER_PORT_RANGE:
            return port


def check_port_number(port: Any, flag: str, *, allow_zero: bool = False) -> int:
    """`port` as an int in 1-65535 (0 too with `allow_zero`), else an error naming `flag`."""
    low = 0 if allow_zero else 1
    if isinstance(port, bool) or not isinstance(port, int) or not low <= port <= 65535:
        msg = f"{flag} {port}: a port is a whole number from {low} to 65535"
        raise PortUnavailableError(msg)
    return port


def require_free(host: Hosts, port: int, flag: str) -> None:
    """Raise `PortUnavailableError` naming `flag` when `port` is taken at `host`."""
    for one in _as_tuple(host):
        if not _bindable(one, port):
            msg = (
                f"{flag} {port}: the port is already in use on {one}; "
                f"pick another one or stop what listens there"
            )
            raise PortUnavailableError(msg)


@attrs.frozen
class ChosenPort:
    """A port to listen on, and whether it replaced a busy default."""

    port: int
    replaced_default: bool = False


def choose_port(
    host: Hosts,
    chosen: int | None,
    flag: str,
    *,
    default: int = settings.DEFAULT_METRICS_PORT,
) -> ChosenPort:
    """The port rule of every listener: the user's, else the default, else a free one.

    A `chosen` port is checked (1-65535, free at `host`; `PortUnavailableError` naming
    `flag` otherwise) and 0 means any free port. With none chosen, `default` when it is
    free, else a free port (`replaced_default`: say so to the user).
    """
    if chosen is not None:
        check_port_number(chosen, flag, allow_zero=True)
        if chosen == 0:
            return ChosenPort(free_port(host))
        require_free(host, chosen, flag)
        return ChosenPort(chosen)
    if is_free(host, default):
        return ChosenPort(default)
    return ChosenPort(free_port(host), replaced_default=True)


@attrs.frozen
class MetricsEndpoint:
    """A running pipeline's metrics export, as recorded by its driver process."""

    pid: int
    port: int
    host: str
    started_at: float
    create_time: float

    @property
    def url(self) -> str:
        """The `/metrics` URL of this endpoint (IPv6 hosts in brackets)."""
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/metrics"

    def alive(self) -> bool:
        """Whether the recording process still runs (same PID and start time)."""
        try:
            proc = psutil.Process(self.pid)
            return math.isclose(proc.create_time(), self.create_time, abs_tol=0.01)
        except psutil.Error:
            return False


def endpoints_dir() -> Path:
    """Folder of the endpoint records (inside the runs folder)."""
    return settings.runs_root() / ENDPOINTS_FOLDER


def record_endpoint(port: int, host: str) -> Path | None:
    """Record this process's metrics port; returns the record's path (None if unwritable)."""
    me = psutil.Process()
    record = MetricsEndpoint(os.getpid(), port, host, time.time(), me.create_time())
    path = endpoints_dir() / f"{record.pid}.json"
    try:
        publish_json(path, attrs.asdict(record), indent=None)
    except OSError:
        return None  # a read-only runs folder only costs `metrics tail` its discovery
    return path


def remove_endpoint(path: Path | None) -> None:
    """Remove a record written by `record_endpoint` (missing is fine)."""
    if path is not None:
        path.unlink(missing_ok=True)


def running_endpoints() -> list[MetricsEndpoint]:
    """Endpoints of pipelines running now, oldest first; stale records are removed."""
    found = []
    folder = endpoints_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = MetricsEndpoint(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if record.alive():
            found.append(record)
        else:
            path.unlink(missing_ok=True)
    return sorted(found, key=lambda r: r.started_at)


__all__ = [
    "WORKER_PORT_RANGE",
    "ChosenPort",
    "Hosts",
    "MetricsEndpoint",
    "check_port_number",
    "choose_port",
    "endpoints_dir",
    "free_port",
    "is_free",
    "record_endpoint",
    "remove_endpoint",
    "require_free",
    "running_endpoints",
]
