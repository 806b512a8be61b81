"""Where the video pipelines read and write: `core.storage`, under the names this package used.

`open_storage(path, options)` is a `core.storage.DataFolder` (a local folder or a storage
URL, keys relative to it); `S3Config` is `StorageOptions` (profile and endpoint first, so
`S3Config(profile, endpoint_url)` still reads the same); `is_s3` says whether a path is an
object-store URL (`s3://`, `az://`, `gs://`) rather than a local folder.
"""

from __future__ import annotations

from cosmos_curate.core.storage import DataFolder, StorageOptions, StorageURLError, is_remote

__all__ = ["S3Config", "StoragePathError", "is_s3", "open_storage"]

S3Config = StorageOptions
StoragePathError = StorageURLError


def is_s3(path: str) -> bool:
    """Whether `path` is an object-store URL (not a local folder)."""
    return is_remote(path)


def open_storage(path: str, s3: StorageOptions | None = None) -> DataFolder:
    """The folder of a local path or a storage URL, reached with `s3` (profile, endpoint)."""
    return DataFolder(path, s3 or StorageOptions())
