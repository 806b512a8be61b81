"""Serving the app: a listening socket bound first (so `--port 0` knows its port), then uvicorn.

The socket is bound and listening before the index is built or the server starts, so the
URL can be printed at once and a browser's first request waits in the backlog. Ctrl-C
stops uvicorn, which then raises the SIGINT again: the CLI exits 130.
"""

from __future__ import annotations

import ipaddress
import socket

import uvicorn
from starlette.applications import Starlette

from cosmos_curate.view.errors import ViewPortError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def needs_token(host: str) -> bool:
    """Whether a server bound to `host` asks for a token (any host but this machine's loopback)."""
    return host not in LOCAL_HOSTS


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host:port` (port 0: a free one)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:  # a name such as localhost
        family = socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        why = exc.strerror or str(exc)
        msg = f"cannot listen on {host}:{port} ({why}): pick another --port, or --port 0"
        raise ViewPortError(msg) from exc
    return sock


def url_of(sock: socket.socket, token: str | None) -> str:
    """The URL a browser opens for `sock` (with the token when there is one)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def serve(app: Starlette, sock: socket.socket) -> None:
    """Serve `app` on `sock` until Ctrl-C or SIGTERM (KeyboardInterrupt after a Ctrl-C)."""
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
