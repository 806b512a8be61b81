"""Which metrics endpoint `curate metrics tail` reads.

The user's URL (http/https only), else the running pipelines' recorded ports on this
machine, else the default 9002.
"""

from __future__ import annotations

import urllib.parse

from cosmos_curate.cli.common import print_note
from cosmos_curate.cluster.ports import running_endpoints
from cosmos_curate.core.utils.preflight import PreflightError
from cosmos_curate.core.utils.settings import DEFAULT_METRICS_PORT

DEFAULT_URL = f"http://localhost:{DEFAULT_METRICS_PORT}/metrics"


def check_metrics_url(url: str) -> str:
    """`url` if it is an http(s) URL with a host; never a file or another scheme."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        msg = f"--url {url!r}: give an http:// or https:// URL, e.g. {DEFAULT_URL}"
        raise PreflightError(msg)
    return url.strip()


def discovered_url() -> str:
    """The newest running pipeline's endpoint on this machine (said when not 9002)."""
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
