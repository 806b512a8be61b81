"""The one URL parser: which filesystem a path or URL names, and where inside it.

Local paths and `file://` URLs are local folders; `s3://bucket/prefix` (s3fs), `gs://`
(gcsfs), `az://container/prefix` and `abfs(s)://` (adlfs) are object stores; `http(s)://`
URLs are read-only inputs. Keys are joined with `/` on every backend.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from cosmos_curate.core.storage.errors import StorageURLError

# URL scheme -> fsspec protocol.
SCHEMES = {
    "file": "file",
    "s3": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "az": "abfs",
    "abfs": "abfs",
    "abfss": "abfs",
    "http": "http",
    "https": "http",
}
REMOTE = frozenset({"s3", "gcs", "abfs", "http"})


def scheme_of(url: str) -> str:
    """The URL's scheme in lower case, or "" for a plain local path."""
    head, sep, _ = url.partition("://")
    return head.lower() if sep and head.isalnum() else ""


def is_remote(url: str) -> bool:
    """Whether `url` names an object store or a web server rather than a local folder."""
    return SCHEMES.get(scheme_of(url), "file") in REMOTE


@attrs.frozen
class Location:
    """A parsed storage URL: fsspec protocol, the root inside that filesystem, the URL."""

    protocol: str
    root: str
    url: str

    @property
    def is_local(self) -> bool:
        """Whether the root is a local folder (paths, `file://`)."""
        return self.protocol == "file"

    @property
    def writable(self) -> bool:
        """Whether outputs may be written here (not over `http(s)://`)."""
        return self.protocol != "http"

    def path_of(self, key: str = "") -> str:
        """The path of `key` (or of the root) inside the filesystem."""
        if not key:
            return self.root
        if self.is_local:
            return str(Path(self.root) / key)
        return f"{self.root.rstrip('/')}/{key}"

    def url_of(self, key: str = "") -> str:
        """Where `key` lives, for users: a local path or a URL with the user's scheme."""
        if self.is_local or self.protocol == "http":
            return self.path_of(key)
        scheme = scheme_of(self.url)
        return f"{scheme}://{self.path_of(key)}"


def parse_url(url: str) -> Location:
    """The location `url` names; `StorageURLError` for an unknown scheme or no bucket."""
    scheme = scheme_of(url)
    if not scheme:
        return Location("file", str(Path(url).expanduser()) if url else "", url)
    protocol = SCHEMES.get(scheme)
    if protocol is None:
        known = ", ".join(f"{s}://" for s in sorted(SCHEMES))
        msg = f"{url!r}: unknown storage scheme {scheme}:// (known: {known}, or a local path)"
        raise StorageURLError(msg)
    rest = url.split("://", 1)[1]
    if protocol == "file":
        return Location("file", rest, url)
    if protocol == "http":
        return Location("http", url.rstrip("/"), url)
    bucket = rest.split("/", 1)[0]
    if not bucket:
        msg = f"{url!r}: expected {scheme}://bucket/prefix (the bucket or container is missing)"
        raise StorageURLError(msg)
    return Location(protocol, rest.strip("/"), url)
