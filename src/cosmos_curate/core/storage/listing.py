"""Streaming listings: every file under a folder, in key order, a page at a time.

No backend materialises the whole listing: local folders are walked one directory at a
time, S3 and Azure are read one page (1,000 keys) at a time. Keys come out in the order
object stores use (byte order of the full key) on every backend, so a listing of the same
files reads the same locally and remotely. Publishing's temporary files (`.<name>.<hex>.tmp`)
are never listed.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any, NamedTuple

from fsspec.asyn import sync

PAGE = 1000
_TEMP = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")


class Entry(NamedTuple):
    """One listed file: its key relative to the listed folder and its size in bytes."""

    key: str
    size: int


def local_entries(root: str, base: str = "") -> Iterator[Entry]:
    """Files under the local folder `root` (recursively), keys prefixed with `base`."""
    for key, entry in _local_walk(root, base):
        yield Entry(key, entry.stat().st_size)


def local_keys(root: str, base: str = "") -> Iterator[str]:
    """The keys `local_entries` lists, without its `stat` per file.

    The `stat` calls are about half the time of listing 200,000 local files.
    """
    for key, _ in _local_walk(root, base):
        yield key


def _local_walk(root: str, base: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """`(key, entry)` of each file under `root`, in key order, temporary files left out."""
    try:
        with os.scandir(root) as found:
            children = [(e.name + "/" if e.is_dir() else e.name, e) for e in found]
    except (FileNotFoundError, NotADirectoryError):
        return
    children.sort(key=lambda pair: pair[0])
    for name, entry in children:
        if name.endswith("/"):
            yield from _local_walk(entry.path, base + name)
        elif entry.is_file() and not (name.startswith(".") and _TEMP.match(name)):
            yield base + name, entry


def _drain(fs: Any, items: AsyncIterator[tuple[str, int]]) -> Iterator[tuple[str, int]]:
    """Pull an async iterator of the filesystem's event loop into this thread, a page a time."""

    async def page() -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        async for item in items:
            out.append(item)
            if len(out) >= PAGE:
                break
        return out

    while chunk := sync(fs.loop, page):
        yield from chunk


async def _s3_keys(fs: Any, bucket: str, prefix: str) -> AsyncIterator[tuple[str, int]]:
    await fs.set_session()
    pages = fs.s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": PAGE}
    )
    async for page in pages:
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith("/"):
                yield obj["Key"], int(obj["Size"])


async def _azure_keys(fs: Any, container: str, prefix: str) -> AsyncIterator[tuple[str, int]]:
    client = fs.service_client.get_container_client(container)
    blobs = client.list_blobs(name_starts_with=prefix, include=["metadata"], results_per_page=PAGE)
    async for blob in blobs:
        folder_marker = (blob.metadata or {}).get("is_directory") == "true"
        if not blob.name.endswith("/") and not folder_marker:
            yield blob.name, int(blob.size)


def remote_entries(fs: Any, protocol: str, root: str) -> Iterator[Entry]:
    """Files under `root` (`bucket/prefix`) of an object store, keys relative to `root`."""
    if protocol not in ("s3", "abfs"):  # gcs, http: fsspec's own listing (held in memory)
        base = fs._strip_protocol(root).rstrip("/") + "/"
        for name, info in sorted(fs.find(root, detail=True).items()):
            if name.startswith(base):
                yield Entry(name[len(base) :], int(info.get("size") or 0))
        return
    bucket, _, prefix = root.strip("/").partition("/")
    prefix = prefix + "/" if prefix else ""
    lister = _s3_keys if protocol == "s3" else _azure_keys
    for key, size in _drain(fs, lister(fs, bucket, prefix)):
        yield Entry(key[len(prefix) :], size)
