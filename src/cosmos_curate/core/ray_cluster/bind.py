"""Which address Ray listens on: 127.0.0.1 unless `CURATE_BIND_HOST` opens it on purpose.

With token auth off, anyone who reaches a Ray GCS or raylet port can list and submit jobs,
so the embedded cluster and `curate cluster start` bind to loopback only by default.
`CURATE_BIND_HOST` takes an IP address of this machine, or `auto` (its outward address):
what a container or pod needs so that published ports and other pods can reach it.

Ray decides what to bind from the node's IP: only the exact node IP `127.0.0.1` makes its
GCS, raylet, workers and metrics export listen on loopback (any other address, even
`127.0.0.2`, makes them listen on every interface). Ray also rewrites `127.0.0.1` to the
machine's address unless it believes it runs on a one-node platform; `loopback_kept`
switches that belief on around the start of a node.

A Ray we start that listens beyond loopback always has token auth on
(`require_token_auth`): `RAY_AUTH_MODE=disabled` is refused there, and when no token
exists one is made for this process, kept in its environment only (never written or
printed).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import socket
from collections.abc import Iterator

from cosmos_curate.core.ray_cluster import auth
from cosmos_curate.core.ray_cluster.errors import BindHostError
from cosmos_curate.core.utils import settings

BIND_VAR = settings.BIND_HOST_VAR
LOOPBACK = "127.0.0.1"
# Ray's switch for "clusters on this platform": off means node IPs stay on loopback.
RAY_CLUSTER_VAR = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def bind_host() -> str:
    """The IP Ray should bind: `CURATE_BIND_HOST` (an IP or `auto`), else 127.0.0.1."""
    raw = settings.bind_host_setting()
    if not raw:
        return LOOPBACK
    if raw.lower() == "auto":
        return outward_ip()
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        msg = (
            f"{BIND_VAR}={raw!r} is neither an IP address nor 'auto'; "
            f"unset it to stay on {LOOPBACK}"
        )
        raise BindHostError(msg) from None


def is_loopback(host: str) -> bool:
    """Whether `host` (an IP, IPv4-mapped IPv6 included) is a loopback address."""
    try:
        address = ipaddress.ip_address(host.split("%", maxsplit=1)[0])
    except ValueError:
        return host == "localhost"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def outward_ip() -> str:
    """The machine's address on its default route (no packet is sent), else its hostname's."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the outgoing interface
            address = str(sock.getsockname()[0])
        except OSError:
            address = ""
    if address and not address.startswith("0."):
        return address
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError as exc:
        msg = f"{BIND_VAR}=auto: cannot find this machine's address ({exc}); give an IP"
        raise BindHostError(msg) from exc


def beyond_loopback(node_ip: str) -> bool:
    """Whether a Ray node with this IP listens beyond loopback (any IP but 127.0.0.1)."""
    return node_ip != LOOPBACK


def auth_disabled_message(nodes: str, where: str, hint: str = "") -> str:
    """The one line refusing Ray without token auth on `nodes` that listen beyond loopback."""
    hint = hint or f"keep Ray on {LOOPBACK} (unset {BIND_VAR}) to run without a token"
    return f"{where}: Ray on {nodes} listens beyond loopback, where token auth stays on; {hint}"


def require_token_auth(node_ip: str) -> None:
    """Turn token auth on before this process starts a Ray node listening beyond loopback.

    `RAY_AUTH_MODE=disabled` is refused there (`BindHostError`).

    Without a token anywhere Ray looks, a fresh one goes into this process's environment
    (`RAY_AUTH_TOKEN`), which the node's processes inherit; nothing is written to disk.
    """
    if not beyond_loopback(node_ip):
        return
    if os.environ.get(auth.AUTH_MODE_VAR, "").strip().lower() == "disabled":
        where = f"{auth.AUTH_MODE_VAR}=disabled"
        raise BindHostError(auth_disabled_message(node_ip, where))
    if auth.token_source() is None:
        os.environ[auth.TOKEN_VAR] = secrets.token_hex(32)
    auth.enable_token_mode()


def metrics_bind_host(node_ip: str) -> str:
    """Where Ray's metrics export listens for a node with this IP (Ray's own rule)."""
    return LOOPBACK if node_ip == LOOPBACK else "0.0.0.0"


def head_env(node_ip: str) -> dict[str, str]:
    """Variables for a `ray start --head` process so its children keep a 127.0.0.1 node IP.

    The head's own start keeps it (see `cluster._ray_start`), but processes it spawns later
    (the Ray Client server's per-client servers) resolve 127.0.0.1 again, to an address
    nothing listens on. Only for the head: Ray refuses to start a worker node with it.
    """
    return {RAY_CLUSTER_VAR: "0"} if node_ip == LOOPBACK else {}


@contextlib.contextmanager
def loopback_kept(node_ip: str) -> Iterator[None]:
    """While starting an embedded Ray node: keep the node IP 127.0.0.1 as given.

    Ray replaces 127.0.0.1 by the machine's address when it thinks it can form clusters;
    here it is told, for this process and the node processes it starts, that it cannot.
    Nothing changes for any other node IP.
    """
    if node_ip != LOOPBACK:
        yield
        return
    from ray._private import ray_constants

    saved_env = os.environ.get(RAY_CLUSTER_VAR)
    saved_flag = ray_constants.ENABLE_RAY_CLUSTER
    os.environ[RAY_CLUSTER_VAR] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_flag
        if saved_env is None:
            os.environ.pop(RAY_CLUSTER_VAR, None)
        else:
            os.environ[RAY_CLUSTER_VAR] = saved_env


__all__ = [
    "BIND_VAR",
    "LOOPBACK",
    "auth_disabled_message",
    "beyond_loopback",
    "bind_host",
    "head_env",
    "is_loopback",
    "loopback_kept",
    "metrics_bind_host",
    "outward_ip",
    "require_token_auth",
]
