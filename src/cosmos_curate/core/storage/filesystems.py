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
    return cls(**options.fs_kwargs(protocol))
