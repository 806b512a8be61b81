"""Webdataset tars as input: the image members of each `.tar` under `--input-path`.

The driver reads each tar's headers once (through `core.storage`'s seekable handle, so a
remote tar is read by ranges, not downloaded) and records where each image member's bytes
are; the load stage then reads just those bytes. A member's webdataset key is its path up
to the first dot of its file name (`shard/000123.jpg` -> `shard/000123`). A tar that cannot
be read becomes one failure record (the load stage raises with the reason).
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import PurePosixPath

import attrs

from cosmos_curate.core.storage import DataFolder

TAR_EXTENSION = ".tar"


@attrs.frozen
class TarMember:
    """Where one member's bytes are inside its tar; `error` when the tar is unreadable."""

    name: str
    offset: int = 0
    size: int = 0
    error: str | None = None


def member_key(name: str) -> str:
    """The webdataset key of a member (its path up to the first dot of its file name)."""
    path = PurePosixPath(name)
    return str(path.parent / path.name.split(".", 1)[0]).removeprefix("./")


def list_members(folder: DataFolder, key: str, extensions: frozenset[str]) -> Iterator[TarMember]:
    """The regular members of the tar `key` whose extension is in `extensions`, in tar order."""
    try:
        with folder.open_read(key) as handle, tarfile.open(fileobj=handle, mode="r:") as tar:
            members = [
                TarMember(m.name, m.offset_data, m.size)
                for m in tar
                if m.isfile() and PurePosixPath(m.name).suffix.lower() in extensions
            ]
    except (tarfile.TarError, OSError, EOFError) as exc:
        yield TarMember("", error=f"unreadable tar: {exc}")
        return
    yield from members


def read_member(folder: DataFolder, key: str, member: TarMember) -> bytes:
    """The bytes of one member (read by range, not the whole tar)."""
    if member.error is not None:
        raise OSError(member.error)
    with folder.open_read(key) as handle:
        handle.seek(member.offset)
        data = handle.read(member.size)
    if len(data) != member.size:
        msg = f"tar member {member.name} is cut short ({len(data)} of {member.size} bytes)"
        raise OSError(msg)
    return data
