"""The `video-dedup` pipeline: SemDeDup over `video-split`'s clip embeddings, on Ray.

Three runs on the same cluster, each a pipeline of the runtime (progress, failure records):
1. read a seeded sample of videos' embeddings; k-means (faiss) on it in the driver;
2. read every chunk of videos, assign each clip to its nearest centroid, write per-cluster
   parquet shards (`clustering_results/embs_by_nearest_center/nearest_cent_<c>/`);
3. dedup each cluster (`cluster_dedup`), writing the pruning tables.
Nothing in the input is deleted: `video-shard --dedup-path` reads the tables. The results are
built in a staging folder and switched in only when the run succeeded (`results`): a failed
or interrupted run leaves the previous results as they were.
"""

from __future__ import annotations

import io
import json
import math
import time
from typing import Any

import numpy as np
import pydantic

from cosmos_curate.core.interfaces.stage_interface import CuratorStageSpec
from cosmos_curate.core.runs import failures_file, run_for
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.registry import RunOptions, register_pipeline
from cosmos_curate.pipelines.sketch import PipelineSketch, sketch_inputs
from cosmos_curate.pipelines.video.dedup import kmeans, report, results, storage
from cosmos_curate.pipelines.video.dedup.cluster_dedup import ClusterResult
from cosmos_curate.pipelines.video.dedup.runs import Runs, chunk_videos, sample_videos
from cosmos_curate.pipelines.video.dedup.split_output import (
    SplitOutputError,
    VideoClips,
    list_split_output,
    summarize_split_output,
)
from cosmos_curate.pipelines.video.dedup.stages import (
    AssignStage,
    ClusterDedupStage,
    ClusterTask,
    EmbeddingChunkTask,
    ReadEmbeddingsStage,
    stage_options,
)
from cosmos_curate.pipelines.video.storage import StorageFlags

EPS_MIN = 1e-4


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

    @pydantic.field_validator("eps")
    @classmethod
    def _eps_range(cls, value: list[float]) -> list[float]:
        if not value:
            msg = "give at least one eps"
            raise ValueError(msg)
        for eps in value:
            if not EPS_MIN <= eps < 1:
                msg = f"eps {eps} is outside [{EPS_MIN}, 1)"
                raise ValueError(msg)
        return sorted(set(value))


def _spec(stage: Any, options: VideoDedupOptions) -> CuratorStageSpec:
    return CuratorStageSpec(stage, num_workers=options.workers_per_stage, **stage_options())


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
    runs = tuple((_spec(stage, options),) for stage in (read, assign, dedup))
    return PipelineSketch(runs, found, options.output_path, problems)


@register_pipeline(
    "video-dedup",
    VideoDedupOptions,
    "semantic dedup (SemDeDup) of video-split clips",
    describe=describe_video_dedup,
)
def run_video_dedup(options: VideoDedupOptions, run: RunOptions) -> Any:
    """Run the pipeline; results under `options.output_path` (see docs/VIDEO_PIPELINE.md)."""
    return dedup_videos(options, **run.as_kwargs())


def dedup_videos(options: VideoDedupOptions, **run_kwargs: Any) -> Any:
    """Library entry point: `run_kwargs` go to `execute_pipeline` (Ray address, ...).

    The previous results under `output_path` are replaced only when this run succeeds.
    """
    videos = list_split_output(options.input_path, options.input_storage)
    run = run_for("video-dedup", run_kwargs.get("run_dir"))
    run_id = run.id
    run_kwargs["run_dir"] = run.folder
    if run_kwargs.get("failures_path") is None:
        run_kwargs["failures_path"] = str(failures_file(run, options.output_path))
    outputs = options.output_storage
    results.recover(options.output_path, outputs)
    staged = results.staging_path(options.output_path, run_id)
    try:
        outcome = _dedup_into(staged, videos, run_id, options, run_kwargs)
    except BaseException:
        results.discard(staged, outputs)
        raise
    results.publish(options.output_path, staged, outputs)
    return outcome


