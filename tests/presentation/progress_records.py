"""Runtime progress records for tests: every counter at zero unless a test sets it."""

from __future__ import annotations

from typing import Any

from cosmos_curate.core.interfaces.results import PipelineProgress, StageProgress

_ZERO_STAGE: dict[str, Any] = {
    "tasks_done": 0, "tasks_produced": 0, "tasks_failed": 0, "throughput": 0.0,
    "seconds_per_task": None, "workers_target": 1, "workers_starting": 0,
    "workers_busy": 0, "workers_idle": 0, "workers_draining": 0, "input_queue": 0,
    "output_queue": 0, "tasks_in_flight": 0, "cpu_fallback": False,
    "process_seconds_total": 0.0, "deserialize_seconds_total": 0.0,
    "deserialize_bytes_total": 0, "deserialize_count_total": 0, "cpu_percent": 0.0,
    "rss_bytes": 0,
}  # fmt: skip


def stage_progress(name: str, **fields: Any) -> StageProgress:
    """A stage's record with one target worker and `fields` set."""
    return StageProgress(name=name, **{**_ZERO_STAGE, **fields})


def pipeline_progress(*stages: StageProgress, **fields: Any) -> PipelineProgress:
    """A run's record over `stages`: 10 inputs read and exhausted, 1 s in, unless `fields` say."""
    base: dict[str, Any] = {
        "elapsed_s": 1.0, "inputs_read": 10, "input_exhausted": True, "outputs": 0, "failures": 0,
    }  # fmt: skip
    return PipelineProgress(stages=stages, **{**base, **fields})
