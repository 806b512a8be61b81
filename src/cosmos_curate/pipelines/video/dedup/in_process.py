"""SemDeDup in the driver process, without Ray, for inputs that fit one machine.

Three Ray pipelines cost a Ray start-up and shards written then read back; when no cluster
is given and the embeddings fit memory, `engine.semantic_dedup` runs here instead: every
group's embeddings are read once into one matrix, k-means trains on the same sample, rows
are assigned chunk by chunk exactly as `AssignStage` does, and each cluster is deduped from
memory by the same rule. The outputs are those of the Ray path, less its per-cluster shards
(`clustering_results/embs_by_nearest_center/`: the hand-off between its pipelines, which
nothing downstream reads).

The rule (`choose`): `in_process` forces either path; unset, a run goes in process when no
cluster is given (no `--ray-address`, no `RAY_ADDRESS`, no Ray this process already joined)
and `MEMORY_FACTOR` x clips x dim x 4 bytes is at most the memory available now.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.results import PipelineProgress, PipelineResult, StageProgress
from cosmos_curate.core.runtime.in_process import cluster_given, one_worker_progress
from cosmos_curate.core.runtime.run_options import RunOptions
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.video.dedup import kmeans
from cosmos_curate.pipelines.video.dedup.cluster_dedup import ClusterResult, dedup_rows
from cosmos_curate.pipelines.video.dedup.split_output import VideoClips
from cosmos_curate.pipelines.video.dedup.stages import EmbeddingChunkTask, read_chunk

Floats = npt.NDArray[np.float32]
MEMORY_FACTOR = 4
"""Copies of the embedding matrix the run may hold at once (pieces read, the whole, a cluster)."""
READ_THREADS = 4
"""Groups read at once."""


def fits_in_memory(items: int, dim: int, available: int | None = None) -> bool:
    """Whether `MEMORY_FACTOR` copies of an `items` x `dim` float32 matrix fit `available`."""
    if available is None:
        import psutil

        available = int(psutil.virtual_memory().available)
    return MEMORY_FACTOR * items * dim * 4 <= available


def choose(
    forced: bool | None, ray_address: str | None, first: EmbeddingChunkTask | None, items: int
) -> bool:
    """Whether to run in process (see the module); `first`: a read group giving the dim."""
    if forced is not None:
        return forced
    if cluster_given(ray_address):
        return False
    dim = 0 if first is None or first.embeddings is None else first.embeddings.shape[1]
    return fits_in_memory(items, dim)


def read_groups(
    root: str, groups: Sequence[VideoClips], model: str | None, inputs: StorageOptions
) -> Iterator[EmbeddingChunkTask]:
    """Each group read by the stages' reader (one task per group, failures kept on it), in order.

    `READ_THREADS` groups are read at once: parquet decoding lets go of the GIL.
    """

    def read(index: int, group: VideoClips) -> EmbeddingChunkTask:
        task = EmbeddingChunkTask(index, [group])
        read_chunk(root, task, model, inputs)
        return task

    pool = ThreadPoolExecutor(READ_THREADS)
    try:
        yield from pool.map(read, range(len(groups)), groups)
    finally:
        pool.shutdown(cancel_futures=True)  # a failed run does not wait for every read


@attrs.define
class Embedded:
    """Every embedding read, one matrix in group order, and what reading left out."""

    ids: npt.NDArray[np.str_]
    matrix: Floats
    """Unit rows, `ids` order."""
    spans: dict[str, tuple[int, int]]
    """The rows `[start, stop)` of each group with at least one embedding."""
    missing: int
    """Items without an embedding."""
    failed: list[tuple[str, str, str]]
    """`(group id, error, traceback)` of each group that could not be read."""

    def rows_of(self, groups: Sequence[VideoClips]) -> npt.NDArray[np.int64]:
        """The rows of `groups`, in their order."""
        spans = [self.spans[g.video_id] for g in groups if g.video_id in self.spans]
        if not spans:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in spans])


def read_all(
    root: str,
    groups: Sequence[VideoClips],
    model: str | None,
    inputs: StorageOptions,
    *,
    already_read: Sequence[EmbeddingChunkTask] = (),
) -> Embedded:
    """Every group's embeddings copied into one matrix as they are read (no second copy).

    `already_read`: the first groups' tasks from `read_groups`, taken as they are.
    """
    total = sum(len(g.clip_ids) for g in groups)
    ids: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    failed: list[tuple[str, str, str]] = []
    missing = rows = 0
    matrix: Floats | None = None
    rest = read_groups(root, groups[len(already_read) :], model, inputs)
    for task in itertools.chain(already_read, rest):
        failed += task.failed_videos
        missing += task.missing
        block = task.embeddings
        if block is None or not task.ids:
            continue
        if matrix is None:  # never touched past the rows read: the tail costs no memory
            matrix = np.empty((total, block.shape[1]), dtype=np.float32)
        if block.shape[1] != matrix.shape[1]:
            msg = f"embeddings of different sizes {sorted({block.shape[1], matrix.shape[1]})}"
            raise ValueError(msg)
        matrix[rows : rows + len(block)] = block
        spans[task.videos[0].video_id] = (rows, rows + len(block))
        ids += task.ids
        rows += len(block)
    found = matrix[:rows] if matrix is not None else np.zeros((0, 0), dtype=np.float32)
    return Embedded(np.asarray(ids, dtype=str), found, spans, missing, failed)


def assign_chunks(
    read: Embedded, chunks: Sequence[EmbeddingChunkTask], centroids: Floats
) -> tuple[npt.NDArray[np.int32], Floats]:
    """`(cluster, cosine distance)` of every row, assigned chunk by chunk as `AssignStage` does."""
    labels = np.zeros(len(read.ids), dtype=np.int32)
    distances = np.zeros(len(read.ids), dtype=np.float32)
    for chunk in chunks:
        rows = read.rows_of(chunk.videos)
        if not rows.size:
            continue
        start, stop = int(rows[0]), int(rows[-1]) + 1
        assert stop - start == rows.size  # a chunk's groups are consecutive in the matrix
        labels[start:stop], distances[start:stop] = kmeans.assign(
            read.matrix[start:stop], centroids
        )
    return labels, distances


def dedup_clusters(
    output_path: str,
    read: Embedded,
    assigned: tuple[npt.NDArray[np.int32], Floats],
    eps: list[float],
    *,
    max_rows_in_memory: int,
    n_examples: int,
    outputs: StorageOptions,
) -> list[ClusterResult]:
    """Dedup every non-empty cluster from memory (`cluster_dedup.dedup_rows`), by cluster id."""
    labels, distances = assigned
    order = np.argsort(labels, kind="stable")
    clusters, starts = np.unique(labels[order], return_index=True)
    found = []
    for cid, rows in zip(clusters, np.split(order, starts[1:]), strict=True):
        found.append(
            dedup_rows(
                output_path,
                int(cid),
                (read.ids, distances, read.matrix),
                rows,
                eps,
                max_rows_in_memory=max_rows_in_memory,
                n_examples=n_examples,
                outputs=outputs,
            )
        )
    return found


@attrs.define
class Phases:
    """Wall time and item count of each phase, shown as the stages of the run's summary."""

    started: float = attrs.field(factory=time.monotonic)
    done: list[tuple[str, int, float]] = attrs.field(factory=list)

    @contextmanager
    def phase(self, name: str, items: int) -> Iterator[None]:
        """Time the block as the phase `name` over `items` tasks."""
        start = time.monotonic()
        yield
        self.done.append((name, items, time.monotonic() - start))

    def result(self, run_options: RunOptions, failures: int) -> PipelineResult:
        """The run's result as the CLI shows it, with its report written in the run folder."""
        stages = tuple(_stage(name, n, seconds) for name, n, seconds in self.done)
        inputs = self.done[0][1] if self.done else 0
        progress = PipelineProgress(
            stages, time.monotonic() - self.started, inputs, True, 0, failures, finished=True,
            inputs_done=inputs,
        )  # fmt: skip
        report, wall = _report(run_options, progress)
        return PipelineResult([], 0, failures, None, progress, report_path=report, wall_s=wall)


def _stage(name: str, done: int, seconds: float) -> StageProgress:
    return one_worker_progress(
        name, tasks_done=done, tasks_produced=done,
        throughput=done / seconds if seconds > 0 else 0.0,
        seconds_per_task=seconds / done if done else None, process_seconds_total=seconds,
    )  # fmt: skip


def _report(run_options: RunOptions, progress: PipelineProgress) -> tuple[Any, float | None]:
    """`report.html` in the run folder, as a Ray run writes it; `(path, wall s)`."""
    folder = run_options.run_dir
    if folder is None:
        return None, None
    from cosmos_curate.core import runs
    from cosmos_curate.report import RunRecorder, StageInfo

    run = runs.read_run(folder)
    recorder = RunRecorder(
        folder,
        [StageInfo(s.name, 1.0, 0.0) for s in progress.stages],
        cluster_cpus=float(os.cpu_count() or 1),
        cluster_gpus=0.0,
        failures_path=run_options.failures_path if progress.failures else None,
        run_started=run.started if run is not None else None,
    )
    recorder(progress)
    recorder.exit(None, None, None)
    return recorder.report_path, recorder.wall_s
