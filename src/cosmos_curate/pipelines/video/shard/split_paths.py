"""Paths inside a `video-split` output: the one place the shard turns a relative path into a file.

Every file the shard packs (a clip's mp4, its metadata) is read through `resolve_inside`, so
bytes only ever come from inside the split output, whatever its metadata says: a path that is
absolute, climbs out with `..`, is a URL, holds a NUL, or (locally) leaves the folder through a
symlink is refused with `OutsideSplitOutputError`. Local folders and S3 prefixes go through
the same check; locally the result is also resolved against the real folder.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from cosmos_curate.pipelines.video.dedup import storage
from cosmos_curate.pipelines.video.storage import is_s3


class OutsideSplitOutputError(ValueError):
    """A path named by the split output's metadata points outside the split output."""


def _refuse(relative: str, why: str) -> OutsideSplitOutputError:
    return OutsideSplitOutputError(f"path {relative!r} is outside the split output ({why})")


def safe_parts(relative: object) -> tuple[str, ...]:
    """The parts of `relative` (`.` parts dropped); raises when it could leave its root."""
    if not isinstance(relative, str) or not relative.strip():
        raise _refuse(str(relative), "empty or not a string")
    if "\x00" in relative:
        raise _refuse(relative, "holds a NUL character")
    if "://" in relative:
        raise _refuse(relative, "a URL")
    path = PurePosixPath(relative)
    if path.is_absolute() or relative.startswith("~"):
        raise _refuse(relative, "an absolute path")
    if ".." in path.parts:
        raise _refuse(relative, "climbs out with '..'")
    return tuple(p for p in path.parts if p != ".")


def resolve_inside(root: str, relative: object) -> str:
    """The path (or S3 URL) of `relative` under the split output `root`.

    Raises `OutsideSplitOutputError` when `relative` would name anything outside `root`,
    including (locally) through a symlink inside `root` that points elsewhere.
    """
    parts = safe_parts(relative)
    if not parts:
        raise _refuse(str(relative), "names the split output itself")
    joined = storage.join(root, *parts)
    if is_s3(root):
        return joined
    real_root = Path(root).expanduser().resolve()
    if not Path(joined).resolve().is_relative_to(real_root):
        raise _refuse(str(relative), "a symlink to a file outside it")
    return joined
