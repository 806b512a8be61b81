"""The dedup stages: read embeddings, assign them to clusters, dedup one cluster.

Work is split so that no worker holds more than one chunk of embeddings (`--chunk-size`
clips) or one cluster. A video whose embeddings cannot be read does not sink its chunk: it
is listed in the task's `failed_videos` and the driver writes its failure record.
"""

from __future__ import annotations

import hashlib
import traceback
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.video.dedup import kmeans, storage, tables
from cosmos_curate.pipelines.video.dedup.cluster_dedup import ClusterResult, dedup_cluster
from cosmos_curate.pipelines.video.dedup.split_output import VideoClips, read_video_embeddings

Floats = npt.NDArray[np.float32]


@attrs.define
class EmbeddingChunkTask(PipelineTask):
    """A group of videos read together; stages fill in their embeddings or counts."""

    index: int
    videos: list[VideoClips]
    ids: list[str] = attrs.field(factory=list)
    embeddings: Floats | None = attrs.field(default=None, repr=False)
    missing: int = 0
    failed_videos: list[tuple[str, str, str]] = attrs.field(factory=list)
    cluster_counts: dict[int, int] = attrs.field(factory=dict)

    def __repr__(self) -> str:
        first = self.videos[0].video_id if self.videos else "-"
        return f"EmbeddingChunkTask(index={self.index}, videos={len(self.videos)}, first={first})"


@attrs.define
class ClusterTask(PipelineTask):
    """One cluster to dedup; `result` is filled in by `ClusterDedupStage`."""

    cluster_id: int
    result: ClusterResult | None = None


def read_chunk(
    root: str, task: EmbeddingChunkTask, model: str | None, inputs: StorageOptions
) -> None:
    """Fill `ids`, `embeddings`, `missing`, `failed_videos` of a chunk from the split output."""
    ids: list[str] = []
    blocks: list[Floats] = []
    for video in task.videos:
        try:
            vid_ids, matrix, missing = read_video_embeddings(root, video, inputs, model)
        except Exception as exc:
            task.failed_videos.append(
                (video.video_id, f"{type(exc).__name__}: {exc}", traceback.format_exc())
            )
            continue
        task.missing += len(missing)
        if vid_ids:
            ids += vid_ids
            blocks.append(matrix)
    dims = {b.shape[1] for b in blocks}
    if len(dims) > 1:
        msg = f"chunk {task.index}: embeddings of different sizes {sorted(dims)} across videos"
        raise ValueError(msg)
    task.ids = ids
    if len(blocks) == 1:  # one video: its matrix as it is (no copy)
        task.embeddings = blocks[0]
    else:
        task.embeddings = np.concatenate(blocks) if blocks else np.zeros((0, 0), np.float32)


class ReadEmbeddingsStage(CuratorStage[EmbeddingChunkTask, EmbeddingChunkTask]):
    """Reads a chunk's embeddings into the task (for the k-means sample)."""

    def __init__(self, input_path: str, inputs: StorageOptions, model: str | None = None) -> None:
        self.input_path = input_path
        self.inputs = inputs
        self.embedding_model = model

    @property
    def resources(self) -> CuratorStageResource:
        """I/O bound: a quarter CPU."""
        return CuratorStageResource(cpus=0.25)

    def process_data(self, tasks: list[EmbeddingChunkTask]) -> list[EmbeddingChunkTask]:
        """Read each chunk."""
        for task in tasks:
            read_chunk(self.input_path, task, self.embedding_model, self.inputs)
        return tasks


def cluster_dir(output_path: str, cluster_id: int) -> str:
    """Where the assigned embeddings of one cluster go (one parquet per chunk)."""
    return storage.join(
        output_path, "clustering_results", "embs_by_nearest_center", f"nearest_cent_{cluster_id}"
    )


class AssignStage(CuratorStage[EmbeddingChunkTask, EmbeddingChunkTask]):
    """Reads a chunk, assigns each embedding to its nearest centroid, writes one file per cluster.

    (`write_assigned`.) Reads with `stores`' input options, writes with its output options.
    """

    def __init__(
        self,
        paths: tuple[str, str],
        stores: tuple[StorageOptions, StorageOptions],
        centroids: Floats,
        model: str | None = None,
    ) -> None:
        self.input_path, self.output_path = paths
        self.inputs, self.outputs = stores
        self.centroids = centroids
        self.embedding_model = model

    @property
    def resources(self) -> CuratorStageResource:
        """One CPU: the assignment is a matrix product."""
        return CuratorStageResource(cpus=1.0)

    def process_data(self, tasks: list[EmbeddingChunkTask]) -> list[EmbeddingChunkTask]:
        """Assign and write each chunk; the embeddings are dropped from the task afterwards."""
        for task in tasks:
            read_chunk(self.input_path, task, self.embedding_model, self.inputs)
            if task.ids:
                write_assigned(task, self.centroids, self.output_path, self.outputs)
            task.embeddings = None
        return tasks


def write_assigned(
    task: EmbeddingChunkTask, centroids: Floats, output_path: str, outputs: StorageOptions
) -> tuple[npt.NDArray[np.int32], Floats]:
    """Assign a read chunk's rows and write its per-cluster shards; `(labels, distances)`.

    File names derive from the chunk's videos, so a retried chunk overwrites its own files.
    Fills the task's `cluster_counts`.
    """
    assert task.embeddings is not None
    labels, distances = kmeans.assign(task.embeddings, centroids)
    ids = np.asarray(task.ids)
    name = hashlib.sha1("\n".join(v.video_id for v in task.videos).encode()).hexdigest()[:16]
    for cid in np.unique(labels):
        rows = np.flatnonzero(labels == cid)
        data = tables.to_parquet_bytes(
            {
                "id": ids[rows].tolist(),
                "embedding": task.embeddings[rows],
                "cosine_dist_to_cent": distances[rows],
            }
        )
        storage.write_staged(
            storage.join(cluster_dir(output_path, int(cid)), f"chunk_{name}.parquet"),
            data,
            outputs,
        )
        task.cluster_counts[int(cid)] = len(rows)
    return labels, distances


class ClusterDedupStage(CuratorStage[ClusterTask, ClusterTask]):
    """Dedups one cluster and writes its pruning tables (see `cluster_dedup`)."""

    def __init__(
        self,
        output_path: str,
        eps: list[float],
        max_rows_in_memory: int,
        n_examples: int,
        outputs: StorageOptions,
    ) -> None:
        self.output_path = output_path
        self.outputs = outputs
        self.eps = list(eps)
        self.max_rows_in_memory = max_rows_in_memory
        self.n_examples = n_examples

    @property
    def resources(self) -> CuratorStageResource:
        """One CPU: matrix products."""
        return CuratorStageResource(cpus=1.0)

    def process_data(self, tasks: list[ClusterTask]) -> list[ClusterTask]:
        """Dedup each cluster."""
        for task in tasks:
            task.result = dedup_cluster(
                self.output_path,
                task.cluster_id,
                cluster_dir(self.output_path, task.cluster_id),
                self.eps,
                max_rows_in_memory=self.max_rows_in_memory,
                n_examples=self.n_examples,
                outputs=self.outputs,
            )
        return tasks


def stage_options() -> dict[str, Any]:
    """Spec options every dedup/shard stage gets: bad inputs are data, the run goes on."""
    from cosmos_curate.core.interfaces.stage_interface import CuratorStageSpec

    names = {f.name for f in attrs.fields(CuratorStageSpec)}
    return {"ignore_failures": True} if "ignore_failures" in names else {}
