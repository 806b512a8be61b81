"""The Ray actor that runs one worker of a stage.

It receives pickled chunks of tasks, calls `process_data` batch by batch with retries,
and returns a small `CallReport` plus the outputs pickled in `n_parts` parts (sized by the
driver for the next stage), so the driver forwards outputs by reference without ever
deserializing them. The records it receives and returns are in `stage_spec` and `wire`.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import psutil

from cosmos_curate.core.interfaces.results import FailureRecord
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    NodeInfo,
    PipelineTask,
    WorkerMetadata,
)
from cosmos_curate.core.runtime.attempts import run_with_retries
from cosmos_curate.core.runtime.profiling import WorkerProfiler
from cosmos_curate.core.runtime.stage_spec import WorkerConfig
from cosmos_curate.core.runtime.wire import (
    CallReport,
    SetupReport,
    WireBlob,
    dumps,
    load_stage,
    loads,
    pickled_error,
    split_evenly,
)

logger = logging.getLogger(__name__)


def _batches(tasks: list[Any], batch_size: int) -> Iterator[tuple[int, list[Any]]]:
    for start in range(0, len(tasks), batch_size):
        yield start, tasks[start : start + batch_size]


def _load(chunks: tuple[WireBlob, ...], spans: tuple[tuple[int, int], ...]) -> list[Any]:
    """The tasks of each chunk's span, in order (numpy buffers: views of the chunks)."""
    tasks: list[Any] = []
    for blob, (first, stop) in zip(chunks, spans, strict=True):
        # A writable buffer (an inline argument) could be changed by a failed attempt:
        # copy it so that a retry re-loads pristine tasks. Object-store buffers are read-only.
        tasks.extend(loads(blob, copy=blob.writable)[first:stop])
    return tasks


def _enter_working_dir(folder: str | None) -> None:
    """Work in the driver's folder when this node has it (before the stage is loaded).

    A node without it (another machine) keeps its own: relative paths then name other
    files than on the driver, which the warning says. When the driver's files were uploaded
    (`CURATE_SHIP_CODE=upload`), the worker stays in Ray's copy of them, as documented.
    """
    if folder is None or _code_uploaded():
        return
    if os.path.isdir(folder):
        os.chdir(folder)
        return
    logger.warning(
        "the driver's working folder %s is not on this node: relative paths in stages resolve "
        "against %s here; give absolute paths or URLs on a multi-machine cluster",
        folder,
        os.getcwd(),
    )


def _code_uploaded() -> bool:
    """Whether Ray runs this worker in an uploaded copy of the driver's folder."""
    import ray

    try:
        return bool(ray.get_runtime_context().runtime_env.get("working_dir"))
    except Exception:  # not in a Ray worker (a replayed stage): nothing was uploaded
        return False


