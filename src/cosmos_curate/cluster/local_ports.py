"""The ports of a loopback cluster's head, explicit, with free ones picked where none is given."""

from __future__ import annotations

from cosmos_curate.cluster.bind import LOOPBACK, metrics_bind_host
from cosmos_curate.cluster.errors import LocalClusterError
from cosmos_curate.cluster.ports import free_port, is_free


class LocalClusterPorts:
    """The head's metrics, client and dashboard ports; `gcs()` picks the GCS port."""

    def __init__(
        self, ip: str, metrics_port: int | None, client_port: int | None, gcs_port: int | None
    ) -> None:
        self._ip = ip
        self._gcs_port = gcs_port
        self.head_metrics = free_port(ip) if metrics_port is None else metrics_port
        _require_free(metrics_bind_host(ip), self.head_metrics, "--metrics-port")
        if client_port == 0:
            self.client = free_port(ip)
        elif client_port is not None:
            self.client = client_port
            _require_free(ip, self.client, "--client-port")
        else:
            self.client = 10001 if _is_free(ip, 10001) else free_port(ip)
        self.dashboard = free_port(LOOPBACK)

    def gcs(self) -> int:
        """6379 when free and none was asked for, a free port for 0, else the one asked for."""
        ip, port = self._ip, self._gcs_port
        if port is None:
            return 6379 if _is_free(ip, 6379) else free_port(ip)
        if port == 0:
            return free_port(ip)
        _require_free(ip, port, "--port")
        return port


def _require_free(ip: str, port: int, flag: str) -> None:
    if not _is_free(ip, port):
        msg = f"port {port} ({flag}) is already in use on {ip}; pick another one"
        raise LocalClusterError(msg)


def _is_free(ip: str, port: int) -> bool:
    # SO_REUSEADDR probe: a port that only has connections in TIME_WAIT is free.
    return all(is_free(host, port) for host in {ip, LOOPBACK})
