"""Where the viewer reads an output: a local folder or a storage URL, through `core.storage`.

`Source` answers what the viewer asks of an output's files: list a subfolder, read small
files (many at once), open a file for seeking, and serve a file with range requests. Local
keys go through `paths.inside` (no `..`, no links out of the folder); remote keys must be
plain keys (`core.storage.key_problem`). Remote files are streamed through the server a
range at a time, never downloaded whole.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import attrs
from starlette.responses import FileResponse, Response

from cosmos_curate.core.storage import DataFolder, StorageOptions, key_problem, parse_url
from cosmos_curate.core.storage.failures import Failure, classify
from cosmos_curate.view.errors import ViewPathError
from cosmos_curate.view.paths import inside, not_found
from cosmos_curate.view.ranges import Reader, local_reader, part_response

CHUNK = 1 << 20  # bytes of one ranged GET when streaming a remote file
OPEN_BLOCK = 1 << 16  # read-ahead of a remote handle (tar headers: small reads, seeks)


@attrs.frozen
class Source:
    """The files of one output, under `folder` (a resolved local folder or a storage URL)."""

    folder: DataFolder

    @property
    def is_local(self) -> bool:
        """Whether the output is a local folder."""
        return self.folder.is_local

    @property
    def root(self) -> Path:
        """The local folder (local outputs only)."""
        return self.folder.path()

    def __str__(self) -> str:
        return str(self.root) if self.is_local else self.folder.url_of()

    def _remote_key(self, key: str) -> str | None:
        return None if self.is_local or key_problem(key) else self.folder.location.path_of(key)

    def local(self, key: str) -> Path | None:
        """The local file `key` names inside the output (None when remote, missing or outside)."""
        return inside(self.root, key) if self.is_local else None

    def has_folder(self, prefix: str) -> bool:
        """Whether the subfolder `prefix` exists (holds a file, on a store)."""
        if self.is_local:
            return (self.root / prefix).is_dir()
        return next(iter(self.folder.list(prefix)), None) is not None

    def keys(self, prefix: str) -> list[str]:
        """Every file key under the subfolder `prefix`, in key order."""
        return [entry.key for entry in self.folder.list(prefix)]

    def read(self, key: str) -> bytes | None:
        """The whole (small) file `key`; None when it is missing or not inside the output."""
        if self.is_local:
            path = self.local(key)
            try:
                return None if path is None else path.read_bytes()
            except OSError:
                return None
        if self._remote_key(key) is None:
            return None
        try:
            return self.folder.read_bytes(key)
        except FileNotFoundError:
            return None

    def read_many(self, keys: list[str]) -> Iterator[tuple[str, bytes]]:
        """`(key, bytes)` of each readable file of `keys`, in order.

        A store's files are fetched `BATCH` at a time, concurrently.
        """
        if self.is_local:
            for key in keys:
                data = self.read(key)
                if data is not None:
                    yield key, data
            return
        plain = [key for key in keys if self._remote_key(key) is not None]
        for key, found in self.folder.read_many(plain):
            if found is not None:
                yield key, found

    def size(self, key: str) -> int | None:
        """The size of the file `key` in bytes; None when it is missing or not inside."""
        if self.is_local:
            local = self.local(key)
            return None if local is None else local.stat().st_size
        return None if self._remote_key(key) is None else self.folder.size(key)

    @contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        """A seekable handle on `key` (remote: small ranged reads on demand)."""
        if self.is_local:
            local = self.local(key)
            if local is None:
                raise FileNotFoundError(key)
            with open(local, "rb") as handle:
                yield handle
            return
        path = self._remote_key(key)
        if path is None:
            raise FileNotFoundError(key)
        with self.folder.fs.open(path, "rb", block_size=OPEN_BLOCK) as handle:
            yield handle

    def reader(self, key: str) -> Reader:
        """Reads `[start, start + length)` of `key` in chunks (for `ranges.part_response`)."""
        if self.is_local:
            local = self.local(key)
            if local is None:
                raise FileNotFoundError(key)
            return local_reader(local)
        folder = self.folder

        def read(start: int, length: int) -> Iterator[bytes]:
            end = start + length
            while start < end:
                chunk = folder.read_range(key, start, min(end, start + CHUNK))
                if not chunk:
                    return
                start += len(chunk)
                yield chunk

        return read

    def response(self, key: str, range_header: str | None) -> Response:
        """The file `key` as an answer (206 for a range), or 404 when it is not served."""
        if self.is_local:
            local = self.local(key)
            return not_found() if local is None else FileResponse(local)
        size = self.size(key)
        if size is None:
            return not_found()
        media_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        return part_response(self.reader(key), 0, size, media_type, range_header)


def _store_problem(url: str, options: StorageOptions, exc: BaseException) -> ViewPathError | None:
    """The one-line error of a store failure opening `url`; None when `exc` is not one."""
    found = classify(exc)
    if found is None:
        return None
    kind, code = found
    if code == "ProfileNotFound":
        return ViewPathError(f"cannot read {url}: no AWS profile {options.s3_profile!r}")
    if parse_url(url).protocol == "s3":
        why = {
            Failure.NO_CREDENTIALS: "no credentials: set --s3-profile or the AWS_* variables",
            Failure.NO_BUCKET: "the bucket does not exist",
            Failure.DENIED: f"access denied ({code}): check --s3-profile and the credentials",
            Failure.UNREACHABLE: f"the store cannot be reached ({code}): check --s3-endpoint-url",
            Failure.OTHER: f"the store answered {code}",
        }[kind]
    else:  # Azure Blob, GCS: credentials and endpoint come from their usual variables
        why = {
            Failure.NO_CREDENTIALS: "no credentials: set the store's credential variables",
            Failure.NO_BUCKET: "the container or bucket does not exist",
            Failure.DENIED: f"access denied ({code}): check the store's credentials",
            Failure.UNREACHABLE: f"the store cannot be reached ({code}): check its endpoint",
            Failure.OTHER: f"the store answered {code}",
        }[kind]
    return ViewPathError(f"cannot read {url}: {why}")


def open_source(path: str, options: StorageOptions | None = None) -> Source:
    """The output at `path` (a local folder or a storage URL), checked to be readable.

    `ViewPathError` (one line) for a missing folder, an unknown scheme, an empty prefix, or a
    store that refuses or cannot be reached.
    """
    options = options or StorageOptions()
    if parse_url(path).is_local:  # StorageURLError (exit 2): an unknown scheme, no bucket
        local = Path(parse_url(path).root)
        if not local.is_dir():
            msg = f"{path} is not a folder: give the output folder or URL of a curate run"
            raise ViewPathError(msg)
        return Source(DataFolder(str(local.resolve()), options))
    try:
        folder = DataFolder(path, options)
        if folder.location.protocol == "http":
            msg = f"{path}: http(s) URLs cannot be listed; give a folder or a bucket URL"
            raise ViewPathError(msg)
        empty = next(iter(folder.list()), None) is None
    except ViewPathError:
        raise
    except Exception as exc:
        problem = _store_problem(path, options, exc)
        if problem is None:
            raise
        raise problem from exc
    if empty:
        msg = f"{path} holds no files: give the output URL of a curate run"
        raise ViewPathError(msg)
    return Source(folder)
