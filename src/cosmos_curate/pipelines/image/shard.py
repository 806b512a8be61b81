"""The `image-shard` pipeline: `image-annotate` images -> bucketed webdataset tars.

The video flow's shard run (`video.shard.pipeline.shard`) with images as its items: the
same plan (tars of about `--target-tar-size-mb`, parts, `plan.json` fingerprint), the same
`--dedup-path`/`--eps` rule (plus image-dedup's exact duplicates), the same indexes and trust
rules. Buckets are resolution (shorter side) and aspect ratio, no duration:
`resolution_<r>/aspect_ratio_<w>_<h>/part_<p>/<n>.tar`, and `other` for images that fit
none. A sample is `<key>.<jpg|png|webp|...>` (the original bytes, extension from the
file), `<key>.json` (the metadata), `<key>.npy` (the embedding, when there is one) and
`<key>.txt` (the caption, when there is one). Image files are read only through
`split_paths.resolve_inside`: a metadata `image_path` outside the input is never packed
(listed in `not_written.jsonl` as `image_path_refused`, a failure record, exit 3).
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import numpy.typing as npt
import pydantic

from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    CuratorStageSpec,
)
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.image.output import list_image_groups, summarize_annotated
from cosmos_curate.pipelines.registry import RunOptions, register_pipeline
from cosmos_curate.pipelines.sketch import PipelineSketch, sketch_inputs
from cosmos_curate.pipelines.video.dedup import storage
from cosmos_curate.pipelines.video.dedup.split_output import VideoClips, read_video_embeddings
from cosmos_curate.pipelines.video.dedup.stages import stage_options
from cosmos_curate.pipelines.video.shard import left_out
from cosmos_curate.pipelines.video.shard.buckets import BucketSpec, parse_ratio
from cosmos_curate.pipelines.video.shard.kind import ShardKind
from cosmos_curate.pipelines.video.shard.pipeline import shard
from cosmos_curate.pipelines.video.shard.plan import ClipEntry
from cosmos_curate.pipelines.video.shard.split_paths import OutsideSplitOutputError, resolve_inside
from cosmos_curate.pipelines.video.shard.stages import ClipInfoTask, WriteTarStage
from cosmos_curate.pipelines.video.shard.tar_writer import sample_key
from cosmos_curate.pipelines.video.storage import StorageFlags

__all__ = ["ImageShardOptions", "run_image_shard", "shard_images"]

IMAGE_DATA_KEYS = ("jpg", "png", "webp", "gif", "bmp", "tiff", "json", "npy", "txt")
_EXTENSION_KEYS = {"jpeg": "jpg", "tif": "tiff"}


class ImageShardOptions(StorageFlags):
    """Options of `curate pipeline run image-shard` (video-shard's names where the same)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    input_path: str = pydantic.Field(description="image-annotate output folder or s3:// prefix")
    output_path: str = pydantic.Field(description="folder or s3:// prefix for the shards")
    dedup_path: str | None = pydantic.Field(
        default=None,
        description="image-dedup output: leave out its duplicates (read with the input's profile)",
    )
    eps: float = pydantic.Field(default=0.01, gt=0, lt=1, description="dedup eps to apply")
    target_tar_size_mb: float = pydantic.Field(default=500, gt=0, description="tar size target")
    max_tars_per_part: int = pydantic.Field(default=100, ge=1, description="tars per part folder")
    min_images_per_tar: int = pydantic.Field(default=1, ge=1, description="see --drop-small-shards")
    drop_small_shards: bool = pydantic.Field(
        default=False,
        description="drop a bucket's last tar below --min-images-per-tar (listed, exit 3)",
    )
    skip_unbucketed: bool = pydantic.Field(
        default=False,
        description="leave out images that fit no bucket instead of the `other` bucket "
        "(listed, exit 3)",
    )
    resolutions: list[int] = pydantic.Field(
        default=[1024, 512, 256],
        description="resolution buckets (shorter side; below: bucket 0)",
    )
    aspect_ratios: list[str] = pydantic.Field(
        default=["9:16", "3:4", "1:1", "4:3", "16:9"], description="aspect-ratio buckets"
    )
    chunk_size: int = pydantic.Field(
        default=10_000, ge=1, description="images per metadata-reading task"
    )
    workers_per_stage: int | None = pydantic.Field(
        default=None, ge=1, description="fixed workers per stage (unset: autoscale)"
    )

    @pydantic.model_validator(mode="after")
    def _buckets_valid(self) -> ImageShardOptions:
        self.bucket_spec()
        return self

    @property
    def min_clips_per_tar(self) -> int:
        """The shard plan's name for `min_images_per_tar`."""
        return self.min_images_per_tar

    def bucket_spec(self) -> BucketSpec:
        """The bucket lists (images have no duration level)."""
        return BucketSpec(
            tuple(self.resolutions), tuple(parse_ratio(r) for r in self.aspect_ratios)
        )


def _read_meta(root: str, image_id: str, inputs: StorageOptions) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads(
        storage.read_bytes(resolve_inside(root, f"metas/{image_id}.json"), inputs)
    )
    return meta


def _image_path_of(image_id: str, meta: dict[str, Any]) -> object:
    """The image file, relative to the input, as its metadata names it (unchecked)."""
    return meta.get("image_path") or f"images/{image_id}"


class ReadImageInfoStage(CuratorStage[ClipInfoTask, ClipInfoTask]):
    """Reads each image's size for the plan and checks its file path and embedding.

    An image whose metadata or embedding cannot be read is listed in `failed_videos` (the
    driver writes its failure record); one whose `image_path` lies outside the input in
    `failed_clips`. Neither is planned into a tar.
    """

    def __init__(self, input_path: str, inputs: StorageOptions) -> None:
        self.input_path = input_path
        self.inputs = inputs

    @property
    def resources(self) -> CuratorStageResource:
        """I/O bound: a quarter CPU."""
        return CuratorStageResource(cpus=0.25)

    def process_data(self, tasks: list[ClipInfoTask]) -> list[ClipInfoTask]:
        """Read each group's metadata."""
        for task in tasks:
            for group in task.videos:
                try:
                    self._read(task, group)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    task.failed_videos.append((group.video_id, error, traceback.format_exc()))
        return tasks

    def _read(self, task: ClipInfoTask, group: VideoClips) -> None:
        root = self.input_path
        read_video_embeddings(root, group, self.inputs)  # a broken embedding: left out now
        for image_id, size in zip(group.clip_ids, group.clip_bytes, strict=True):
            meta = _read_meta(root, image_id, self.inputs)
            try:
                resolve_inside(root, _image_path_of(image_id, meta))
            except OutsideSplitOutputError as exc:
                task.failed_clips.append((image_id, f"image_path refused: {exc}"))
                continue
            width, height = int(meta.get("width") or 0), int(meta.get("height") or 0)
            task.entries.append(ClipEntry(image_id, group.video_id, width, height, None, size))


def _extension_key(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower().lstrip(".") or "bin"
    return _EXTENSION_KEYS.get(suffix, suffix)


def image_samples(
    root: str, groups: list[VideoClips], order: list[str], inputs: StorageOptions
) -> Iterator[dict[str, Any]]:
    """Webdataset samples of the images in `order` (bytes only from inside `root`)."""
    vectors: dict[str, npt.NDArray[np.float32]] = {}
    for group in groups:
        ids, matrix, _ = read_video_embeddings(root, group, inputs)
        vectors.update(zip(ids, matrix, strict=True))
    for image_id in order:
        meta = _read_meta(root, image_id, inputs)
        path = resolve_inside(root, _image_path_of(image_id, meta))
        sample: dict[str, Any] = {
            "__key__": sample_key(image_id),
            _extension_key(path): storage.read_bytes(path, inputs),
            "json": json.dumps(meta, sort_keys=True).encode(),
        }
        if image_id in vectors:
            sample["npy"] = vectors[image_id]
        if isinstance(meta.get("caption"), str) and meta["caption"]:
            sample["txt"] = meta["caption"]
        yield sample


IMAGE = ShardKind(
    "image-shard", "images", "image", "image", "image-dedup", left_out.IMAGE_PATH_REFUSED,
    IMAGE_DATA_KEYS, list_image_groups, ReadImageInfoStage, image_samples,
)  # fmt: skip


def describe_image_shard(options: ImageShardOptions) -> PipelineSketch:
    """The two runs' stages and the images a run would read (`--dry-run`); creates nothing."""
    inputs = options.input_storage
    read = ReadImageInfoStage(options.input_path, inputs)
    write = WriteTarStage(
        (options.input_path, options.output_path), (inputs, options.output_storage), image_samples
    )
    found, problems = sketch_inputs(lambda: summarize_annotated(options.input_path, inputs))
    runs = tuple(
        (CuratorStageSpec(s, num_workers=options.workers_per_stage, **stage_options()),)
        for s in (read, write)
    )
    return PipelineSketch(runs, found, options.output_path, problems)


@register_pipeline(
    "image-shard",
    ImageShardOptions,
    "pack image-annotate images into webdataset tars",
    describe=describe_image_shard,
)
def run_image_shard(options: ImageShardOptions, run: RunOptions) -> Any:
    """Run the pipeline; tars and indexes under `options.output_path`."""
    return shard_images(options, run)


def shard_images(options: ImageShardOptions, run_options: RunOptions | None = None) -> Any:
    """Library entry point: `run_options` say how to run (Ray address, ...; `RunOptions`).

    Returns the run's result; its `num_failures` counts every failure record, including one
    per kept image the plan leaves out (skipped, dropped, or its file outside the input).
    """
    return shard(options, IMAGE, run_options)
