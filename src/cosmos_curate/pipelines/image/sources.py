"""Where input images come from: the image files under a folder or prefix, or a list file.

Listing goes through `core.storage.DataFolder` (streamed, in key order, recursive), in the
driver, yielding names only; the load stage reads each file's bytes. An image's id is the
video flow's (`video_id_for`): its file stem plus a hash of its path relative to the input,
so files of the same name in different folders stay apart and a rerun finds the same ids.
A webdataset `.tar` under the input gives its image members (`tars.py`), each with the id
of `<tar path>/<member key>` (so `a.tar` and `b.tar` holding `000001.jpg` stay apart).

A list file (`--input-list`) names one image per line: a local path or a storage URL
(`s3://`, `https://`, ...); blank lines and `#` comments are skipped, a relative path is
relative to the list file's folder, and a repeated entry is listed once. Entries are not
opened here: one that cannot be read becomes the load stage's failure record. An entry's
id hashes the entry as written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import attrs

from cosmos_curate.core.storage import DataFolder, StorageOptions, file_location, is_remote
from cosmos_curate.pipelines.image.decode import IMAGE_EXTENSIONS
from cosmos_curate.pipelines.image.tars import TAR_EXTENSION, TarMember, list_members, member_key
from cosmos_curate.pipelines.video.sources import video_id_for


@attrs.frozen
class ImageSource:
    """One listed image: where it is, its path under the input, and its id."""

    url: str
    relative_path: str
    image_id: str
    extension: str
    member: TarMember | None = None
    """Set for an image inside a webdataset tar (`url` is then the tar's)."""


def list_images(input_path: str, options: StorageOptions | None = None) -> Iterator[ImageSource]:
    """Every image under `input_path`, recursively, in key order: image files, tar members."""
    folder = DataFolder(input_path, options or StorageOptions())
    for entry in folder.list():
        extension = PurePosixPath(entry.key).suffix.lower()
        if extension in IMAGE_EXTENSIONS:
            yield ImageSource(
                folder.url_of(entry.key), entry.key, video_id_for(entry.key), extension
            )
        elif extension == TAR_EXTENSION:
            yield from _tar_images(folder, entry.key)


def _tar_images(folder: DataFolder, key: str) -> Iterator[ImageSource]:
    """The image members of one tar; ids from `<tar path>/<webdataset key>`."""
    for member in list_members(folder, key, IMAGE_EXTENSIONS):
        name = f"{key}/{member.name}"
        yield ImageSource(
            folder.url_of(key),
            name,
            video_id_for(f"{key}/{member_key(member.name)}"),
            PurePosixPath(member.name).suffix.lower(),
            member,
        )


def read_image_list(list_path: str, options: StorageOptions | None = None) -> list[str]:
    """The entries of a list file, in order, without blanks, `#` comments and repeats."""
    folder, key = file_location(list_path, options or StorageOptions())
    text = folder.read_bytes(key).decode("utf-8-sig")
    entries: dict[str, None] = {}
    for line in text.splitlines():
        entry = line.strip()
        if entry and not entry.startswith("#"):
            entries.setdefault(entry, None)
    return list(entries)


def _resolve(entry: str, list_path: str) -> str:
    """`entry` as a URL or an absolute path (a relative one is beside the list file)."""
    if is_remote(entry) or PurePosixPath(entry).is_absolute():
        return entry
    if is_remote(list_path):
        return f"{list_path.rsplit('/', 1)[0]}/{entry}"
    return str(Path(list_path).expanduser().resolve().parent / entry)


def list_image_entries(
    list_path: str, options: StorageOptions | None = None
) -> Iterator[ImageSource]:
    """One source per list entry; its extension is empty unless the name has an image one."""
    for entry in read_image_list(list_path, options):
        extension = PurePosixPath(entry.split("?", 1)[0]).suffix.lower()
        yield ImageSource(
            _resolve(entry, list_path),
            entry,
            video_id_for(entry),
            extension if extension in IMAGE_EXTENSIONS else "",
        )


def image_sources(
    input_path: str | None, input_list: str | None, options: StorageOptions | None = None
) -> Iterator[ImageSource]:
    """The run's images: those under `input_path`, else the entries of `input_list`."""
    if input_path is not None:
        return list_images(input_path, options)
    if input_list is not None:
        return list_image_entries(input_list, options)
    msg = "no input: give an input path or a list file"
    raise ValueError(msg)
