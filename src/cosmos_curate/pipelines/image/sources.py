"""Where input images come from: every image file under a local folder or a storage prefix.

Listing goes through `core.storage.DataFolder` (streamed, in key order, recursive), in the
driver, yielding names only; the load stage reads each file's bytes. An image's id is the
video flow's (`video_id_for`): its file stem plus a hash of its path relative to the input,
so files of the same name in different folders stay apart and a rerun finds the same ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

import attrs

from cosmos_curate.core.storage import DataFolder, StorageOptions
from cosmos_curate.pipelines.image.decode import IMAGE_EXTENSIONS
from cosmos_curate.pipelines.video.sources import video_id_for


@attrs.frozen
class ImageSource:
    """One listed image: where it is, its path under the input, and its id."""

    url: str
    relative_path: str
    image_id: str
    extension: str


def list_images(input_path: str, options: StorageOptions | None = None) -> Iterator[ImageSource]:
    """Every file with an image extension under `input_path`, recursively, in key order."""
    folder = DataFolder(input_path, options or StorageOptions())
    for entry in folder.list():
        extension = PurePosixPath(entry.key).suffix.lower()
        if extension in IMAGE_EXTENSIONS:
            yield ImageSource(
                folder.url_of(entry.key), entry.key, video_id_for(entry.key), extension
            )
