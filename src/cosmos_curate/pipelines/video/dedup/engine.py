"""The semantic dedup run shared by `video-dedup` and `image-dedup`, and its staged results.

A kind of output gives the run its items as `DedupItems` (groups read together: a video's
clips, or one image each; embeddings as `split_output.read_video_embeddings` reads them);
`semantic_dedup` then runs the three runtime pipelines (k-means sample, assign, per-cluster
dedup) and writes the tables and summaries. `run_staged` wraps a whole run so that its
results are built in a staging folder and switched in only when it succeeded (`results`).
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable
from typing import Any, Protocol

import attrs
import numpy as np

from cosmos_curate.core.interfaces.stage_interface import CuratorStageSpec
from cosmos_curate.core.runtime.in_process import cluster_given
from cosmos_curate.core.runtime.run_options import RunOptions
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.run_setup import bind_run
from cosmos_curate.pipelines.video.dedup import in_process, kmeans, results, storage, summary
from cosmos_curate.pipelines.video.dedup.cluster_dedup import ClusterResult
from cosmos_curate.pipelines.video.dedup.runs import Runs, chunk_videos, sample_videos
from cosmos_curate.pipelines.video.dedup.split_output import SplitOutputError, VideoClips
from cosmos_curate.pipelines.video.dedup.stages import (
    AssignStage,
    ClusterDedupStage,
    ClusterTask,
    EmbeddingChunkTask,
    ReadEmbeddingsStage,
    stage_options,
)

EPS_MIN = 1e-4
logger = logging.getLogger(__name__)


def check_eps(value: list[float]) -> list[float]:
    """The eps values sorted and unique; ValueError when none is given or one is out of range."""
    if not value:
        msg = "give at least one eps"
        raise ValueError(msg)
    for eps in value:
        if not EPS_MIN <= eps < 1:
            msg = f"eps {eps} is outside [{EPS_MIN}, 1)"
            raise ValueError(msg)
    return sorted(set(value))


class DedupSettings(Protocol):
    """The options a semantic dedup run reads (video-dedup's and image-dedup's share them)."""

    input_path: str
    output_path: str
    n_clusters: int | None
    max_iter: int
    random_state: int
    eps: list[float]
    kmeans_sample_size: int
    chunk_size: int
    max_cluster_rows_in_memory: int
    n_examples: int
    workers_per_stage: int | None

    @property
    def input_storage(self) -> StorageOptions:
        """How the input is reached."""

    @property
    def output_storage(self) -> StorageOptions:
        """How the output is reached."""


@attrs.frozen
class DedupItems:
    """What one kind of output gives a semantic dedup run, and the words its records use."""

    groups: list[VideoClips]
    """Items in the groups they are read in (a video's clips; one image per group)."""
    group_noun: str = "videos"
    item_noun: str = "clips"
    produced_by: str = "video-split"
    media_key: str = "clip"
    """The examples' key for an item's media file (`clip`, `duplicate_of_clip`)."""
    media_path: Callable[[str], str] | None = None
    """An item's media file relative to the input (unset: `clips/<id>.mp4`)."""
    previews: frozenset[str] = frozenset()
    """Preview files relative to the input, shown beside the examples."""
    embedding_model: str | None = None


def spec(stage: Any, options: DedupSettings) -> CuratorStageSpec:
    """A dedup stage as the run schedules it (fixed workers when asked; bad inputs recorded)."""
    return CuratorStageSpec(stage, num_workers=options.workers_per_stage, **stage_options())


def run_staged(
    pipeline: str,
    output_path: str,
    outputs: StorageOptions,
    run_options: RunOptions | None,
    body: Callable[[str, str, Runs], None],
    *,
    failure_kind: str = "video",
) -> Any:
    """One run of `pipeline` whose results `body(staged, run_id, runs)` writes under `staged`.

    The results replace those under `output_path` only when `body` returns; a failed or
    interrupted run leaves the previous ones as they were. Returns the combined result of
    every runtime pipeline `body` ran through `runs`.
    """
    run, run_options = bind_run(pipeline, run_options, output_path)
    results.recover(output_path, outputs)
    staged = results.staging_path(output_path, run.id)
    runs = Runs(run_options, kind=failure_kind)
    try:
        body(staged, run.id, runs)
    except BaseException:
        results.discard(staged, outputs)
        raise
    finally:
        runs.close()
    results.publish(output_path, staged, outputs)
    return runs.combined_result()


def semantic_dedup(
    staged: str,
    items: DedupItems,
    options: DedupSettings,
    runs: Runs,
    *,
    in_process: bool | None = False,
) -> dict[str, Any]:
    """SemDeDup of `items`, its results under `staged`; the summary's counts (by the nouns).

    `in_process`: run in this process without Ray (`in_process` module; None: its rule).
    """
    here, first_read = _runs_in_process(items, options, runs, in_process)
    if here:
        logger.info("running in this process, without Ray (no cluster given, or --in-process)")
        return _semantic_dedup_in_process(staged, items, options, runs, first_read)
    inputs, outputs = options.input_storage, options.output_storage
    groups, item = items.group_noun, items.item_noun
    centroids, sample_rows = _train(staged, runs, items, options)
    todo = [v for v in items.groups if v.video_id not in runs.failed_video_ids]
    stage = AssignStage(
        (options.input_path, staged), (inputs, outputs), centroids, items.embedding_model
    )
    chunks = chunk_videos(todo, options.chunk_size)
    assigned = runs.run(chunks, [spec(stage, options)], "AssignStage")
    sizes: dict[int, int] = {}
    for task in assigned:
        for cid, count in task.cluster_counts.items():
            sizes[cid] = sizes.get(cid, 0) + count
    if not sizes:  # fail closed: an empty dedup output would let every item through silently
        where = runs.run_options.failures_path
        msg = f"no {item[:-1]} could be assigned to a cluster; see {where}"
        raise SplitOutputError(msg)
    dedup_stage = ClusterDedupStage(
        staged, options.eps, options.max_cluster_rows_in_memory, options.n_examples, outputs
    )
    order = sorted(sizes, key=lambda c: (-sizes[c], c))  # largest first: the tail stays short
    deduped = runs.run(
        [ClusterTask(c) for c in order], [spec(dedup_stage, options)], "ClusterDedupStage"
    )
    cluster_results = [t.result for t in deduped if t.result is not None]
    counts = _write_summaries(staged, items, options, cluster_results)
    return {
        f"{groups}_found": len(items.groups),
        f"{groups}_failed": len(runs.failed_video_ids),
        f"{item}_with_embedding": sum(len(t.ids) for t in assigned),
        f"{item}_without_embedding": sum(t.missing for t in assigned),
        "n_clusters": int(centroids.shape[0]),
        "clusters_deduped": len(cluster_results),
        "clusters_failed": len(order) - len(cluster_results),
        "clusters_out_of_core": sum(r.out_of_core for r in cluster_results),
        "largest_cluster": max(sizes.values(), default=0),
        "kmeans_sample_rows": sample_rows,
        "eps": counts,
    }


def _train(
    staged: str, runs: Runs, items: DedupItems, options: DedupSettings
) -> tuple[np.ndarray, int]:
    """Centroids trained on a seeded sample of groups (read as a pipeline); sample size."""
    chosen = sample_videos(items.groups, options.kmeans_sample_size, options.random_state)
    stage = ReadEmbeddingsStage(options.input_path, options.input_storage, items.embedding_model)
    sampled = runs.run(
        chunk_videos(chosen, options.chunk_size), [spec(stage, options)], "ReadEmbeddingsStage"
    )
    sampled.sort(key=lambda t: t.index)  # outputs come as they finish; k-means sees id order
    return _kmeans(staged, _sample_matrix(sampled, items, options), items, options)


def _kmeans(
    staged: str, sample: np.ndarray, items: DedupItems, options: DedupSettings
) -> tuple[np.ndarray, int]:
    """Centroids trained on `sample`, written under `staged`; the sample's rows."""
    total = sum(len(v.clip_ids) for v in items.groups)
    n_clusters = options.n_clusters or max(1, math.ceil(total / 1000))
    centroids = kmeans.train_kmeans(sample, n_clusters, options.max_iter, options.random_state)
    buffer = io.BytesIO()
    np.save(buffer, centroids)
    storage.write_staged(
        storage.join(staged, "clustering_results", "kmeans_centroids.npy"),
        buffer.getvalue(),
        options.output_storage,
    )
    return centroids, int(sample.shape[0])


def _sample_matrix(
    sampled: list[EmbeddingChunkTask], items: DedupItems, options: DedupSettings
) -> np.ndarray:
    """The sampled groups' rows in order, cut to a seeded sample of the sample size."""
    blocks = [t.embeddings for t in sampled if t.embeddings is not None and t.embeddings.size]
    if not blocks:
        raise _no_embedding(items, options)
    matrix = np.concatenate(blocks)
    return matrix[_sample_positions(matrix.shape[0], options)]


def _sample_positions(rows: int, options: DedupSettings) -> slice | np.ndarray:
    """Which of the sampled groups' `rows` k-means trains on: all, or a seeded choice."""
    if rows <= options.kmeans_sample_size:
        return slice(None)
    rng = np.random.default_rng(options.random_state)
    return np.sort(rng.choice(rows, options.kmeans_sample_size, replace=False))


def _no_embedding(items: DedupItems, options: DedupSettings) -> SplitOutputError:
    msg = (
        f"no {items.item_noun[:-1]} in {options.input_path} has an embedding: "
        f"run {items.produced_by} with embeddings"
    )
    return SplitOutputError(msg)


def _write_summaries(
    staged: str, items: DedupItems, options: DedupSettings, found: list[ClusterResult]
) -> dict[str, dict[str, int]]:
    found = sorted(found, key=lambda r: r.cluster_id)  # examples' ties: the same on every run
    counts = summary.per_eps_counts(found, options.eps)
    summary.write_counts_csv(staged, counts, options.output_storage)
    summary.write_examples(
        staged,
        input_path=options.input_path,
        results=found,
        eps=options.eps,
        n=options.n_examples,
        previews=set(items.previews),
        outputs=options.output_storage,
        media_key=items.media_key,
        media_path=items.media_path,
    )
    return counts


def _runs_in_process(
    items: DedupItems, options: DedupSettings, runs: Runs, forced: bool | None
) -> tuple[bool, list[EmbeddingChunkTask]]:
    """`in_process.choose`, and the groups read to decide it (pass them on: read once).

    None are read when the run is forced or a cluster is given; else the first group is,
    for the rule's dim.
    """
    address = runs.run_options.ray_address
    if forced is not None or cluster_given(address):
        return in_process.choose(forced, address, None, 0), []
    read = list(
        in_process.read_groups(
            options.input_path, items.groups[:1], items.embedding_model, options.input_storage
        )
    )
    total = sum(len(v.clip_ids) for v in items.groups)
    return in_process.choose(None, address, read[0] if read else None, total), read


def _semantic_dedup_in_process(
    staged: str,
    items: DedupItems,
    options: DedupSettings,
    runs: Runs,
    first_read: list[EmbeddingChunkTask],
) -> dict[str, Any]:
    """`semantic_dedup` in this process: the same sample, k-means, tables and counts, no shards.

    `first_read`: the first groups, already read (`_runs_in_process`).
    """
    phases = in_process.Phases()
    with phases.phase("ReadEmbeddingsStage", len(items.groups)):
        read = in_process.read_all(
            options.input_path, items.groups, items.embedding_model, options.input_storage,
            already_read=first_read,
        )  # fmt: skip
    chosen = sample_videos(items.groups, options.kmeans_sample_size, options.random_state)
    names = {v.video_id for v in chosen}
    # Failures as the Ray path records them: the sample's first, the rest when assigned.
    runs.record(None, [f for f in read.failed if f[0] in names], "ReadEmbeddingsStage")
    sample = read.rows_of(chosen)
    if not sample.size:
        raise _no_embedding(items, options)
    centroids, sample_rows = _kmeans(
        staged, read.matrix[sample[_sample_positions(sample.size, options)]], items, options
    )
    todo = [v for v in items.groups if v.video_id not in runs.failed_video_ids]
    chunks = chunk_videos(todo, options.chunk_size)
    runs.record(None, read.failed, "AssignStage")
    with phases.phase("AssignStage", len(chunks)):
        labels, distances = in_process.assign_chunks(read, chunks, centroids)
    sizes = np.bincount(labels, minlength=centroids.shape[0])
    if not read.ids.size:
        where = runs.run_options.failures_path
        msg = f"no {items.item_noun[:-1]} could be assigned to a cluster; see {where}"
        raise SplitOutputError(msg)
    with phases.phase("ClusterDedupStage", int(np.count_nonzero(sizes))):
        found = in_process.dedup_clusters(
            staged, read, (labels, distances), options.eps,
            max_rows_in_memory=options.max_cluster_rows_in_memory,
            n_examples=options.n_examples, outputs=options.output_storage,
        )  # fmt: skip
    runs.record(phases.result(runs.run_options, 0), [], "ClusterDedupStage")
    groups, item = items.group_noun, items.item_noun
    return {
        f"{groups}_found": len(items.groups),
        f"{groups}_failed": len(runs.failed_video_ids),
        f"{item}_with_embedding": int(read.ids.size),
        f"{item}_without_embedding": read.missing,
        "n_clusters": int(centroids.shape[0]),
        "clusters_deduped": len(found),
        "clusters_failed": 0,
        "clusters_out_of_core": sum(r.out_of_core for r in found),
        "largest_cluster": int(sizes.max(initial=0)),
        "kmeans_sample_rows": sample_rows,
        "eps": _write_summaries(staged, items, options, found),
    }
