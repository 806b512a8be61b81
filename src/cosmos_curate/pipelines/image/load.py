"""Load: read each image's bytes through `core.storage` and decode them (`decode.py`).

A file that cannot be used (empty, not an image, truncated, too many pixels) raises
`ImageDecodeError` naming the file and the reason; the pipeline runs this stage with
`ignore_failures`, so the runtime writes a failure record and the run goes on (exit 3).
So does a missing file, an unreadable tar or an unreadable URL (a list file's entry). An
image whose name has no image extension (a list entry such as `https://host/img?id=3`) is
stored under the extension of the format found in its bytes.
"""

from __future__ import annotations

from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.core.storage import StorageOptions, file_location
from cosmos_curate.pipelines.image.decode import ImageDecodeError, decode_image
from cosmos_curate.pipelines.image.tars import read_member
from cosmos_curate.pipelines.image.tasks import ImageTask

_FORMAT_EXTENSIONS = {"JPEG": ".jpg", "TIFF": ".tiff", "MPO": ".jpg"}


def extension_for(image_format: str) -> str:
    """The file extension for a Pillow format name (`JPEG` -> `.jpg`, `PNG` -> `.png`)."""
    return _FORMAT_EXTENSIONS.get(image_format, "." + image_format.lower())


class ImageLoadStage(CuratorStage[ImageTask, ImageTask]):
    """Reads and decodes images; `cpus` per worker (decoding large JPEGs is CPU work)."""

    def __init__(self, inputs: StorageOptions, max_pixels: int, cpus: float = 1.0) -> None:
        self.inputs = inputs
        self.max_pixels = max_pixels
        self.cpus = cpus

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs one worker needs."""
        return CuratorStageResource(cpus=self.cpus)

    def process_data(self, tasks: list[ImageTask]) -> list[ImageTask] | None:
        """Process a batch; see the module docstring."""
        for task in tasks:
            folder, key = file_location(task.source, self.inputs)
            if task.member is None:
                data = folder.read_bytes(key)
            else:
                data = read_member(folder, key, task.member)
            try:
                decoded = decode_image(data, self.max_pixels)
            except ImageDecodeError as exc:
                where = task.source + (f"/{task.member.name}" if task.member else "")
                msg = f"{where}: {exc}"
                raise ImageDecodeError(msg) from exc
            task.data = data
            task.rgb = decoded.rgb
            task.width, task.height = decoded.width, decoded.height
            task.format, task.mode = decoded.format, decoded.mode
            task.exif_orientation = decoded.exif_orientation
            task.num_frames = decoded.num_frames
            task.extension = task.extension or extension_for(decoded.format)
        return tasks
