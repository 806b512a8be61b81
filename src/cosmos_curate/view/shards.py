"""The shard view's data: a `video-shard` output's buckets and tars, and a tar's samples.

`index.json` at the root names the buckets (samples, tars written and planned); each
bucket's `wdinfo.json` lists its tars. A tar is opened only when asked: its members are
listed from their headers, and a member is served as the byte range it occupies inside the
tar (members are stored uncompressed), so a clip plays and seeks without being extracted.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import PurePosixPath
from typing import Any

import attrs

from cosmos_curate.view.errors import ViewPathError
from cosmos_curate.view.source import Source

INDEX = "index.json"


def is_shard_output(source: Source) -> bool:
    """Whether the output is a `video-shard` output (its `index.json` and bucket list)."""
    return source.size(INDEX) is not None and source.size("wdinfo_list.csv") is not None


@attrs.frozen
class Tar:
    """One tar of a bucket: its path under the shard root and its size."""

    path: str
    num_bytes: int


@attrs.frozen
class Bucket:
    """A bucket folder: samples and tars as its `wdinfo.json` lists them."""

    name: str
    samples: int
    tars_planned: int
    tars: tuple[Tar, ...]


@attrs.frozen
class Member:
    """A file inside a tar: its name, where its bytes start in the tar, and how many."""

    name: str
    offset: int
    size: int


@attrs.frozen
class ShardIndex:
    """The shard output of `source`: its `index.json` and buckets."""

    source: Source
    index: dict[str, Any]
    buckets: tuple[Bucket, ...]

    def tar_key(self, relative: str) -> str | None:
        """`relative` when it names one of the listed tars (else None)."""
        listed = any(t.path == relative for b in self.buckets for t in b.tars)
        return relative if listed else None


def _bucket(source: Source, entry: dict[str, Any]) -> Bucket | None:
    name = entry.get("bucket")
    if not isinstance(name, str):
        return None
    try:
        wdinfo = json.loads(source.read(f"{name}/wdinfo.json") or b"{}")
    except ValueError:
        wdinfo = {}
    wdinfo = wdinfo if isinstance(wdinfo, dict) else {}
    tars = []
    for relative in wdinfo.get("data_list") or []:
        size = source.size(f"{name}/{relative}") if isinstance(relative, str) else None
        if size is not None:
            tars.append(Tar(f"{name}/{relative}", size))
    samples = entry.get("samples")
    planned = entry.get("tars_planned")
    return Bucket(
        name,
        samples if isinstance(samples, int) else 0,
        planned if isinstance(planned, int) else len(tars),
        tuple(tars),
    )


def load_shards(source: Source) -> ShardIndex:
    """Read the shard output of `source`."""
    try:
        index = json.loads(source.read(INDEX) or b"")
    except ValueError as exc:
        msg = f"{source}/{INDEX} cannot be read ({exc}): give the output of a video-shard run"
        raise ViewPathError(msg) from exc
    entries = index.get("buckets") if isinstance(index, dict) else None
    buckets = [_bucket(source, e) for e in entries or [] if isinstance(e, dict)]
    return ShardIndex(source, index, tuple(b for b in buckets if b is not None))


def members(source: Source, tar: str) -> list[Member]:
    """The regular files inside the tar `tar`, in the order they are stored (headers only)."""
    with source.open(tar) as handle, tarfile.open(fileobj=handle, mode="r:") as opened:
        return [Member(m.name, m.offset_data, m.size) for m in opened if m.isfile()]


def samples(found: list[Member]) -> list[dict[str, Any]]:
    """Members grouped by webdataset sample key (the name up to its first dot)."""
    by_key: dict[str, dict[str, Any]] = {}
    for member in found:
        name = PurePosixPath(member.name).name
        key, _, ext = name.partition(".")
        sample = by_key.setdefault(key, {"key": key, "members": []})
        sample["members"].append({"name": member.name, "ext": ext, "size": member.size})
    return list(by_key.values())
