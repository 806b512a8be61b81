"""The progress records of a run (`PipelineProgress`), built from its `RunState`.

Read-only over the state; the engine hands the records to its sinks (metrics, displays,
the caller's callbacks) in its report phase and to the result at the end.
"""

from __future__ import annotations

import time

from cosmos_curate.core.interfaces.results import PipelineProgress, StageProgress
from cosmos_curate.core.runtime.run_state import RunState
from cosmos_curate.core.runtime.stage_pool import StagePool, WorkerState
from cosmos_curate.core.runtime.stage_spec import ResolvedStage


def pipeline_progress(state: RunState, *, failures: int, finished: bool) -> PipelineProgress:
    """Every stage's counters and the run's own (`failures`: records written so far)."""
    stages = tuple(stage_progress(state, index) for index in range(len(state.stages)))
    return PipelineProgress(
        stages=stages,
        elapsed_s=state.elapsed_s,
        inputs_read=state.inputs_read,
        input_exhausted=state.input_exhausted,
        outputs=state.n_outputs,
        failures=failures,
        finished=finished,
        scheduler_round_seconds=state.round_seconds / max(1, state.rounds),
        scheduler_rounds=state.rounds,
        plan_rounds=state.plan_rounds,
        inputs_skipped=state.inputs_skipped,
        inputs_done=state.ledger.inputs_done,
        object_store_used_bytes=state.bytes.store_used,
        object_store_peak_bytes=state.bytes.store_peak,
        object_store_capacity_bytes=state.bytes.store_capacity,
        byte_budget_bytes=state.bytes.budget.total_bytes,
        spilled_bytes=state.bytes.spilled_bytes,
        cross_node_bytes=state.bytes.cross_node_bytes,
        local_bytes=state.bytes.local_bytes,
    )


def stage_progress(state: RunState, index: int) -> StageProgress:
    """What a user (or the metrics) should see about stage `index` right now."""
    stage_run = state.stages[index]
    stage, pool, stats = stage_run.spec, stage_run.pool, stage_run.stats
    busy = pool.busy_count
    live_ids = [w.worker_id for w in pool.workers]
    cpu_mean, rss_mean = stats.usage.means(time.monotonic())
    return StageProgress(
        name=stage.name,
        tasks_done=stats.tasks_done,
        tasks_produced=stats.tasks_produced,
        tasks_failed=stats.tasks_failed,
        throughput=stats.throughput(state.elapsed_s),
        seconds_per_task=stats.seconds_per_task,
        workers_target=stage_run.target,
        workers_starting=pool.count(WorkerState.STARTING),
        workers_busy=busy,
        workers_idle=pool.count(WorkerState.READY) - busy,
        workers_draining=pool.count(WorkerState.DRAINING),
        input_queue=stage_run.queue.tasks,
        output_queue=0 if state.is_last(index) else state.stages[index + 1].queue.tasks,
        tasks_in_flight=pool.tasks_in_flight,
        cpu_fallback=stage.cpu_fallback,
        process_seconds_total=stats.process_seconds,
        deserialize_seconds_total=stats.deserialize_seconds,
        deserialize_bytes_total=stats.deserialize_bytes,
        deserialize_count_total=stats.deserialize_count,
        cpu_percent=sum(stats.cpu_percent_by_worker.get(w, 0.0) for w in live_ids),
        rss_bytes=sum(stats.rss_by_worker.get(w, 0) for w in live_ids),
        gpu_alloc=gpu_alloc(stage, pool),
        target_changes=stage_run.target_changes,
        workers_lost=pool.workers_lost,
        workers_peak=pool.peak_active,
        queued_bytes=stage_run.queue.bytes,
        in_flight_bytes=sum(c.in_bytes for c in state.calls.values() if c.stage == index),
        bytes_out_per_task=stage_run.meter.bytes_per_task,
        backpressure_wait_s=stage_run.budget_wait.waited_s(time.monotonic()),
        cpu_percent_mean=cpu_mean,
        cpu_percent_peak=stats.usage.peak_cpu_percent,
        rss_bytes_mean=rss_mean,
        rss_bytes_peak=stats.usage.peak_rss_bytes,
    )


def gpu_alloc(stage: ResolvedStage, pool: StagePool) -> tuple[tuple[str, str, float], ...]:
    """(node id, GPU index, share) summed over the ready workers holding a GPU."""
    alloc: dict[tuple[str, str], float] = {}
    for worker in pool.workers:
        if worker.setup is None:
            continue
        share = stage.gpus / max(1, len(worker.setup.gpu_ids)) if stage.gpus < 1 else 1.0
        for gpu in worker.setup.gpu_ids:
            key = (worker.setup.node_id, gpu)
            alloc[key] = alloc.get(key, 0.0) + share
    return tuple((node, gpu, share) for (node, gpu), share in sorted(alloc.items()))
