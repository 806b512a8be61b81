"""Reading many small files at once: concurrent requests on object stores, in batches.

fsspec's async filesystems (s3fs, adlfs, gcsfs) fetch a file per coroutine; `remote_bytes`
runs `BATCH` of them at a time on the filesystem's event loop, so reading 100,000 metadata
files is bounded by the store's latency divided by the batch, not summed over the files.
Each file is one ranged GET from byte 0 (a whole-file read makes s3fs ask for the size
first: two requests per file); a file that answers the range with an error (an empty
object has no byte 0) is read again plainly, which raises the store's real error if any.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fsspec.asyn import _run_coros_in_chunks, sync

BATCH = 256


def local_bytes(path: str) -> bytes | None:
    """The local file's bytes; None when it is missing or not a file."""
    try:
        return Path(path).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def remote_bytes(fs: Any, paths: list[str]) -> Iterator[bytes | None]:
    """Each remote file's bytes, in order; None when it is missing. Other errors raise."""
    if not getattr(fs, "async_impl", False):
        for path in paths:
            try:
                yield bytes(fs.cat_file(path))
            except FileNotFoundError:
                yield None
        return
    for start in range(0, len(paths), BATCH):
        batch = paths[start : start + BATCH]
        coros = [fs._cat_file(path, start=0) for path in batch]
        found = sync(fs.loop, _run_coros_in_chunks, coros, batch_size=BATCH,
                     return_exceptions=True)  # fmt: skip
        for path, data in zip(batch, found, strict=True):
            if isinstance(data, FileNotFoundError):
                yield None
            elif isinstance(data, Exception):
                yield _plain(fs, path)
            elif isinstance(data, BaseException):
                raise data
            else:
                yield bytes(data)


def _plain(fs: Any, path: str) -> bytes | None:
    try:
        return bytes(fs.cat_file(path))
    except FileNotFoundError:
        return None
