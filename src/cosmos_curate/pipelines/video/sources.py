"""Where input videos come from: a local folder or an S3 prefix.

Listing happens in the driver (it yields names only, lazily); stages open a source with
`local_path`, which downloads S3 objects once per node into a cache folder so that PyAV
can seek in them. Remote access goes through `core.storage` with the run's `StorageOptions`
(profile, endpoint URL), and otherwise each backend's usual environment.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.storage import DataFolder, file_location, publish_staged
from cosmos_curate.core.storage.publish import temp_name_for
from cosmos_curate.core.utils import settings
from cosmos_curate.pipelines.video.storage import S3Config, is_s3

__all__ = ["InputPathError", "is_s3", "list_videos", "local_path", "video_id_for"]

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".mkv", ".webm"})
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class InputPathError(CurateError):
    """The input path is neither an existing folder nor an S3 prefix."""


def list_videos(input_path: str, s3: S3Config | None = None) -> Iterator[tuple[str, str]]:
    """Yield `(source, relative name)` for every video under `input_path`, sorted by name."""
    if is_s3(input_path):
        yield from _list_s3(input_path, s3 or S3Config())
        return
    root = Path(input_path).expanduser()
    if not root.is_dir():
        msg = f"input path {input_path} is not a folder (or an s3:// prefix)"
        raise InputPathError(msg)
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file():
            yield str(path.resolve()), path.relative_to(root).as_posix()


def _list_s3(url: str, s3: S3Config) -> Iterator[tuple[str, str]]:
    folder = DataFolder(url, s3)
    for key, _ in folder.list():
        if PurePosixPath(key).suffix.lower() in VIDEO_EXTENSIONS:
            yield folder.url_of(key), key


def video_id_for(relative_name: str) -> str:
    """A stable, file-name-safe id: the name's stem plus a hash of the relative path."""
    stem = _UNSAFE.sub("_", PurePosixPath(relative_name).stem).strip("_.") or "video"
    digest = hashlib.sha1(relative_name.encode("utf-8")).hexdigest()[:8]
    return f"{stem[:80]}-{digest}"


def local_path(source: str, s3: S3Config | None = None) -> Path:
    """A local file for `source`; S3 objects are downloaded once into the node's cache."""
    if not is_s3(source):
        return Path(source)
    folder, key = file_location(source, s3)
    suffix = PurePosixPath(key).suffix
    cache = settings.runs_root() / "video_cache"
    target = cache / (hashlib.sha1(source.encode("utf-8")).hexdigest() + suffix)
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    partial = temp_name_for(target)  # unique per call: concurrent downloads never share one
    try:
        folder.get_file(key, partial)
        publish_staged(partial, target)  # readers never see a half-downloaded file
    finally:
        partial.unlink(missing_ok=True)
    return target
