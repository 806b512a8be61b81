"""Which metrics endpoint `curate metrics tail` reads.

The user's URL (http/https only), else the current user's running pipelines' recorded
ports on this machine (the newest, named on stderr), else the default port
(`settings.DEFAULT_METRICS_PORT`).
"""

from __future__ import annotations

import os
import time
import urllib.parse
from typing import NoReturn

import psutil

from cosmos_curate.cli.common import print_note
from cosmos_curate.core.ray_cluster.ports import MetricsEndpoint, running_endpoints
from cosmos_curate.core.utils.preflight import PreflightError
from cosmos_curate.core.utils.settings import DEFAULT_METRICS_PORT

DEFAULT_URL = f"http://localhost:{DEFAULT_METRICS_PORT}/metrics"


def check_metrics_url(url: str) -> str:
    """`url` if it is an http(s) URL with a host and a valid port, else `PreflightError`.

    Never a file or another scheme, never whitespace or a control character.
    """
    text = url.strip()
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        _bad_url(url, "it holds a space or a control character")
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:  # an unclosed [IPv6 bracket, a port that is not a number
        _bad_url(url, str(exc))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        _bad_url(url, "not an http:// or https:// URL with a host")
    if port == 0:
        _bad_url(url, "port 0")
    return text


def _bad_url(url: str, why: str) -> NoReturn:
    msg = f"--url {url!r}: {why}; give a URL such as {DEFAULT_URL}"
    raise PreflightError(msg)


def discovered_url() -> str:
    """The current user's newest running pipeline's endpoint on this machine, named on stderr.

    Pipelines of other users on the same machine (a shared runs folder) are left out.
    """
    endpoints = [e for e in running_endpoints() if _mine(e)]
    if not endpoints:
        return DEFAULT_URL
    newest = endpoints[-1]
    started = time.strftime("%H:%M:%S", time.localtime(newest.started_at))
    others = ", ".join(e.url for e in endpoints[:-1])
    print_note(
        f"reading {newest.url}: your newest running pipeline (pid {newest.pid}, "
        f"started {started})" + (f"; also running: {others}" if others else "")
    )
    return newest.url


def _mine(endpoint: MetricsEndpoint) -> bool:
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return True
    try:
        return bool(psutil.Process(endpoint.pid).uids().real == getuid())
    except psutil.Error:
        return False


__all__ = ["DEFAULT_URL", "check_metrics_url", "discovered_url"]
