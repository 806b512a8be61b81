"""Building a stage's progress record from its pool and counters."""

from __future__ import annotations

from cosmos_curate.core.interfaces.results import StageProgress
from cosmos_curate.core.runtime.resolved import ResolvedStage
from cosmos_curate.core.runtime.stage_pool import StagePool, WorkerState
from cosmos_curate.core.runtime.stats import StageStats


def stage_progress(
    stage: ResolvedStage,
    pool: StagePool,
    stats: StageStats,
    *,
    elapsed_s: float,
    target: int,
    target_changes: int,
    input_queue: int,
    output_queue: int,
) -> StageProgress:
    """What a user (or the metrics) should see about one stage right now."""
    busy = pool.busy_count
    live_ids = [w.worker_id for w in pool.workers]
    return StageProgress(
        name=stage.name,
        tasks_done=stats.tasks_done,
        tasks_produced=stats.tasks_produced,
        tasks_failed=stats.tasks_failed,
        throughput=stats.throughput(elapsed_s),
        seconds_per_task=stats.seconds_per_task,
        workers_target=target,
        workers_starting=pool.count(WorkerState.STARTING),
        workers_busy=busy,
        workers_idle=pool.count(WorkerState.READY) - busy,
        workers_draining=pool.count(WorkerState.DRAINING),
        input_queue=input_queue,
        output_queue=output_queue,
        tasks_in_flight=pool.tasks_in_flight,
        cpu_fallback=stage.cpu_fallback,
        process_seconds_total=stats.process_seconds,
        deserialize_seconds_total=stats.deserialize_seconds,
        deserialize_bytes_total=stats.deserialize_bytes,
        deserialize_count_total=stats.deserialize_count,
        cpu_percent=sum(stats.cpu_percent_by_worker.get(w, 0.0) for w in live_ids),
        rss_bytes=sum(stats.rss_by_worker.get(w, 0) for w in live_ids),
        gpu_alloc=gpu_alloc(stage, pool),
        target_changes=target_changes,
        workers_lost=pool.workers_lost,
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
