"""The `video-dedup` pipeline: SemDeDup over `video-split`'s clip embeddings, on Ray.

When no cluster is given and the embeddings fit memory, the run goes in this process
instead (`in_process`; `--in-process` / `--no-in-process` force either), same outputs.
On Ray: three runs on the same cluster, each a pipeline of the runtime (progress, failure
records):
1. read a seeded sample of videos' embeddings; k-means (faiss) on it in the driver;
2. read every chunk of videos, assign each clip to its nearest centroid, write per-cluster
   parquet shards (`clustering_results/embs_by_nearest_center/nearest_cent_<c>/`);
3. dedup each cluster (`cluster_dedup`), writing the pruning tables.
Nothing in the input is deleted: `video-shard --dedup-path` reads the tables. The results are
built in a staging folder and switched in only when the run succeeded (`results`): a failed
or interrupted run leaves the previous results as they were.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pydantic

from cosmos_curate.pipelines.registry import RunOptions, register_pipeline
from cosmos_curate.pipelines.sketch import PipelineSketch, sketch_inputs
from cosmos_curate.pipelines.video.dedup import engine, storage
from cosmos_curate.pipelines.video.dedup.runs import Runs
from cosmos_curate.pipelines.video.dedup.split_output import (
    VideoClips,
    list_split_output,
    summarize_split_output,
)
from cosmos_curate.pipelines.video.dedup.stages import (
    AssignStage,
    ClusterDedupStage,
    ReadEmbeddingsStage,
)
from cosmos_curate.pipelines.video.storage import StorageFlags

EPS_MIN = engine.EPS_MIN


class VideoDedupOptions(StorageFlags):
    """Options of `curate pipeline run video-dedup`."""

    model_config = pydantic.ConfigDict(extra="forbid")

    input_path: str = pydantic.Field(description="video-split output folder or s3:// prefix")
    output_path: str = pydantic.Field(description="folder or s3:// prefix for the dedup results")
    n_clusters: int | None = pydantic.Field(
        default=None, ge=1, description="k-means clusters (unset: one per 1,000 clips)"
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
        default=50_000, ge=1, description="clips one read/assign task holds"
    )
    max_cluster_rows_in_memory: int = pydantic.Field(
        default=200_000, ge=1, description="larger clusters are compared from a scratch file"
    )
    embedding_model: str | None = pydantic.Field(
        default=None, description="model whose embeddings to use when the parquet has several"
    )
    n_examples: int = pydantic.Field(default=20, ge=0, description="removed pairs shown per eps")
    workers_per_stage: int | None = pydantic.Field(
        default=None, ge=1, description="fixed workers per stage (unset: autoscale)"
    )
    in_process: bool | None = pydantic.Field(
        default=None,
        description="run in this process without Ray, or on Ray with --no-in-process (unset: "
        "in process when no cluster is given and 4 x clips x dim x 4 bytes fit free memory)",
    )

    @pydantic.field_validator("eps")
    @classmethod
    def _eps_range(cls, value: list[float]) -> list[float]:
        return engine.check_eps(value)


def describe_video_dedup(options: VideoDedupOptions) -> PipelineSketch:
    """The three runs' stages and the videos a run would read (`--dry-run`); creates nothing.

    The assign stage gets its centroids from the first run's k-means: here it has none.
    """
    paths = (options.input_path, options.output_path)
    stores = (options.input_storage, options.output_storage)
    read = ReadEmbeddingsStage(options.input_path, options.input_storage, options.embedding_model)
    assign = AssignStage(paths, stores, np.zeros((0, 0), np.float32), options.embedding_model)
    dedup = ClusterDedupStage(
        options.output_path, options.eps, options.max_cluster_rows_in_memory,
        options.n_examples, options.output_storage,
    )  # fmt: skip
    found, problems = sketch_inputs(lambda: summarize_split_output(paths[0], stores[0]))
    runs = tuple((engine.spec(stage, options),) for stage in (read, assign, dedup))
    return PipelineSketch(runs, found, options.output_path, problems, _path_note(options))


def _path_note(options: VideoDedupOptions) -> tuple[str, ...]:
    """Where the three runs go: Ray, this process, or (unset) the rule that decides."""
    if options.in_process is False:
        return ()
    if options.in_process:
        return ("--in-process: the three runs' work is done in this process, without Ray",)
    return (
        "with no cluster given (--ray-address, RAY_ADDRESS) and 4 x clips x dim x 4 bytes "
        "free in memory, the three runs' work is done in this process without Ray "
        "(--no-in-process: on Ray)",
    )


@register_pipeline(
    "video-dedup",
    VideoDedupOptions,
    "semantic dedup (SemDeDup) of video-split clips",
    describe=describe_video_dedup,
)
def run_video_dedup(options: VideoDedupOptions, run: RunOptions) -> Any:
    """Run the pipeline; results under `options.output_path` (see docs/VIDEO_PIPELINE.md)."""
    return dedup_videos(options, run)


def dedup_videos(options: VideoDedupOptions, run_options: RunOptions | None = None) -> Any:
    """Library entry point: `run_options` say how to run (Ray address, ...; `RunOptions`).

    The previous results under `output_path` are replaced only when this run succeeds.
    """
    videos = list_split_output(options.input_path, options.input_storage, clip_sizes=False)

    def body(staged: str, run_id: str, runs: Runs) -> None:
        _dedup_into(staged, videos, run_id, options, runs)

    return engine.run_staged(
        "video-dedup", options.output_path, options.output_storage, run_options, body
    )


def _dedup_into(
    staged: str,
    videos: list[VideoClips],
    run_id: str,
    user_options: VideoDedupOptions,
    runs: Runs,
) -> None:
    """The whole run, writing its results under `staged`."""
    started = time.monotonic()
    options = user_options.model_copy(update={"output_path": staged})
    listed = storage.list_files(storage.join(options.input_path, "previews"), options.input_storage)
    items = engine.DedupItems(
        videos,
        previews=frozenset(f"previews/{rel}" for rel, _ in listed),
        embedding_model=options.embedding_model,
    )
    counts = engine.semantic_dedup(staged, items, options, runs, in_process=options.in_process)
    summary = {
        "run_id": run_id,
        **counts,
        "failures": runs.num_failures,
        "failures_path": str(runs.failures_path) if runs.failures_path else None,
        "wall_time_s": round(time.monotonic() - started, 3),
        "options": user_options.model_dump(mode="json"),
    }
    path = storage.join(staged, "summary.json")
    storage.write_staged(path, json.dumps(summary, indent=2).encode(), options.output_storage)


__all__ = ["VideoDedupOptions", "dedup_videos", "run_video_dedup"]
