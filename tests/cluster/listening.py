"""Listening sockets of a process tree, read from the kernel (psutil), not from config."""

from __future__ import annotations

from collections.abc import Iterable

import psutil

from cosmos_curate.core.ray_cluster.bind import is_loopback


def listening(procs: Iterable[psutil.Process]) -> list[tuple[int, str, str, int]]:
    """(pid, process name, address, port) of every TCP socket these processes listen on."""
    found = []
    for proc in procs:
        try:
            name = proc.name()
            conns = proc.net_connections(kind="inet")
        except psutil.Error:
            continue
        found += [
            (proc.pid, name, c.laddr.ip, c.laddr.port)
            for c in conns
            if c.status == psutil.CONN_LISTEN
        ]
    return found


def tree(root: psutil.Process) -> list[psutil.Process]:
    """`root` and all its descendants."""
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return [root]


def exposed(sockets: list[tuple[int, str, str, int]]) -> list[tuple[int, str, str, int]]:
    """The sockets listening on a non-loopback address (0.0.0.0 and :: included)."""
    return [s for s in sockets if not is_loopback(s[2])]
