"""Errors of the storage layer; each `str()` is one line that names the URL or key."""

from __future__ import annotations

from cosmos_curate.core.interfaces.errors import CurateError


class StorageURLError(CurateError, ValueError):
    """A URL names no storage this layer knows (unknown scheme, no bucket, read-only scheme)."""


class StorageKeyError(CurateError, ValueError):
    """A key is not a plain relative path (`..`, absolute, NUL, backslash, empty part)."""


class StorageBackendMissingError(CurateError, ImportError):
    """The fsspec backend of a URL scheme (s3fs, adlfs, gcsfs) is not installed."""
