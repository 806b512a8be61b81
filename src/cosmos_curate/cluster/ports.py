"""Port checks made before Ray starts, and the record that lets `metrics tail` find a run.

A port is "free" when a listening socket could bind it now. The probe sets `SO_REUSEADDR`,
as servers do, so a port that merely has connections in TIME_WAIT (for a minute after any
connection to it) is not reported as taken.

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

from cosmos_curate.cluster.errors import PortUnavailableError
from cosmos_curate.core.storage import publish_json
from cosmos_curate.core.utils import settings

# Ray's worker processes use 10002-19999 by default: never hand those out.
WORKER_PORT_RANGE = range(10002, 20000)
ENDPOINTS_FOLDER = "metrics-endpoints"


def is_free(host: str, port: int) -> bool:
    """Whether a server could listen on `host:port` now (TIME_WAIT does not count)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port nothing listens on at `host`, outside Ray's worker port range."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
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


def require_free(host: str, port: int, flag: str) -> None:
    """Raise `PortUnavailableError` naming `flag` when `host:port` is taken."""
    if not is_free(host, port):
        msg = (
            f"{flag} {port}: the port is already in use on {host}; "
            f"pick another one or stop what listens there"
        )
        raise PortUnavailableError(msg)


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
    "MetricsEndpoint",
    "check_port_number",
    "endpoints_dir",
    "free_port",
    "is_free",
    "record_endpoint",
    "remove_endpoint",
    "require_free",
    "running_endpoints",
]
