"""Which metrics endpoint `curate metrics tail` reads.

The user's URL (http/https only), else the running pipelines' recorded ports on this
machine, else the default port (`settings.DEFAULT_METRICS_PORT`).
"""

from __future__ import annotations

import urllib.parse
from typing import NoReturn

from cosmos_curate.cli.common import print_note
from cosmos_curate.cluster.ports import running_endpoints
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
    """The newest running pipeline's endpoint on this machine (said when not the default)."""
    endpoints = running_endpoints()
    if not endpoints:
        return DEFAULT_URL
    newest = endpoints[-1]
    if len(endpoints) > 1 or newest.port != DEFAULT_METRICS_PORT:
        others = ", ".join(e.url for e in endpoints[:-1])
        print_note(
            f"reading {newest.url} (the newest run, pid {newest.pid})"
            + (f"; also running: {others}" if others else "")
        )
    return newest.url


__all__ = ["DEFAULT_URL", "check_metrics_url", "discovered_url"]
