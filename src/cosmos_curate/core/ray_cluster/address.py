"""Ray cluster addresses: parsing them, and probing one in seconds before `ray.init`.

`ray.init` on a wrong address or token retries for 20-40 s and then prints a generic
"Failed to connect". `probe_address` answers in a few seconds with one clear line instead:
a TCP connect first (nothing listening), then one RPC carrying the auth token (GCS or Ray
Client server), which tells "not Ray", "missing token" and "wrong token" apart.
"""

from __future__ import annotations

import importlib
import ipaddress
import socket
from typing import Any, Literal

import attrs

from cosmos_curate.core.ray_cluster import auth
from cosmos_curate.core.ray_cluster.errors import (
    ClusterAuthError,
    ClusterConnectionError,
    ClusterUnreachableError,
)

CLIENT_SCHEME = "ray://"
DEFAULT_GCS_PORT = 6379
DEFAULT_CLIENT_PORT = 10001
CONNECT_TIMEOUT_S = 3.0
RPC_TIMEOUT_S = 8.0


@attrs.frozen
class RayAddress:
    """A parsed cluster address: the head's GCS (`host:port`) or a Ray Client server."""

    kind: Literal["gcs", "client"]
    host: str
    port: int

    @property
    def url(self) -> str:
        """The address as `ray.init` takes it."""
        hostport = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        return CLIENT_SCHEME + hostport if self.kind == "client" else hostport

    @property
    def is_local(self) -> bool:
        """Whether the host is this machine (loopback or one of its own addresses)."""
        return is_local_host(self.host)


def parse_address(address: str) -> RayAddress | None:
    """Parse `host[:port]` or `ray://host[:port]`; None for Ray's own keywords (`auto`)."""
    text = address.strip()
    if text in ("auto", "local"):
        return None
    kind: Literal["gcs", "client"] = "gcs"
    if text.startswith(CLIENT_SCHEME):
        kind, text = "client", text[len(CLIENT_SCHEME) :]
    elif "://" in text:
        msg = f"bad Ray address {address!r}: use host:port (GCS) or ray://host:port (Ray Client)"
        raise ClusterConnectionError(msg)
    text = text.rstrip("/")
    host, port_text = _split_host_port(text)
    if not host:
        msg = f"bad Ray address {address!r}: no host"
        raise ClusterConnectionError(msg)
    default = DEFAULT_CLIENT_PORT if kind == "client" else DEFAULT_GCS_PORT
    try:
        port = int(port_text) if port_text else default
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        msg = f"bad Ray address {address!r}: the port must be a number from 1 to 65535"
        raise ClusterConnectionError(msg)
    return RayAddress(kind, host, port)


def _split_host_port(text: str) -> tuple[str, str]:
    if text.startswith("["):  # [ipv6]:port
        host, _, rest = text[1:].partition("]")
        return host, rest.lstrip(":")
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, port
    return text, ""


def is_local_host(host: str) -> bool:
    """Whether `host` names this machine."""
    if host in ("localhost", socket.gethostname()):
        return True
    try:
        ip = ipaddress.ip_address(socket.gethostbyname(host))
    except (OSError, ValueError):
        return False
    if ip.is_loopback:
        return True
    try:
        import psutil

        own = {a.address for addrs in psutil.net_if_addrs().values() for a in addrs}
    except (ImportError, OSError):
        return False
    return str(ip) in own


def probe_address(address: RayAddress, *, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise a one-line `ClusterConnectionError` subclass unless Ray at `address` accepts us.

    When the cluster asks for a token, this process has one but does not send it
    (`RAY_AUTH_MODE` not `token`), token mode is turned on and the probe repeated.
    """
    _check_tcp(address, connect_timeout_s)
    verdict = _rpc_probe(address)
    if verdict == "unauthenticated" and not auth.token_mode_on() and auth.token_source():
        auth.enable_token_mode()
        verdict = _rpc_probe(address)
    if verdict == "ok":
        return
    if verdict == "unauthenticated":
        source = auth.token_source() if auth.token_mode_on() else None
        if source is None:
            raise ClusterAuthError(auth.missing_token_message(address.url))
        raise ClusterAuthError(auth.wrong_token_message(address.url, source))
    what = "a Ray Client server" if address.kind == "client" else "a Ray GCS (head node)"
    msg = (
        f"something listens at {address.url} but it does not answer as {what} "
        f"({verdict}); check the port"
        + (" (the Ray Client port is usually 10001)" if address.kind == "client" else "")
    )
    raise ClusterUnreachableError(msg)


def _check_tcp(address: RayAddress, timeout_s: float) -> None:
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout_s):
            return
    except socket.gaierror as exc:
        msg = f"cannot reach the Ray cluster at {address.url}: unknown host {address.host!r}"
        raise ClusterUnreachableError(msg) from exc
    except TimeoutError as exc:
        msg = f"cannot reach the Ray cluster at {address.url}: no answer within {timeout_s:g}s"
        raise ClusterUnreachableError(msg) from exc
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        msg = (
            f"cannot reach the Ray cluster at {address.url}: {reason.lower()}; is it running? "
            "(`curate cluster status`)"
        )
        raise ClusterUnreachableError(msg) from exc


def _rpc_probe(address: RayAddress) -> str:
    """'ok', 'unauthenticated', or a short reason the RPC failed.

    One gRPC call from Python (not Ray's native client, which retries for ~40 s and logs
    every attempt): `GetClusterId` on a GCS, `ClusterInfo(PING)` on a Ray Client server.
    Ray's channel helper adds the auth token when token mode is on.
    """
    import grpc
    from ray._private.grpc_utils import init_grpc_channel

    # Generated protobuf modules, untyped.
    gcs_pb2: Any = importlib.import_module("ray.core.generated.gcs_service_pb2")
    gcs_grpc: Any = importlib.import_module("ray.core.generated.gcs_service_pb2_grpc")
    client_pb2: Any = importlib.import_module("ray.core.generated.ray_client_pb2")
    client_grpc: Any = importlib.import_module("ray.core.generated.ray_client_pb2_grpc")

    hostport = address.url.removeprefix(CLIENT_SCHEME)
    channel = init_grpc_channel(hostport, options=[], asynchronous=False)
    try:
        grpc.channel_ready_future(channel).result(timeout=CONNECT_TIMEOUT_S)
        if address.kind == "gcs":
            gcs = gcs_grpc.NodeInfoGcsServiceStub(channel)
            gcs.GetClusterId(gcs_pb2.GetClusterIdRequest(), timeout=RPC_TIMEOUT_S)
        else:
            ping = client_pb2.ClusterInfoRequest(type=client_pb2.ClusterInfoType.PING)
            client_grpc.RayletDriverStub(channel).ClusterInfo(ping, timeout=RPC_TIMEOUT_S)
    except grpc.FutureTimeoutError:
        return f"no gRPC handshake within {CONNECT_TIMEOUT_S:g}s"
    except grpc.RpcError as exc:
        code = exc.code()
        if code == grpc.StatusCode.UNAUTHENTICATED:
            return "unauthenticated"
        return f"{code.name if code else 'error'}: {exc.details()}"
    finally:
        channel.close()
    return "ok"


__all__ = [
    "DEFAULT_CLIENT_PORT",
    "DEFAULT_GCS_PORT",
    "RayAddress",
    "is_local_host",
    "parse_address",
    "probe_address",
]
