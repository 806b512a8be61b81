"""A folder of files under one root URL, the same API on local disks and object stores.

`DataFolder("s3://bucket/prefix", options)` or `DataFolder("/data/out")`: keys are relative
POSIX paths (`clips/x.mp4`), each checked (`keys.check_key`) before it reaches a path.
Whole-file writes are durable and atomic: local files go through `core.storage.publish`
(a unique temporary name, data fsynced, renamed, folder fsynced); object stores get one PUT
or one multipart upload, which they show only once complete. A folder is plain data (URL
and options), pickled into Ray workers; each process makes its filesystem on first use.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import attrs

from cosmos_curate.core.storage import listing, reads
from cosmos_curate.core.storage.errors import StorageURLError
from cosmos_curate.core.storage.filesystems import filesystem
from cosmos_curate.core.storage.keys import check_key
from cosmos_curate.core.storage.listing import Entry
from cosmos_curate.core.storage.options import StorageOptions
from cosmos_curate.core.storage.probe import check_can_publish
from cosmos_curate.core.storage.publish import (
    publish_batch,
    publish_bytes,
    publish_staged,
    publishing,
)
from cosmos_curate.core.storage.urls import Location, parse_url


def scratch_folder() -> Path:
    """Local folder where files bound for an object store are built before their upload."""
    from cosmos_curate.core.utils import settings

    folder = settings.runs_root() / "upload_scratch"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@attrs.frozen
class DataFolder:
    """Files under `url` (a local path or a storage URL), reached with `options`."""

    url: str
    options: StorageOptions = attrs.field(factory=StorageOptions)
    location: Location = attrs.field(init=False, repr=False)

    @location.default
    def _parse(self) -> Location:
        return parse_url(self.url)

    @property
    def is_local(self) -> bool:
        """Whether the root is a local folder."""
        return self.location.is_local

    @property
    def fs(self) -> Any:
        """The fsspec filesystem of the root in this process (made on first use, never pickled)."""
        return filesystem(self.location.protocol, self.options)

    def url_of(self, key: str = "") -> str:
        """Where `key` (or the root) lives, for users: a local path or a URL."""
        return self.location.url_of(check_key(key, self.url) if key else "")

    def path(self, key: str = "") -> Path:
        """The local file of `key` (local folders only)."""
        if not self.is_local:
            msg = f"{self.url} is not a local folder"
            raise StorageURLError(msg)
        return Path(self.location.path_of(check_key(key, self.url) if key else ""))

    def sub(self, key: str) -> DataFolder:
        """The folder `key` under this one, with the same options."""
        return DataFolder(self.url_of(key), self.options)

    def _path(self, key: str) -> str:
        return self.location.path_of(check_key(key, self.url))

    def _writable(self) -> None:
        if not self.location.writable:
            msg = f"{self.url}: http(s) URLs are read-only; write outputs to a folder or bucket"
            raise StorageURLError(msg)

    def exists(self, key: str = "") -> bool:
        """Whether the file `key` exists; with no key, whether the folder holds anything."""
        if key:
            path = self._path(key)
            return Path(path).is_file() if self.is_local else bool(self.fs.isfile(path))
        if self.is_local:
            return Path(self.location.root).is_dir()
        return next(iter(self.list()), None) is not None

    def list(self, prefix: str = "") -> Iterator[Entry]:
        """Every file under the folder (or under its subfolder `prefix`), in key order.

        Streams: one directory or one page of 1,000 keys is held at a time. Keys are relative
        to this folder.
        """
        base, root = self._listed(prefix)
        if self.is_local:
            return listing.local_entries(root, base)
        return (
            Entry(base + e.key, e.size)
            for e in listing.remote_entries(self.fs, self.location.protocol, root)
        )

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """The keys `list` gives, without their sizes.

        A local folder is then listed without a `stat` per file; object stores give sizes
        with the keys anyway.
        """
        if not self.is_local:
            return (entry.key for entry in self.list(prefix))
        base, root = self._listed(prefix)
        return listing.local_keys(root, base)

    def _listed(self, prefix: str) -> tuple[str, str]:
        """`(key prefix, path)` of the subfolder `prefix` to list (`""`: the whole folder)."""
        base = check_key(prefix.strip("/"), self.url) + "/" if prefix.strip("/") else ""
        return base, self.location.path_of(base.rstrip("/"))

    def read_bytes(self, key: str) -> bytes:
        """The whole file; `FileNotFoundError` naming its URL when it is missing."""
        path = self._path(key)
        try:
            if self.is_local:
                return Path(path).read_bytes()
            return bytes(self.fs.cat_file(path))
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise FileNotFoundError(self.url_of(key)) from exc

    def read_many(self, keys: Sequence[str]) -> Iterator[tuple[str, bytes | None]]:
        """`(key, whole file)` of each of `keys`, in order; None for a missing file.

        Object stores are asked `reads.BATCH` files at a time, concurrently, so listing then
        reading thousands of small files (metadata JSON) takes seconds, not minutes.
        """
        paths = [self._path(key) for key in keys]
        found: Iterator[bytes | None]
        if self.is_local:
            found = (reads.local_bytes(path) for path in paths)
        else:
            found = reads.remote_bytes(self.fs, paths)
        return zip(keys, found, strict=True)

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes `[start, end)` of `key` (one ranged request on an object store)."""
        path = self._path(key)
        if self.is_local:
            with open(path, "rb") as handle:
                handle.seek(start)
                return handle.read(max(0, end - start))
        return bytes(self.fs.cat_file(path, start=start, end=end))

    def size(self, key: str) -> int | None:
        """The size of the file `key` in bytes; None when it is missing."""
        path = self._path(key)
        try:
            return Path(path).stat().st_size if self.is_local else int(self.fs.size(path))
        except FileNotFoundError:
            return None

    def write_bytes(self, key: str, data: bytes) -> None:
        """Publish `data` as the whole file `key` (readers see the old file or the new one)."""
        self._writable()
        path = self._path(key)
        if self.is_local:
            publish_bytes(Path(path), data)
        else:
            self.fs.pipe_file(path, data)

    def write_batch(self, groups: Sequence[Sequence[tuple[str, bytes]]]) -> None:
        """`write_bytes` of every `(key, data)`, each group's files complete before the next's.

        Local: the disk waits are shared (`publish.publish_batch`: one durable flush for all,
        then the renames group by group), far fewer than one file at a time. Object stores:
        each group's uploads go at once, the next group's after them.
        """
        self._writable()
        # Every key is checked before anything is written: a bad one writes nothing.
        paths = [[(self._path(key), data) for key, data in group] for group in groups]
        if self.is_local:
            publish_batch([[(Path(path), data) for path, data in group] for group in paths])
            return
        for group in paths:
            if group:  # fsspec's `pipe` of many files: concurrent on object stores
                self.fs.pipe(dict(group))

    @contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        """A seekable binary handle on `key`: ranges are read on demand, not the whole file."""
        path = self._path(key)
        if self.is_local:
            with open(path, "rb") as handle:
                yield handle
        else:
            with self.fs.open(path, "rb") as handle:
                yield handle

    @contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        """A binary handle whose content becomes `key` when the block succeeds, else nothing.

        Local: published durably. Object stores: built in a local scratch file, then one
        upload (multipart when large), visible only once complete.
        """
        self._writable()
        path = self._path(key)
        if self.is_local:
            with publishing(Path(path)) as handle:
                yield handle
            return
        fd, scratch = tempfile.mkstemp(dir=scratch_folder(), suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle
            self.fs.put_file(scratch, path)
        finally:
            Path(scratch).unlink(missing_ok=True)

    def put_file(self, local: Path, key: str) -> None:
        """Publish the finished local file `local` as `key`; `local` is gone afterwards.

        Local folders: a durable rename (same filesystem). Object stores: one upload.
        """
        self._writable()
        path = self._path(key)
        try:
            if self.is_local:
                publish_staged(local, Path(path))
            else:
                self.fs.put_file(str(local), path)
        finally:
            Path(local).unlink(missing_ok=True)

    def get_file(self, key: str, local: Path) -> None:
        """Copy `key` to the local file `local` (not atomic: give it a scratch name)."""
        path = self._path(key)
        if self.is_local:
            shutil.copyfile(path, local)
        else:
            self.fs.get_file(path, str(local))

    def copy(self, key: str, dest: DataFolder, dest_key: str) -> None:
        """Copy `key` to `dest_key` of `dest`: server side within one store, else streamed."""
        dest._writable()
        same = (dest.location.protocol, dest.options) == (self.location.protocol, self.options)
        if same and not self.is_local:
            self.fs.copy(self._path(key), dest._path(dest_key))
            return
        with self.open_read(key) as source, dest.open_write(dest_key) as target:
            shutil.copyfileobj(source, target, 8 * 1024 * 1024)

    def delete(self, keys: Iterable[str]) -> None:
        """Remove the named files (missing ones are fine); never anything not named."""
        self._writable()
        paths = [self._path(key) for key in keys]
        if self.is_local:
            for path in paths:
                Path(path).unlink(missing_ok=True)
        elif paths:
            # Some backends (adlfs) raise when none of the named files exists: nothing to do.
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm(paths)

    def check_writable(self) -> None:
        """Raise `StorageURLError` (remote) or `OSError` (local) when outputs cannot go here."""
        self._writable()
        if self.is_local:
            check_can_publish(Path(self.location.root) / "probe")
        else:
            bucket = self.location.root.split("/", 1)[0]
            try:
                self.fs.info(bucket)
            except OSError as exc:
                msg = f"cannot use {self.url} for output: bucket {bucket!r}: {exc}"
                raise StorageURLError(msg) from exc


def file_location(url: str, options: StorageOptions | None = None) -> tuple[DataFolder, str]:
    """The folder holding the file `url` (its bucket, or its local folder) and its key there."""
    location = parse_url(url)
    options = options or StorageOptions()
    if location.is_local:
        local = Path(location.root)
        return DataFolder(str(local.parent), options), local.name
    if location.protocol == "http":
        parent, _, name = location.root.rpartition("/")
        return DataFolder(parent, options), name
    bucket, _, key = location.root.partition("/")
    return DataFolder(f"{url.split('://', 1)[0]}://{bucket}", options), key
