"""The pure parts of metric recording: GPU shares and per-stage progress fractions."""

from __future__ import annotations

from typing import Any

import pytest

from cosmos_curate.core.interfaces.results import PipelineProgress, StageProgress
from cosmos_curate.core.runtime.metrics import gpu_shares
from cosmos_curate.presentation.progress_view import stage_fractions


def _stage(name: str, **counts: Any) -> StageProgress:
    base: dict[str, Any] = {
        "tasks_done": 0, "tasks_produced": 0, "tasks_failed": 0, "throughput": 0.0,
        "seconds_per_task": None, "workers_target": 1, "workers_starting": 0,
        "workers_busy": 0, "workers_idle": 0, "workers_draining": 0, "input_queue": 0,
        "output_queue": 0, "tasks_in_flight": 0, "cpu_fallback": False,
        "process_seconds_total": 0.0, "deserialize_seconds_total": 0.0,
        "deserialize_bytes_total": 0, "deserialize_count_total": 0, "cpu_percent": 0.0,
        "rss_bytes": 0,
    }  # fmt: skip
    return StageProgress(name=name, **{**base, **counts})


def _progress(*stages: StageProgress, finished: bool = False) -> PipelineProgress:
    return PipelineProgress(
        stages=stages, elapsed_s=1.0, inputs_read=10, input_exhausted=True, outputs=0,
        failures=0, finished=finished,
    )  # fmt: skip


def test_gpu_shares_fractional_whole_and_none() -> None:
    """A 0.25 GPU worker holds a quarter of its GPU; 2 GPUs are held whole; no GPU, nothing."""
    assert gpu_shares(["0"], 0.25) == {"0": 0.25}
    assert gpu_shares(["0", "1"], 2.0) == {"0": 1.0, "1": 1.0}
    assert gpu_shares([], 0.0) == {}
    assert gpu_shares(["3"], 0.0) == {}


def test_progress_counts_upstream_backlog_scaled_by_fan_out() -> None:
    """The last stage's fraction counts what upstream still holds, times measured fan-out."""
    first = _stage("A", tasks_done=4, tasks_produced=8, input_queue=6)  # fan-out 2
    second = _stage("B", tasks_done=8, tasks_produced=8, input_queue=0)
    fractions = stage_fractions(_progress(first, second))
    assert fractions[0] == pytest.approx(4 / 10)
    assert fractions[1] == pytest.approx(8 / (8 + 12))


def test_progress_is_one_when_finished_and_zero_before_anything() -> None:
    """A finished run shows 100 % everywhere; a run with nothing read yet shows 0."""
    assert stage_fractions(_progress(_stage("A"), finished=True)) == [1.0]
    assert stage_fractions(_progress(_stage("A"))) == [0.0]
