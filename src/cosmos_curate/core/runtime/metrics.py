"""Prometheus metrics of a running pipeline, recorded with `ray.util.metrics`.

Ray exports them on each node's metrics export port with a `ray_` prefix and its own
`SessionName`, `NodeAddress` and `WorkerId` labels; Counters get a `_total` suffix. The names
below are chosen so that the exported names are exactly the ones the design guide's PromQL
uses (`ray_pipeline_actor_count`, `ray_pipeline_stage_deserialize_size_total`, ...).

Two recorders:
- `PipelineMetrics`, a progress sink on the driver: every per-stage number of a
  `PipelineProgress` record, plus the driver loop's own numbers;
- `start_worker_metrics`, called by a stage worker after its setup: the GPU share it holds,
  recorded from the worker's own process so that `NodeAddress` is the node of the GPU.

Ray forgets a gauge that is not set again within two report intervals, so both recorders
keep setting their gauges while they live: a finished run's or a dead worker's series ages
out by itself.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

import attrs
from ray.util.metrics import Counter, Gauge

from cosmos_curate.core.interfaces.results import PipelineProgress
from cosmos_curate.core.runtime.metric_table import (
    DRIVER_METRICS,
    GPU_ALLOC,
    GPU_INDEX,
    RESOURCE,
    STAGE,
    STATE,
)

logger = logging.getLogger(__name__)

WORKER_REFRESH_S = 1.0

# The states of `pipeline_actor_count`, in display order.
STATES = ("target", "pending", "running", "idle", "draining")


@attrs.frozen
class _DriverInstruments:
    """Every instrument the driver records, created once per process."""

    # per stage
    process_time: Gauge
    actor_count: Gauge
    input_queue: Gauge
    output_queue: Gauge
    tasks_in_flight: Gauge
    throughput: Gauge
    progress: Gauge
    stage_index: Gauge
    resource_usage: Gauge
    deserialize_size: Counter
    deserialize_count: Counter
    deserialize_time: Counter
    process_time_total: Counter
    finished: Gauge
    failed: Gauge
    target_changes: Counter
    queued_bytes: Gauge
    in_flight_bytes: Gauge
    backpressure_wait: Gauge
    # driver loop and run
    scheduler_round_time: Gauge
    scheduler_rounds: Counter
    plan_rounds: Counter
    inputs_read: Gauge
    outputs: Gauge
    failures: Gauge
    elapsed: Gauge
    input_exhausted: Gauge
    store_used: Gauge
    store_capacity: Gauge
    byte_budget: Gauge
    spilled: Gauge
    node_bytes: Gauge





@functools.cache
def _driver_instruments() -> _DriverInstruments:
    kinds = {"gauge": Gauge, "counter": Counter}
    instruments: dict[str, Any] = {
        field: kinds[d.kind](d.name, d.description, d.tags) for field, d in DRIVER_METRICS.items()
    }
    return _DriverInstruments(**instruments)


class PipelineMetrics:
    """A progress sink that records each progress record as Ray metrics (on the driver).

    Counters are fed the growth of the record's totals since the previous call, so one
    instance belongs to one run; a second run in the same process adds to the same counters.
    """

    def __init__(self) -> None:
        self._previous: dict[tuple[str, str], float] = {}
        self._broken = False

    def __call__(self, progress: PipelineProgress) -> None:
        """Record one progress record; never raises (metrics must not stop a pipeline)."""
        if self._broken:
            return
        try:
            self._record(progress)
        except Exception:
            self._broken = True
            logger.exception("recording pipeline metrics failed; metrics are off for this run")

    def _record(self, progress: PipelineProgress) -> None:
        m = _driver_instruments()
        fractions = progress.stage_fractions()
        for index, (stage, fraction) in enumerate(zip(progress.stages, fractions, strict=True)):
            tags = {STAGE: stage.name}
            m.stage_index.set(index, tags=tags)
            m.progress.set(fraction, tags=tags)
            if stage.seconds_per_task is not None:
                m.process_time.set(stage.seconds_per_task, tags=tags)
            counts = {
                "target": stage.workers_target,
                "pending": stage.workers_starting,
                "running": stage.workers_busy,
                "idle": stage.workers_idle,
                "draining": stage.workers_draining,
            }
            for state, count in counts.items():
                m.actor_count.set(count, tags={STAGE: stage.name, STATE: state})
            m.input_queue.set(stage.input_queue, tags=tags)
            m.output_queue.set(stage.output_queue, tags=tags)
            m.tasks_in_flight.set(stage.tasks_in_flight, tags=tags)
            m.throughput.set(stage.throughput, tags=tags)
            m.finished.set(stage.tasks_done, tags=tags)
            m.failed.set(stage.tasks_failed, tags=tags)
            m.resource_usage.set(stage.cpu_percent, tags={STAGE: stage.name, RESOURCE: "cpu"})
            m.resource_usage.set(stage.rss_bytes, tags={STAGE: stage.name, RESOURCE: "memory"})
            self._grow(m.deserialize_size, stage.name, stage.deserialize_bytes_total)
            self._grow(m.deserialize_count, stage.name, stage.deserialize_count_total)
            self._grow(m.deserialize_time, stage.name, stage.deserialize_seconds_total)
            self._grow(m.process_time_total, stage.name, stage.process_seconds_total)
            self._grow(m.target_changes, stage.name, stage.target_changes)
            m.queued_bytes.set(stage.queued_bytes, tags=tags)
            m.in_flight_bytes.set(stage.in_flight_bytes, tags=tags)
            m.backpressure_wait.set(stage.backpressure_wait_s, tags=tags)
        m.scheduler_round_time.set(progress.scheduler_round_seconds)
        self._grow(m.scheduler_rounds, "", progress.scheduler_rounds)
        self._grow(m.plan_rounds, "", progress.plan_rounds)
        m.inputs_read.set(progress.inputs_read)
        m.outputs.set(progress.outputs)
        m.failures.set(progress.failures)
        m.elapsed.set(progress.elapsed_s)
        m.input_exhausted.set(1 if progress.input_exhausted else 0)
        m.store_used.set(progress.object_store_used_bytes)
        m.store_capacity.set(progress.object_store_capacity_bytes)
        m.byte_budget.set(progress.byte_budget_bytes)
        m.spilled.set(progress.spilled_bytes)
        m.node_bytes.set(progress.local_bytes, tags={"locality": "local"})
        m.node_bytes.set(progress.cross_node_bytes, tags={"locality": "cross_node"})

    def _grow(self, counter: Counter, stage: str, total: float) -> None:
        """Add to `counter` what `total` grew by since the last record."""
        key = (counter.info["name"], stage)
        delta = total - self._previous.get(key, 0.0)
        if delta <= 0:
            # Ray's Counter.inc rejects 0; touching it with a tiny value would skew sums,
            # so a counter appears on its first real growth.
            return
        self._previous[key] = total
        counter.inc(delta, tags={STAGE: stage} if stage else {})


@functools.cache
def _gpu_alloc_gauge() -> Gauge:
    return Gauge(GPU_ALLOC.name, GPU_ALLOC.description, GPU_ALLOC.tags)


class WorkerMetrics:
    """Keeps a stage worker's own gauges alive from a daemon thread (see `start_worker_metrics`)."""

    def __init__(self, stage: str, gpu_shares: dict[str, float]) -> None:
        self._stage = stage
        self._gpu_shares = dict(gpu_shares)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="curate-worker-metrics", daemon=True
        )

    @property
    def gpu_shares(self) -> dict[str, float]:
        """GPU index -> share of that GPU this worker holds."""
        return dict(self._gpu_shares)

    def start(self) -> None:
        """Record now, then keep re-recording until `stop` (or the process ends)."""
        self.record()
        if self._gpu_shares:
            self._thread.start()

    def stop(self) -> None:
        """Stop re-recording; Ray drops the series two report intervals later."""
        self._stop.set()

    def record(self) -> None:
        """Set every gauge once."""
        gauge = _gpu_alloc_gauge()
        for gpu, share in self._gpu_shares.items():
            gauge.set(share, tags={STAGE: self._stage, GPU_INDEX: gpu})

    def _loop(self) -> None:
        while not self._stop.wait(WORKER_REFRESH_S):
            try:
                self.record()
            except Exception:  # never kill the worker over metrics
                logger.debug("worker metrics failed", exc_info=True)
                return


