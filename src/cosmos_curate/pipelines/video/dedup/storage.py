"""Files under a local folder or a storage URL, addressed by full path: `core.storage` underneath.

Paths are plain strings: a local path or a URL (`s3://`, `az://`, `gs://`). Each function
takes the run's `StorageOptions` for that side (input or output; never a default, so a
profile or endpoint the user gave cannot be dropped on the way) and
opens the `DataFolder` of the path's bucket (or local parent folder) with it, so the
same profile, endpoint and durability rules hold as everywhere else: local writes are
published durably, object-store writes are one PUT or one multipart upload.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from cosmos_curate.core.storage import DataFolder, StorageOptions, is_remote, write_unsynced
from cosmos_curate.core.storage.folder import file_location, scratch_folder
from cosmos_curate.core.storage.publish import temp_name_for

# One definition of a remote URL for every video pipeline.
from cosmos_curate.pipelines.video.storage import is_s3

__all__ = [
    "copy_s3",
    "delete_file",
    "delete_tree",
    "exists",
    "is_dir",
    "is_s3",
    "join",
    "list_files",
    "list_keys",
    "publish",
    "read_bytes",
    "temp_file_for",
    "write_bytes",
    "write_staged",
]


def join(base: str, *parts: str) -> str:
    """`base/part/...` for a local path or a URL."""
    if is_remote(base):
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
    return str(Path(base).expanduser().joinpath(*parts))


def _folder(path: str, options: StorageOptions) -> DataFolder:
    """The folder `path` names itself."""
    return DataFolder(path, options)


def _parent_and_key(path: str, options: StorageOptions) -> tuple[DataFolder, str]:
    return file_location(path, options)


def list_files(prefix: str, options: StorageOptions) -> Iterator[tuple[str, int]]:
    """`(path relative to prefix, size in bytes)` of every file under `prefix`, in key order.

    Streams the listing. Local files whose name starts with `.` are left out.
    """
    hidden = _hidden_rule(prefix)
    for key, size in _folder(prefix, options).list():
        if not hidden(key):
            yield key, size


def list_keys(prefix: str, options: StorageOptions) -> Iterator[str]:
    """The paths `list_files` gives, without sizes (cheaper on a local folder)."""
    hidden = _hidden_rule(prefix)
    for key in _folder(prefix, options).list_keys():
        if not hidden(key):
            yield key


def _hidden_rule(prefix: str) -> Callable[[str], bool]:
    """Which listed keys under `prefix` are left out: local files whose name starts with `.`."""
    if is_remote(prefix):
        return lambda key: False
    return lambda key: key.rsplit("/", 1)[-1].startswith(".")


def is_dir(path: str, options: StorageOptions) -> bool:
    """Whether a local folder exists, or a remote prefix holds at least one object."""
    return _folder(path, options).exists()


def exists(path: str, options: StorageOptions) -> bool:
    """Whether the file exists."""
    folder, key = _parent_and_key(path, options)
    return folder.exists(key)


def read_bytes(path: str, options: StorageOptions) -> bytes:
    """The file's bytes; `FileNotFoundError` when it is missing."""
    folder, key = _parent_and_key(path, options)
    return folder.read_bytes(key)


def write_bytes(path: str, data: bytes, options: StorageOptions) -> None:
    """Write a whole file atomically (readers see the old file, or the new one whole)."""
    folder, key = _parent_and_key(path, options)
    folder.write_bytes(key, data)


def write_staged(path: str, data: bytes, options: StorageOptions) -> None:
    """Write a whole file of a staging folder: atomic under its name, not yet durable.

    Local files get no fsync: `results.publish` makes the staging folder durable at once
    (`sync_tree`) before its rename. Object stores: as `write_bytes` (one PUT).
    """
    folder, key = _parent_and_key(path, options)
    if folder.is_local:
        write_unsynced(folder.path(key), data)
    else:
        folder.write_bytes(key, data)


def temp_file_for(path: str) -> Path:
    """A local scratch file to build `path` in before `publish` (beside it when local)."""
    if is_remote(path):
        return scratch_folder() / f"{uuid.uuid4().hex}.part"
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    return temp_name_for(target)


def publish(local_tmp: Path, path: str, options: StorageOptions) -> None:
    """Make a finished scratch file visible at `path` at once: a durable rename, or one upload.

    Large uploads go as a multipart upload, which the store shows only after its completion;
    a crash mid-upload leaves no object. The scratch file is removed.
    """
    folder, key = _parent_and_key(path, options)
    folder.put_file(local_tmp, key)


def copy_s3(source: str, dest: str, options: StorageOptions) -> None:
    """Copy one object to another key (server side within one store)."""
    src_folder, src_key = _parent_and_key(source, options)
    dest_folder, dest_key = _parent_and_key(dest, options)
    src_folder.copy(src_key, dest_folder, dest_key)


def delete_file(path: str, options: StorageOptions) -> None:
    """Remove one file or object (missing is fine)."""
    folder, key = _parent_and_key(path, options)
    folder.delete([key])


def delete_tree(prefix: str, options: StorageOptions) -> None:
    """Remove every file under `prefix` (listed first: only keys that exist are named)."""
    folder = _folder(prefix, options)
    if folder.is_local:
        shutil.rmtree(folder.path(), ignore_errors=True)
        return
    batch: list[str] = []
    for entry in folder.list():
        batch.append(entry.key)
        if len(batch) == 1000:
            folder.delete(batch)
            batch = []
    folder.delete(batch)
