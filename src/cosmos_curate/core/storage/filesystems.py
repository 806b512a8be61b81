"""The one place an S3, Azure, GCS or HTTP client is made: an fsspec filesystem per process.

fsspec keeps one instance per protocol and arguments in each process (and starts afresh
after a fork), so every folder opened with the same options shares one client and its
connection pool. Filesystems are never pickled: a worker makes its own from the options.
"""

from __future__ import annotations

from typing import Any

import fsspec

from cosmos_curate.core.storage.errors import StorageBackendMissingError
from cosmos_curate.core.storage.options import StorageOptions

# protocol -> (package that provides it, the extra of cosmos-curate that installs it)
PACKAGES = {
    "s3": ("s3fs", ""),
    "abfs": ("adlfs", ""),
    "gcs": ("gcsfs", "gcs"),
    "http": ("aiohttp", ""),
}


def filesystem(protocol: str, options: StorageOptions | None = None) -> Any:
    """The fsspec filesystem of `protocol` in this process, configured by `options`."""
    options = options or StorageOptions()
    try:
        cls = fsspec.get_filesystem_class(protocol)
    except ImportError as exc:
        package, extra = PACKAGES.get(protocol, (protocol, ""))
        target = f"'cosmos-curate[{extra}]'" if extra else package
        msg = f"{protocol} URLs need the {package} package: pip install {target}"
        raise StorageBackendMissingError(msg) from exc
    fs = cls(**options.fs_kwargs(protocol))
    if protocol == "abfs":
        _fail_fast_on_azure(fs.service_client)
    return fs


# Azure's storage SDK waits 15 s, then 18 s, then 24 s (+-3 s) between tries, and tries a
# connection nothing answers 4 times: over a minute before a wrong endpoint is reported. Like
# botocore for S3, wait seconds instead: 3, 5, then 9 s between tries of a request the store
# answered with an error (throttling, 5xx), and try a refused connection only twice.
AZURE_RETRY = {"initial_backoff": 1, "increment_base": 2, "random_jitter_range": 1}
AZURE_CONNECT_RETRIES = 1


def _fail_fast_on_azure(client: Any) -> None:
    # adlfs makes the client without retry settings; its retry policy object is the one in
    # the client's request pipeline, so setting its (public) attributes takes effect.
    policy = client._config.retry_policy
    for name, value in AZURE_RETRY.items():
        setattr(policy, name, value)
    policy.connect_retries = AZURE_CONNECT_RETRIES
