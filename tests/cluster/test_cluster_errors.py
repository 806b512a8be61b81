"""Bad addresses and missing or wrong Ray auth tokens: one clear line, within seconds."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cluster.cluster_helpers import base_env
from tests.support import curate, free_port

from cosmos_curate.cluster.state import ClusterState
from cosmos_curate.core.ray_cluster.address import parse_address, probe_address
from cosmos_curate.core.ray_cluster.errors import ClusterConnectionError, ClusterUnreachableError

pytestmark = pytest.mark.integration

FAST_S = 12.0  # the probe itself; a CLI run adds its import time on a loaded machine


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections but never speaks (not Ray)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield int(sock.getsockname()[1])


def _one_line_error(*args: str, env: dict[str, str]) -> str:
    result = curate("pipeline", "run", "demo-task-chunking", *args, env=env, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_refused_address_fails_fast(scheme: str) -> None:
    """Nothing listening: ClusterUnreachableError in seconds, not Ray's 20-40 s retry."""
    start = time.monotonic()
    with pytest.raises(ClusterUnreachableError, match="connection refused"):
        probe_address(parse_address(f"{scheme}127.0.0.1:{free_port()}"))  # type: ignore[arg-type]
    assert time.monotonic() - start < FAST_S


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_port_that_is_not_ray_fails_fast(scheme: str, silent_port: int) -> None:
    """Something listens but is not Ray: a clear error within seconds."""
    start = time.monotonic()
    with pytest.raises(ClusterUnreachableError):
        probe_address(parse_address(f"{scheme}127.0.0.1:{silent_port}"))  # type: ignore[arg-type]
    assert time.monotonic() - start < FAST_S


def test_malformed_addresses_are_named() -> None:
    """Typos in the address are reported as such, before any network access."""
    for bad in ("http://host:1", "host:notaport", "host:70000", ":6379"):
        with pytest.raises(ClusterConnectionError, match="bad Ray address"):
            parse_address(bad)


def test_cli_unreachable_address_is_one_line(tmp_path: Path) -> None:
    """`curate pipeline run --ray-address` on a dead address prints one line and exits 1."""
    line = _one_line_error("--ray-address", f"127.0.0.1:{free_port()}", env=base_env())
    assert "cannot reach the Ray cluster" in line


@pytest.mark.parametrize("kind", ["gcs", "client"])
def test_missing_token_is_one_line(kind: str, three_nodes: ClusterState, tmp_path: Path) -> None:
    """A token cluster and a client without any token: one line saying how to get one."""
    address = three_nodes.address if kind == "gcs" else str(three_nodes.client_address)
    env = base_env(HOME=str(tmp_path))  # no ~/.ray/auth_token, no RAY_AUTH_TOKEN*
    start = time.monotonic()
    line = _one_line_error("--ray-address", address, env=env)
    assert "requires an auth token and none was found" in line
    assert time.monotonic() - start < 60  # CLI start-up included


@pytest.mark.parametrize("kind", ["gcs", "client"])
def test_wrong_token_is_one_line(kind: str, three_nodes: ClusterState, tmp_path: Path) -> None:
    """A token cluster and a client with another token: one line naming where it came from."""
    address = three_nodes.address if kind == "gcs" else str(three_nodes.client_address)
    wrong = tmp_path / "wrong_token"
    wrong.write_text("0123456789abcdef" * 4)
    env = base_env(HOME=str(tmp_path), RAY_AUTH_TOKEN_PATH=str(wrong), RAY_AUTH_MODE="token")
    line = _one_line_error("--ray-address", address, env=env)
    assert "rejected the auth token" in line
    assert str(wrong) in line
