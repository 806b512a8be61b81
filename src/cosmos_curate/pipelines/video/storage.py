"""Where the pipeline reads and writes: a local folder or an S3 prefix, behind one small API.

Keys are relative POSIX paths (`clips/x.mp4`). Local writes are published durably
(`core.storage`: data fsynced, renamed into place, folder fsynced), so a reader never sees
half a file and a crash never leaves a published name empty; an S3 PUT is atomic by itself. S3
clients honour an AWS profile and an endpoint URL (`S3Config`), and otherwise boto3's
usual environment (`AWS_PROFILE`, `AWS_ENDPOINT_URL`, ...). Storages are pickled into
Ray workers: the boto3 client is made lazily in each process, never pickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import attrs

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.storage import publish_bytes


class StoragePathError(CurateError):
    """A path is neither a usable local path nor a well-formed `s3://bucket/prefix`."""


@attrs.frozen
class S3Config:
    """How to reach S3: an AWS profile name and an endpoint URL (both optional)."""

    profile: str | None = None
    endpoint_url: str | None = None

    def client(self) -> Any:
        """A boto3 S3 client for this profile and endpoint."""
        import boto3

        session = boto3.session.Session(profile_name=self.profile)
        return session.client("s3", endpoint_url=self.endpoint_url)


def is_s3(path: str) -> bool:
    """Whether `path` is an `s3://` URL."""
    return path.startswith("s3://")


def split_s3(url: str) -> tuple[str, str]:
    """`s3://bucket/key/prefix` -> `("bucket", "key/prefix")`."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not bucket:
        msg = f"invalid S3 URL {url!r}: expected s3://bucket/prefix"
        raise StoragePathError(msg)
    return bucket, key


class Storage(Protocol):
    """Byte storage under one root, addressed by relative keys."""

    def read_bytes(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""

    def write_bytes(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, atomically for readers."""

    def exists(self, key: str) -> bool:
        """Whether `key` holds an object."""

    def url(self, key: str) -> str:
        """Where `key` lives, for users (a path or an s3:// URL)."""


def _expand(path: str | Path) -> Path:
    return Path(path).expanduser()


@attrs.frozen
class LocalStorage:
    """A local folder."""

    root: Path = attrs.field(converter=_expand)

    def path(self, key: str) -> Path:
        """The local file of `key`."""
        return self.root / key

    def read_bytes(self, key: str) -> bytes | None:
        """The file's bytes, or None when missing."""
        try:
            return self.path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def write_bytes(self, key: str, data: bytes) -> None:
        """Publish durably: whole and on disk when this returns (`core.storage`)."""
        publish_bytes(self.path(key), data)

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return self.path(key).is_file()

    def url(self, key: str) -> str:
        """The file's path."""
        return str(self.path(key))


@attrs.define
class S3Storage:
    """Objects under `s3://bucket/prefix/`."""

    bucket: str
    prefix: str
    config: S3Config = S3Config()
    _client: Any = attrs.field(default=None, init=False, repr=False, eq=False)

    def __getstate__(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "prefix": self.prefix, "config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.bucket, self.prefix, self.config = state["bucket"], state["prefix"], state["config"]
        self._client = None

    @property
    def client(self) -> Any:
        """The boto3 client of this process (made on first use)."""
        if self._client is None:
            self._client = self.config.client()
        return self._client

    def key(self, key: str) -> str:
        """The full object key of a relative key."""
        return f"{self.prefix.rstrip('/')}/{key}" if self.prefix.strip("/") else key

    def read_bytes(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(key))
        except self.client.exceptions.NoSuchKey:
            return None
        return bytes(response["Body"].read())

    def write_bytes(self, key: str, data: bytes) -> None:
        """PUT the object (atomic: readers see the old object or the new one)."""
        self.client.put_object(Bucket=self.bucket, Key=self.key(key), Body=data)

    def exists(self, key: str) -> bool:
        """Whether the object exists (a HEAD request)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def url(self, key: str) -> str:
        """The object's s3:// URL."""
        return f"s3://{self.bucket}/{self.key(key)}"

    def check_writable(self) -> None:
        """Fail early, with one line, when the bucket is missing or unreachable."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            msg = f"cannot use S3 bucket {self.bucket!r} for output: {exc}"
            raise StoragePathError(msg) from exc


def open_storage(path: str, s3: S3Config | None = None) -> LocalStorage | S3Storage:
    """The storage of a local folder or an `s3://bucket/prefix` URL."""
    if is_s3(path):
        bucket, prefix = split_s3(path)
        return S3Storage(bucket, prefix, s3 or S3Config())
    return LocalStorage(path)
