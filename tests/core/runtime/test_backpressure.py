"""Backpressure: a huge lazy input is never materialised by the driver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import psutil
import pytest

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)

pytestmark = pytest.mark.integration

N_TASKS = 100_000


@attrs.define
class Tiny(PipelineTask):
    id: int
    payload: str = "x" * 64


class Noop(CuratorStage[Tiny, Tiny]):
    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Tiny]) -> list[Tiny] | None:
        return tasks


def test_generator_of_100k_tasks_is_consumed_lazily(ray_cluster: dict[str, Any]) -> None:
    """Inputs read run at most a bounded distance ahead of outputs; driver RSS stays flat."""
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = {"rss": baseline, "ahead": 0}

    def watch(progress: Any) -> None:
        peak["rss"] = max(peak["rss"], process.memory_info().rss)
        peak["ahead"] = max(peak["ahead"], progress.inputs_read - progress.outputs)

    def tasks() -> Iterator[Tiny]:
        for i in range(N_TASKS):
            yield Tiny(i)

    result = execute_pipeline(
        tasks(), [Noop(), Noop(), Noop()], collect_outputs=False, progress_callbacks=[watch]
    )
    assert result.num_outputs == N_TASKS
    assert result.outputs == []
    # Bounded queues: the driver never holds more than a fraction of the input.
    assert peak["ahead"] < N_TASKS // 4, peak
    grown_mb = (peak["rss"] - baseline) / 2**20
    assert grown_mb < 150, f"driver RSS grew {grown_mb:.0f} MB for {N_TASKS} tasks"
