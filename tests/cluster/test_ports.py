"""The one port rule (`ray_cluster.ports.choose_port`), on real sockets, and its commands."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from tests.support import curate_in_process, one_error_line

from cosmos_curate.cluster.loopback_ports import LoopbackPorts
from cosmos_curate.core.ray_cluster.errors import PortUnavailableError
from cosmos_curate.core.ray_cluster.ports import WORKER_PORT_RANGE, choose_port, is_free

LOOPBACK = "127.0.0.1"


@pytest.fixture
def busy() -> Iterator[int]:
    """A port something listens on at 127.0.0.1 for the test's length."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_the_default_when_free() -> None:
    """No port chosen and the default free: the default, not said to be replaced."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        free = int(probe.getsockname()[1])
    assert choose_port(LOOPBACK, None, "--metrics-port", default=free).port == free


def test_a_busy_default_is_replaced_by_a_free_port_and_said(busy: int) -> None:
    """No port chosen and the default taken: another port, free, outside Ray's worker range."""
    chosen = choose_port(LOOPBACK, None, "--metrics-port", default=busy)
    assert chosen.replaced_default
    assert chosen.port != busy
    assert chosen.port not in WORKER_PORT_RANGE
    assert is_free(LOOPBACK, chosen.port)


def test_a_chosen_busy_port_is_one_error_naming_the_option(busy: int) -> None:
    """A port the user chose that is taken: `PortUnavailableError` naming option and port."""
    with pytest.raises(PortUnavailableError, match=f"--client-port {busy}: .*in use"):
        choose_port(LOOPBACK, busy, "--client-port")
    with pytest.raises(PortUnavailableError, match="--metrics-port 70000"):
        choose_port(LOOPBACK, 70000, "--metrics-port")
    assert choose_port(LOOPBACK, 0, "--metrics-port").port != 0  # 0: any free port


def test_a_loopback_cluster_rejects_a_busy_port_with_the_same_error(busy: int) -> None:
    """`curate cluster start`'s ports: the same rule and error class as every other listener."""
    with pytest.raises(PortUnavailableError, match=f"--port {busy}"):
        LoopbackPorts(LOOPBACK, None, None, busy).gcs()
    with pytest.raises(PortUnavailableError, match=f"--metrics-port {busy}"):
        LoopbackPorts(LOOPBACK, busy, None, None)


def test_local_launch_with_a_busy_metrics_port_is_one_line_exit_2(busy: int) -> None:
    """`curate local launch --metrics-port BUSY`: one `error:` line naming it, exit 2."""
    result = curate_in_process("local", "launch", "--metrics-port", str(busy), "--", "true")
    line = one_error_line(result, 2)
    assert "--metrics-port" in line and str(busy) in line
