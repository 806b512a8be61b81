"""The `image-dedup` pipeline: exact and semantic duplicates of an `image-annotate` output.

1. exact duplicates: every kept image's bytes hashed on the workers (`exact`); of each
   group of equal bytes the smallest id stays;
2. semantic dedup (SemDeDup) of the other images by their embeddings, the video flow's run
   (`video.dedup.engine`): k-means, per-cluster pruning tables at each `--eps`, examples
   near the threshold, counts; skipped with `--exact-only` (no embeddings needed).
The output has video-dedup's layout (`extraction/`, `clustering_results/`, `summary.json`)
plus `extraction/exact_duplicates.parquet`; it is built in a staging folder and switched in
only when the run succeeded. Nothing in the input is deleted: `image-shard --dedup-path`
reads the tables. An image that cannot be read is a failure record (exit 3).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pydantic

from cosmos_curate.pipelines.image.exact import (
    HashImagesStage,
    exact_duplicates,
    hash_tasks,
    write_exact_table,
)
from cosmos_curate.pipelines.image.output import (
    AnnotatedImage,
    list_annotated,
    summarize_annotated,
)
from cosmos_curate.pipelines.registry import RunOptions, register_pipeline
from cosmos_curate.pipelines.sketch import PipelineSketch, sketch_inputs
from cosmos_curate.pipelines.video.dedup import engine, storage
from cosmos_curate.pipelines.video.dedup.runs import Runs
from cosmos_curate.pipelines.video.dedup.stages import (
    AssignStage,
    ClusterDedupStage,
    ReadEmbeddingsStage,
)
from cosmos_curate.pipelines.video.storage import StorageFlags

__all__ = ["ImageDedupOptions", "dedup_images", "run_image_dedup"]


class ImageDedupOptions(StorageFlags):
    """Options of `curate pipeline run image-dedup` (video-dedup's names where the same)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    input_path: str = pydantic.Field(description="image-annotate output folder or s3:// prefix")
    output_path: str = pydantic.Field(description="folder or s3:// prefix for the dedup results")
    exact_only: bool = pydantic.Field(
        default=False, description="only exact duplicates (same bytes); no embeddings needed"
    )
    n_clusters: int | None = pydantic.Field(
        default=None, ge=1, description="k-means clusters (unset: one per 1,000 images)"
    )
    max_iter: int = pydantic.Field(default=100, ge=1, description="k-means iterations")
    random_state: int = pydantic.Field(default=42, description="seed of sampling and k-means")
    eps: list[float] = pydantic.Field(
        default=[0.01], description="removed when similarity > 1 - eps; one table per eps"
    )
    kmeans_sample_size: int = pydantic.Field(
        default=100_000, ge=1, description="embeddings k-means is trained on"
    )
    chunk_size: int = pydantic.Field(
        default=10_000, ge=1, description="images one hash/read/assign task holds"
    )
    max_cluster_rows_in_memory: int = pydantic.Field(
        default=200_000, ge=1, description="larger clusters are compared from a scratch file"
    )
    n_examples: int = pydantic.Field(default=20, ge=0, description="removed pairs shown per eps")
    workers_per_stage: int | None = pydantic.Field(
        default=None, ge=1, description="fixed workers per stage (unset: autoscale)"
    )

    @pydantic.field_validator("eps")
    @classmethod
    def _eps_range(cls, value: list[float]) -> list[float]:
        return engine.check_eps(value)


def describe_image_dedup(options: ImageDedupOptions) -> PipelineSketch:
    """The runs' stages and the images a run would read (`--dry-run`); creates nothing."""
    import numpy as np

    paths = (options.input_path, options.output_path)
    stores = (options.input_storage, options.output_storage)
    stages: list[Any] = [HashImagesStage(options.input_path, options.input_storage)]
    if not options.exact_only:
        stages += [
            ReadEmbeddingsStage(options.input_path, options.input_storage),
            AssignStage(paths, stores, np.zeros((0, 0), np.float32)),
            ClusterDedupStage(
                options.output_path, options.eps, options.max_cluster_rows_in_memory,
                options.n_examples, options.output_storage,
            ),
        ]  # fmt: skip
    found, problems = sketch_inputs(lambda: summarize_annotated(paths[0], stores[0]))
    runs = tuple((engine.spec(stage, options),) for stage in stages)
    return PipelineSketch(runs, found, options.output_path, problems)


@register_pipeline(
    "image-dedup",
    ImageDedupOptions,
    "exact and semantic (SemDeDup) dedup of image-annotate images",
    describe=describe_image_dedup,
)
def run_image_dedup(options: ImageDedupOptions, run: RunOptions) -> Any:
    """Run the pipeline; results under `options.output_path` (see docs/IMAGE_PIPELINE.md)."""
    return dedup_images(options, run)


def dedup_images(options: ImageDedupOptions, run_options: RunOptions | None = None) -> Any:
    """Library entry point: `run_options` say how to run (Ray address, ...; `RunOptions`).

    The previous results under `output_path` are replaced only when this run succeeds.
    """
    images = list_annotated(options.input_path, options.input_storage)

    def body(staged: str, run_id: str, runs: Runs) -> None:
        _dedup_into(staged, images, run_id, options, runs)

    return engine.run_staged(
        "image-dedup",
        options.output_path,
        options.output_storage,
        run_options,
        body,
        failure_kind="image",
    )


def _image_path(files: dict[str, str]) -> Callable[[str], str]:
    def path_of(image_id: str) -> str:
        return files.get(image_id, f"images/{image_id}")

    return path_of


def _dedup_into(
    staged: str,
    images: list[AnnotatedImage],
    run_id: str,
    user_options: ImageDedupOptions,
    runs: Runs,
) -> None:
    """The whole run, writing its results under `staged`."""
    started = time.monotonic()
    options = user_options.model_copy(update={"output_path": staged})
    stage = engine.spec(HashImagesStage(options.input_path, options.input_storage), options)
    hashed = runs.run(hash_tasks(images, options.chunk_size), [stage], "HashImagesStage")
    digests = {i: d for task in hashed for i, d in task.digests.items()}
    removed = exact_duplicates(digests)
    write_exact_table(staged, removed, digests, options.output_storage)
    summary: dict[str, Any] = {
        "run_id": run_id,
        "images_found": len(images),
        "images_hashed": len(digests),
        "exact_duplicates_removed": len(removed),
        "exact_duplicate_groups": len(set(removed.values())),
    }
    if not options.exact_only:
        unique = [i for i in images if i.image_id in digests and i.image_id not in removed]
        files = {i.image_id: i.image_file for i in images if i.image_file is not None}
        items = engine.DedupItems(
            [i.group() for i in unique],
            group_noun="images",
            item_noun="images",
            produced_by="image-annotate",
            media_key="image",
            media_path=_image_path(files),
        )
        counts = engine.semantic_dedup(staged, items, options, runs)
        counts.pop("images_found")  # the semantic step's input: the hashed, unique images
        summary.update(counts)
    summary.update(
        failures=runs.num_failures,
        failures_path=str(runs.failures_path) if runs.failures_path else None,
        wall_time_s=round(time.monotonic() - started, 3),
        options=user_options.model_dump(mode="json"),
    )
    path = storage.join(staged, "summary.json")
    storage.write_bytes(path, json.dumps(summary, indent=2).encode(), options.output_storage)
