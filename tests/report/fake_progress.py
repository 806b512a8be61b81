"""Progress records as a run's engine would hand them to its sinks, made without Ray."""

from __future__ import annotations

from cosmos_curate.core.interfaces.results import PipelineProgress, StageProgress


def stage(name: str, t: float, *, rate: float, target: int, lost: int = 0,
          queue: int = 0, busy: int = 1) -> StageProgress:  # fmt: skip
    """A stage that has done `rate * t` tasks by time `t`."""
    done = int(rate * t)
    return StageProgress(
        name=name, tasks_done=done, tasks_produced=done, tasks_failed=0, throughput=rate,
        seconds_per_task=1.0 / rate if rate else None, workers_target=target,
        workers_starting=0, workers_busy=busy, workers_idle=max(0, target - busy),
        workers_draining=0, input_queue=queue, output_queue=0, tasks_in_flight=busy,
        cpu_fallback=False, process_seconds_total=done / rate if rate else 0.0,
        deserialize_seconds_total=0.0, deserialize_bytes_total=0, deserialize_count_total=0,
        cpu_percent=95.0 * busy, rss_bytes=200 * 1024 * 1024, workers_lost=lost,
    )  # fmt: skip


def progress(t: float, *, finished: bool = False, target_b: int = 2, lost: int = 0,
             exhausted: bool = False) -> PipelineProgress:  # fmt: skip
    """Two stages, `decode` (fast) and `embed` (slow, a queue in front of it)."""
    stages = (
        stage("decode", t, rate=20.0, target=1),
        stage("embed", t, rate=10.0, target=target_b, lost=lost, queue=30, busy=target_b),
    )
    return PipelineProgress(
        stages=stages, elapsed_s=t, inputs_read=int(25 * t), input_exhausted=exhausted,
        outputs=int(10 * t), failures=0, finished=finished,
    )  # fmt: skip
