"""Exact duplicates: images whose files have the same bytes (SHA-256), found without embeddings.

A stage hashes each image file of an `image-annotate` output (in chunks, on the workers);
the driver groups the digests. In each group of equal bytes the image with the smallest
id is kept and the others are removed as its duplicates, so a rerun removes the same ones.
The removed images are listed in `extraction/exact_duplicates.parquet` (`id`,
`duplicate_of`, `sha256`), which `image-shard --dedup-path` leaves out at every eps.
"""

from __future__ import annotations

import hashlib
import traceback

import attrs

from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.image.output import AnnotatedImage
from cosmos_curate.pipelines.video.dedup import storage, tables
from cosmos_curate.pipelines.video.shard.dedup_filter import exact_table_path


@attrs.define
class HashTask(PipelineTask):
    """A chunk of images to hash; `digests` and `failed_videos` are filled in by the stage."""

    index: int
    images: list[AnnotatedImage]
    digests: dict[str, str] = attrs.field(factory=dict)
    failed_videos: list[tuple[str, str, str]] = attrs.field(factory=list)
    """`(image id, error, traceback)` of images that could not be read (failure records)."""

    def __repr__(self) -> str:
        first = self.images[0].image_id if self.images else "-"
        return f"HashTask(index={self.index}, images={len(self.images)}, first={first})"


def hash_tasks(images: list[AnnotatedImage], chunk_size: int) -> list[HashTask]:
    """Consecutive chunks of `chunk_size` images."""
    return [
        HashTask(n, images[start : start + chunk_size])
        for n, start in enumerate(range(0, len(images), chunk_size))
    ]


class HashImagesStage(CuratorStage[HashTask, HashTask]):
    """SHA-256 of each image file's bytes (read with the input's storage options)."""

    def __init__(self, input_path: str, inputs: StorageOptions) -> None:
        self.input_path = input_path
        self.inputs = inputs

    @property
    def resources(self) -> CuratorStageResource:
        """Reading and hashing: half a CPU."""
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[HashTask]) -> list[HashTask]:
        """Hash every image of each chunk; one that cannot be read is listed, not raised."""
        for task in tasks:
            for image in task.images:
                try:
                    if image.image_file is None:
                        msg = f"no file under images/ for image {image.image_id}"
                        raise FileNotFoundError(msg)
                    data = storage.read_bytes(
                        storage.join(self.input_path, image.image_file), self.inputs
                    )
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    task.failed_videos.append((image.image_id, error, traceback.format_exc()))
                    continue
                task.digests[image.image_id] = hashlib.sha256(data).hexdigest()
        return tasks


def exact_duplicates(digests: dict[str, str]) -> dict[str, str]:
    """`{removed id: kept id}`: in each group of equal digests all but the smallest id."""
    first: dict[str, str] = {}
    removed: dict[str, str] = {}
    for image_id in sorted(digests):
        kept = first.setdefault(digests[image_id], image_id)
        if kept != image_id:
            removed[image_id] = kept
    return removed


def write_exact_table(
    output_path: str, removed: dict[str, str], digests: dict[str, str], outputs: StorageOptions
) -> None:
    """`extraction/exact_duplicates.parquet` under `output_path` (empty when none)."""
    ids = sorted(removed)
    data = tables.to_parquet_bytes(
        {
            "id": ids,
            "duplicate_of": [removed[i] for i in ids],
            "sha256": [digests[i] for i in ids],
        }
    )
    storage.write_bytes(exact_table_path(output_path), data, outputs)
