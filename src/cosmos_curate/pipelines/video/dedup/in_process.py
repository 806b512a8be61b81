"""SemDeDup in the driver process, without Ray, for inputs that fit one machine.

Three Ray pipelines cost a Ray start-up and shards written then read back; when no cluster
is given and the embeddings fit memory, `engine.semantic_dedup` runs here instead: every
group's embeddings are read once, k-means trains on the same sample, rows are assigned
chunk by chunk exactly as `AssignStage` does (same shards), and each cluster is deduped
from memory by the same rule. The outputs are those of the Ray path.

The rule (`choose`): `in_process` forces either path; unset, a run goes in process when no
cluster is given (no `--ray-address`, no `RAY_ADDRESS`, no Ray this process already joined)
and `MEMORY_FACTOR` x clips x dim x 4 bytes is at most the memory available now.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.results import PipelineProgress, PipelineResult, StageProgress
from cosmos_curate.core.runtime.run_options import RunOptions
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.video.dedup.cluster_dedup import ClusterResult, dedup_rows
from cosmos_curate.pipelines.video.dedup.split_output import VideoClips
from cosmos_curate.pipelines.video.dedup.stages import (
    EmbeddingChunkTask,
    read_chunk,
    write_assigned,
)

Floats = npt.NDArray[np.float32]
MEMORY_FACTOR = 4
"""Copies of the embedding matrix the run may hold at once (pieces read, the whole, a cluster)."""


def cluster_given(ray_address: str | None) -> bool:
    """Whether the run has a cluster to go to: an address, `RAY_ADDRESS`, or a joined Ray."""
    if ray_address or os.environ.get("RAY_ADDRESS"):
        return True
    ray = sys.modules.get("ray")  # never imported here just to ask
    return bool(ray is not None and ray.is_initialized())


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
) -> list[EmbeddingChunkTask]:
    """Each group read by the stages' reader (one task per group, failures kept on it)."""
    tasks = []
    for index, group in enumerate(groups):
        task = EmbeddingChunkTask(index, [group])
        read_chunk(root, task, model, inputs)
        tasks.append(task)
    return tasks


@attrs.define
class Assigned:
    """Every assigned row: ids, unit embeddings, cluster and cosine distance to its centroid."""

    ids: npt.NDArray[np.str_]
    embeddings: Floats
    labels: npt.NDArray[np.int32]
    distances: Floats
    missing: int


def assign_chunks(
    chunks: list[list[EmbeddingChunkTask]],
    centroids: Floats,
    output_path: str,
    outputs: StorageOptions,
) -> Assigned:
    """Assign each chunk of read groups as `AssignStage` would (same shards written)."""
    ids: list[str] = []
    blocks: list[Floats] = []
    labels: list[npt.NDArray[np.int32]] = []
    dists: list[Floats] = []
    missing = 0
    for index, groups in enumerate(chunks):
        read = [t for t in groups if t.ids]
        missing += sum(t.missing for t in groups)
        if not read:
            continue
        chunk = EmbeddingChunkTask(index, [v for t in groups for v in t.videos])
        chunk.ids = [i for t in read for i in t.ids]
        chunk.embeddings = np.concatenate([t.embeddings for t in read if t.embeddings is not None])
        label, dist = write_assigned(chunk, centroids, output_path, outputs)
        ids += chunk.ids
        blocks.append(chunk.embeddings)
        labels.append(label)
        dists.append(dist)
        for t in read:
            t.embeddings = None  # the chunk's copy is kept; drop the group's
    if not blocks:
        empty = np.zeros(0, dtype=np.float32)
        return Assigned(np.asarray([], dtype=str), empty.reshape(0, 0), empty.astype(np.int32),
                        empty, missing)  # fmt: skip
    return Assigned(
        np.asarray(ids, dtype=str), np.concatenate(blocks), np.concatenate(labels),
        np.concatenate(dists), missing,
    )  # fmt: skip


def dedup_clusters(
    output_path: str,
    assigned: Assigned,
    eps: list[float],
    *,
    max_rows_in_memory: int,
    n_examples: int,
    outputs: StorageOptions,
) -> list[ClusterResult]:
    """Dedup every non-empty cluster from memory (`cluster_dedup.dedup_rows`), by cluster id."""
    order = np.argsort(assigned.labels, kind="stable")
    clusters, starts = np.unique(assigned.labels[order], return_index=True)
    found = []
    for cid, rows in zip(clusters, np.split(order, starts[1:]), strict=True):
        found.append(
            dedup_rows(
                output_path,
                int(cid),
                (assigned.ids[rows], assigned.distances[rows], assigned.embeddings[rows]),
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
    zeros: dict[str, Any] = {
        f.name: 0 for f in attrs.fields(StageProgress) if f.default is attrs.NOTHING
    }
    return StageProgress(**{
        **zeros, "name": name, "tasks_done": done, "tasks_produced": done, "cpu_fallback": False,
        "throughput": done / seconds if seconds > 0 else 0.0,
        "seconds_per_task": seconds / done if done else None,
        "workers_target": 1, "workers_peak": 1, "process_seconds_total": seconds,
    })  # fmt: skip


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