class StageWorker:
    """One worker process of one stage (wrapped with `ray.remote` by the pool)."""

    def __init__(self, stage_blob: bytes, config: WorkerConfig) -> None:
        os.environ.update(config.environment)
        _enter_working_dir(config.working_dir)
        self._stage: CuratorStage[Any, Any] = load_stage(stage_blob)
        self._config = config
        self._process = psutil.Process()
        self._process.cpu_percent()  # prime: the next reading covers the time since now
        self._last_work_end: float | None = None
        self._profiler = (
            None if config.profile is None else WorkerProfiler(config.profile, config.stage_name)
        )

    def __repr__(self) -> str:
        # Ray names the worker's forwarded output after this: `[StageName]` on the driver.
        return self._config.stage_name

    def setup(self) -> SetupReport:
        """Run `stage_setup_on_node` (first worker on this node) and `stage_setup`."""
        import ray

        start = time.perf_counter()
        context = ray.get_runtime_context()
        node_id = context.get_node_id()
        metadata = WorkerMetadata(
            worker_id=context.get_actor_id() or str(os.getpid()),
            stage_name=self._config.stage_name,
            node_id=node_id,
        )
        marker = self._config.setup_on_node_marker
        if marker is not None:
            self._run_once_per_node(f"{marker}-{node_id}", NodeInfo(node_id), metadata)
        with self._profiled(gpu=False):
            self._stage.setup(metadata)  # default: stage_setup(); upstream stages override it
        from cosmos_curate.core.runtime.metrics import start_worker_metrics

        start_worker_metrics(self._config.stage_name)  # GPU share, labelled with this node
        return SetupReport(
            pid=os.getpid(),
            node_id=context.get_node_id(),
            executable=sys.executable,
            gpu_ids=tuple(str(g) for g in context.get_accelerator_ids().get("GPU", [])),
            seconds=time.perf_counter() - start,
        )

    def _run_once_per_node(self, marker: str, node: NodeInfo, metadata: WorkerMetadata) -> None:
        # A lock file per (run, stage, node): the first worker of the node runs the hook
        # while later ones wait for the "done" file.
        import fcntl

        os.makedirs(os.path.dirname(marker), exist_ok=True)
        with open(marker + ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not os.path.exists(marker):
                self._ensure_weights_on_node()
                self._stage.setup_on_node(node, metadata)  # default: stage_setup_on_node()
                with open(marker, "w") as done:
                    done.write(str(os.getpid()))

    def _ensure_weights_on_node(self) -> None:
        policy = self._config.weights
        if policy is None or self._stage.model is None:
            return
        from cosmos_curate.core.weights.download import ensure_weights

        ensure_weights(
            list(self._stage.model.model_id_names),
            download_missing=policy.download_missing,
            s3_prefix=policy.s3_prefix,
        )

    def process(
        self, n_parts: int, spans: tuple[tuple[int, int], ...], *chunks: WireBlob
    ) -> tuple[Any, ...]:
        """Process the tasks `blob[start:stop]` of each chunk and its span.

        Returns `(CallReport, part_0, ..., part_{n-1})`.
        """
        with self._profiled():
            return self._run_call(n_parts, spans, chunks)

    def _profiled(self, *, gpu: bool = True) -> AbstractContextManager[None]:
        return nullcontext() if self._profiler is None else self._profiler.call(gpu=gpu)

    def _run_call(
        self, n_parts: int, spans: tuple[tuple[int, int], ...], chunks: tuple[WireBlob, ...]
    ) -> tuple[Any, ...]:
        start = time.perf_counter()
        tasks = _load(chunks, spans)
        size = sum(blob.nbytes for blob in chunks)
        work_start = time.perf_counter()
        deserialize_seconds = work_start - start
        gap = None if self._last_work_end is None else work_start - self._last_work_end

        outputs: list[PipelineTask] = []
        failures: list[FailureRecord] = []
        retries = 0
        process_seconds = 0.0
        first_error: BaseException | None = None
        batch_size = self._config.batch_size
        for first, batch in _batches(tasks, batch_size):
            t0 = time.perf_counter()

            def reload(first: int = first) -> list[Any]:
                return _load(chunks, spans)[first : first + batch_size]

            result, batch_failures, batch_retries, error = run_with_retries(
                self._stage, self._config.stage_name, self._config.run_attempts, batch, reload
            )
            if self._profiler is not None:
                self._profiler.after_batch()
            process_seconds += time.perf_counter() - t0
            outputs.extend(result)
            failures.extend(batch_failures)
            retries += batch_retries
            first_error = first_error or error

        self._last_work_end = time.perf_counter()
        split = split_evenly(outputs, n_parts)
        parts = [dumps(p) for p in split]
        report = CallReport(
            tasks_in=len(tasks),
            part_counts=tuple(len(p) for p in split),
            process_seconds=process_seconds,
            deserialize_seconds=deserialize_seconds,
            deserialize_bytes=size,
            failures=tuple(failures),
            retries=retries,
            rss_bytes=self._process.memory_info().rss,
            cpu_percent=self._process.cpu_percent(),
            gap_seconds=gap,
            error=pickled_error(first_error),
            part_bytes=tuple(p.nbytes for p in parts),
        )
        return (report, *parts)

    def flush_profiles(self) -> list[str]:
        """Write this worker's profiles (`--profile`) now; returns the summaries written."""
        return [] if self._profiler is None else self._profiler.flush()

    def destroy(self) -> None:
        """Call the stage's `destroy()` before the actor is killed (profiles written first)."""
        self.flush_profiles()
        self._stage.destroy()