def _dedup_into(
    staged: str,
    videos: list[VideoClips],
    run_id: str,
    user_options: VideoDedupOptions,
    run_kwargs: dict[str, Any],
) -> Any:
    """The whole run, writing its results under `staged`."""
    started = time.monotonic()
    options = user_options.model_copy(update={"output_path": staged})
    runs = Runs(run_kwargs)
    centroids, sample_rows = _train(runs, videos, options)
    todo = [v for v in videos if v.video_id not in runs.failed_video_ids]
    stage = AssignStage(
        (options.input_path, options.output_path),
        (options.input_storage, options.output_storage),
        centroids,
        options.embedding_model,
    )
    assigned = runs.run(
        chunk_videos(todo, options.chunk_size), [_spec(stage, options)], "AssignStage"
    )
    sizes: dict[int, int] = {}
    for task in assigned:
        for cid, count in task.cluster_counts.items():
            sizes[cid] = sizes.get(cid, 0) + count
    if not sizes:  # fail closed: an empty dedup output would let every clip through silently
        msg = f"no clip could be assigned to a cluster; see {run_kwargs['failures_path']}"
        raise SplitOutputError(msg)
    dedup_stage = ClusterDedupStage(
        options.output_path,
        options.eps,
        options.max_cluster_rows_in_memory,
        options.n_examples,
        options.output_storage,
    )
    order = sorted(sizes, key=lambda c: (-sizes[c], c))  # largest first: the tail stays short
    deduped = runs.run(
        [ClusterTask(c) for c in order], [_spec(dedup_stage, options)], "ClusterDedupStage"
    )
    cluster_results = [t.result for t in deduped if t.result is not None]
    counts = _write_reports(options, cluster_results)
    summary = {
        "run_id": run_id,
        "videos_found": len(videos),
        "videos_failed": len(runs.failed_video_ids),
        "clips_with_embedding": sum(len(t.ids) for t in assigned),
        "clips_without_embedding": sum(t.missing for t in assigned),
        "n_clusters": int(centroids.shape[0]),
        "clusters_deduped": len(cluster_results),
        "clusters_failed": len(order) - len(cluster_results),
        "clusters_out_of_core": sum(r.out_of_core for r in cluster_results),
        "largest_cluster": max(sizes.values(), default=0),
        "kmeans_sample_rows": sample_rows,
        "eps": counts,
        "failures": runs.num_failures,
        "failures_path": run_kwargs["failures_path"] if runs.num_failures else None,
        "wall_time_s": round(time.monotonic() - started, 3),
        "options": user_options.model_dump(mode="json"),
    }
    path = storage.join(options.output_path, "summary.json")
    storage.write_bytes(path, json.dumps(summary, indent=2).encode(), options.output_storage)
    return runs.combined_result()


def _train(
    runs: Runs, videos: list[VideoClips], options: VideoDedupOptions
) -> tuple[np.ndarray, int]:
    """Centroids trained on a seeded sample of videos (read as a pipeline); sample size."""
    chosen = sample_videos(videos, options.kmeans_sample_size, options.random_state)
    stage = ReadEmbeddingsStage(options.input_path, options.input_storage, options.embedding_model)
    sampled = runs.run(
        chunk_videos(chosen, options.chunk_size), [_spec(stage, options)], "ReadEmbeddingsStage"
    )
    sample = _sample_matrix(sampled, options)
    clips = sum(len(v.clip_ids) for v in videos)
    n_clusters = options.n_clusters or max(1, math.ceil(clips / 1000))
    centroids = kmeans.train_kmeans(sample, n_clusters, options.max_iter, options.random_state)
    _save_centroids(options.output_path, centroids, options.output_storage)
    return centroids, int(sample.shape[0])


def _write_reports(
    options: VideoDedupOptions, results: list[ClusterResult]
) -> dict[str, dict[str, int]]:
    counts = report.per_eps_counts(results, options.eps)
    report.write_counts_csv(options.output_path, counts, options.output_storage)
    listed = storage.list_files(storage.join(options.input_path, "previews"), options.input_storage)
    report.write_examples(
        options.output_path,
        input_path=options.input_path,
        results=results,
        eps=options.eps,
        n=options.n_examples,
        previews={f"previews/{rel}" for rel, _ in listed},
        outputs=options.output_storage,
    )
    return counts


def _sample_matrix(sampled: list[EmbeddingChunkTask], options: VideoDedupOptions) -> np.ndarray:
    blocks = [t.embeddings for t in sampled if t.embeddings is not None and t.embeddings.size]
    if not blocks:
        msg = f"no clip in {options.input_path} has an embedding: run video-split with embeddings"
        raise SplitOutputError(msg)
    matrix = np.concatenate(blocks)
    if matrix.shape[0] > options.kmeans_sample_size:
        rng = np.random.default_rng(options.random_state)
        rows = np.sort(rng.choice(matrix.shape[0], options.kmeans_sample_size, replace=False))
        matrix = matrix[rows]
    return matrix


def _save_centroids(output_path: str, centroids: np.ndarray, outputs: StorageOptions) -> None:
    buffer = io.BytesIO()
    np.save(buffer, centroids)
    storage.write_bytes(
        storage.join(output_path, "clustering_results", "kmeans_centroids.npy"),
        buffer.getvalue(),
        outputs,
    )


__all__ = ["VideoDedupOptions", "dedup_videos", "run_video_dedup"]
