"""The ports of a loopback cluster's head, explicit, with free ones picked where none is given."""

from __future__ import annotations

from cosmos_curate.core.ray_cluster.bind import LOOPBACK, metrics_bind_host
from cosmos_curate.core.ray_cluster.ports import choose_port, free_port


class LoopbackPorts:
    """The head's metrics, client and dashboard ports; `gcs()` picks the GCS port."""

    def __init__(
        self, ip: str, metrics_port: int | None, client_port: int | None, gcs_port: int | None
    ) -> None:
        # Ray listens on the node's IP and on loopback: a port must be free on both.
        self._hosts = (ip,) if ip == LOOPBACK else (ip, LOOPBACK)
        self._gcs_port = gcs_port
        metrics = 0 if metrics_port is None else metrics_port  # None: any free port
        self.head_metrics = choose_port(metrics_bind_host(ip), metrics, "--metrics-port").port
        self.client = choose_port(self._hosts, client_port, "--client-port", default=10001).port
        self.dashboard = free_port(LOOPBACK)

    def gcs(self) -> int:
        """6379 when free and none was asked for, a free port for 0, else the one asked for."""
        return choose_port(self._hosts, self._gcs_port, "--port", default=6379).port
