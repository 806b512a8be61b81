"""Durable publishing of local files: data fsynced, renamed into place, folder fsynced.

A reader never sees a half-written file under its final name, and after a crash (power
loss included) a published name holds its whole content: the data reaches the disk before
the rename that names it, and the rename reaches the disk before the call returns. Temporary
names are unique per call (`.<name>.<random>.tmp` beside the target), so concurrent writers
never share one; a failed write removes its temporary file and leaves the old file as it was.
A folder of many files built before one rename publishes it (a staging folder) writes them
with `write_unsynced` and makes them durable at once with `sync_tree`: two fsyncs per file
cost more than writing small files. Many files published together (`publish_batch`) share
those waits: their data is made durable at once, then they are renamed in, group by group.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal, overload

TEMP_SUFFIX = ".tmp"


def temp_name_for(dest: Path) -> Path:
    """A unique temporary path beside `dest` (same folder, so the rename stays on one disk)."""
    return dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}{TEMP_SUFFIX}")


def fsync_dir(folder: Path) -> None:
    """Make the entries of `folder` (a rename, a new file) durable."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _temporaries() -> Iterator[list[Path]]:
    """A list for the block's temporary files (`_temp_beside`); all removed if it raises.

    Those already renamed into place are gone under their temporary names: removing them is
    a no-op, so what was published stays published.
    """
    temps: list[Path] = []
    try:
        yield temps
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise


def _temp_beside(dest: Path, temps: list[Path]) -> Path:
    """A unique temporary path for `dest` (its folder created), noted in `temps`."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name_for(dest)
    temps.append(tmp)
    return tmp


def _rename_in(renames: Sequence[tuple[Path, Path]], *, durable: bool = True) -> None:
    """Rename each `(temporary, dest)` into place, then fsync their folders (each once)."""
    for tmp, dest in renames:
        os.replace(tmp, dest)
    if durable:
        for folder in dict.fromkeys(dest.parent for _, dest in renames):
            fsync_dir(folder)


@overload
@contextmanager
def publishing(
    dest: Path, mode: Literal["wb"] = "wb", *, durable: bool = True
) -> Iterator[IO[bytes]]: ...


@overload
@contextmanager
def publishing(dest: Path, mode: Literal["w"], *, durable: bool = True) -> Iterator[IO[str]]: ...


@contextmanager
def publishing(dest: Path, mode: str = "wb", *, durable: bool = True) -> Iterator[IO[Any]]:
    """Write `dest` through a handle to a temporary file; publish it when the block succeeds.

    The parent folder is created when missing. If the block raises, the temporary file is
    removed and `dest` keeps its previous content (or stays absent). `durable=False` skips
    the fsyncs (see `write_unsynced`).
    """
    if mode not in ("wb", "w"):
        msg = f"publishing() writes whole files: mode must be 'wb' or 'w', not {mode!r}"
        raise ValueError(msg)
    dest = Path(dest)
    encoding = None if mode == "wb" else "utf-8"
    with _temporaries() as temps:
        tmp = _temp_beside(dest, temps)
        with open(tmp, mode, encoding=encoding) as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        _rename_in([(tmp, dest)], durable=durable)


def publish_bytes(dest: Path, data: bytes) -> None:
    """Publish `data` as the whole content of `dest`."""
    with publishing(dest) as handle:
        handle.write(data)


def publish_text(dest: Path, text: str) -> None:
    """Publish `text` (UTF-8) as the whole content of `dest`."""
    publish_bytes(dest, text.encode("utf-8"))


def publish_json(dest: Path, data: Any, *, indent: int | None = 2) -> None:
    """Publish `data` as JSON (sorted keys, so reruns give identical files)."""
    publish_text(dest, json.dumps(data, indent=indent, sort_keys=True))


def write_unsynced(dest: Path, data: bytes) -> None:
    """Write `dest` whole under its name (a temporary file renamed in), without any fsync.

    Only for a file inside a staging folder that nothing reads until `sync_tree` has made it
    durable and one rename has published the folder: a crash before that leaves the staging
    folder unpublished, never a published name without its content.
    """
    with publishing(dest, durable=False) as handle:
        handle.write(data)


def sync_tree(folder: Path) -> None:
    """Make every file and folder under `folder` durable, before a rename publishes them.

    On Linux one `syncfs` of the folder's filesystem (one call, however many files; it also
    flushes other writers' data on that filesystem); elsewhere, or when it fails, an fsync of
    each file and folder.
    """
    folder = Path(folder)
    if _syncfs(folder):
        return
    for parent, _, files in os.walk(folder):
        for name in files:
            _fsync_path(Path(parent) / name)
        fsync_dir(Path(parent))


def _syncfs(folder: Path) -> bool:
    """`syncfs(2)` on `folder`'s filesystem; False where there is none or it failed."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        return bool(syncfs(fd) == 0)
    finally:
        os.close(fd)


def publish_batch(groups: Sequence[Sequence[tuple[Path, bytes]]]) -> None:
    """Publish every `(dest, data)` of `groups`, each group's names durable before the next's.

    As `publish_bytes` for each file, with the disk waits shared: every file is written to
    its temporary name, all are made durable at once (`syncfs`, or an fsync each where it is
    missing), then each group is renamed in and its folders fsynced. So a file of a later
    group (a record saying "complete") is never on disk without the earlier groups' files.
    On an error no temporary file is left; groups already renamed in stay published.
    """
    with _temporaries() as temps:
        staged: list[list[tuple[Path, Path]]] = []
        for group in groups:
            staged.append([])
            for name, data in group:
                dest = Path(name)
                tmp = _temp_beside(dest, temps)
                staged[-1].append((tmp, dest))
                tmp.write_bytes(data)
        on_disk: dict[int, list[Path]] = {}  # one flush per filesystem the files are on
        for tmp in temps:
            on_disk.setdefault(tmp.parent.stat().st_dev, []).append(tmp)
        for same_disk in on_disk.values():
            if not _syncfs(same_disk[0].parent):
                for tmp in same_disk:
                    _fsync_path(tmp)
        for renames in staged:
            _rename_in(renames)


def publish_staged(staged: Path, dest: Path) -> None:
    """Publish a file already written at `staged` (same filesystem) under the name `dest`.

    For writers that produce a file themselves (an encoder, a downloader): the data is
    fsynced, renamed over `dest`, and the folder fsynced.
    """
    staged, dest = Path(staged), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _fsync_path(staged)
    os.replace(staged, dest)
    fsync_dir(dest.parent)