def gpu_shares(gpu_ids: list[str], assigned_gpus: float) -> dict[str, float]:
    """GPU index -> share held, from Ray's accelerator ids and the assigned GPU amount.

    A fractional request (0.25) holds that share of its one GPU; a request of n >= 1 GPUs
    holds each of its n GPUs whole.
    """
    if not gpu_ids or assigned_gpus <= 0:
        return {}
    share = min(1.0, assigned_gpus / len(gpu_ids))
    return {str(gpu): share for gpu in gpu_ids}


def start_worker_metrics(stage: str) -> WorkerMetrics | None:
    """Start recording this worker's GPU share; call inside the worker actor after setup.

    Returns None (and logs) if metrics cannot be recorded: a worker never fails over them.
    """
    try:
        import ray

        context = ray.get_runtime_context()
        ids = [str(g) for g in context.get_accelerator_ids().get("GPU", [])]
        resources = context.get_assigned_resources()  # type: ignore[no-untyped-call]
        assigned = float(resources.get("GPU", 0.0))
        recorder = WorkerMetrics(stage, gpu_shares(ids, assigned))
        recorder.start()
    except Exception:
        logger.warning("stage %s: cannot record worker metrics", stage, exc_info=True)
        return None
    return recorder


__all__ = [
    "STATES",
    "PipelineMetrics",
    "WorkerMetrics",
    "gpu_shares",
    "start_worker_metrics",
]
