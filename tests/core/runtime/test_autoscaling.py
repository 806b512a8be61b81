"""Autoscaling on a real cluster: the slow stage ends up with the most workers."""

from __future__ import annotations

import statistics
import time
from typing import Any

import attrs
import pytest

from cosmos_curate.core.interfaces.pipeline_interface import run_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)

pytestmark = pytest.mark.integration


@attrs.define
class Job(PipelineTask):
    id: int


class Sleep(CuratorStage[Job, Job]):
    def __init__(self, label: str, seconds: float) -> None:
        self.label, self.seconds = label, seconds

    @property
    def name(self) -> str:
        return self.label

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.25)

    def process_data(self, tasks: list[Job]) -> list[Job] | None:
        time.sleep(self.seconds * len(tasks))
        return tasks


def test_bottleneck_stage_gets_most_workers(ray_cluster: dict[str, Any]) -> None:
    """Stages of 30 ms and 300 ms a task: the slow stage is given several times the workers.

    The sleeps are long enough that a loaded machine's scheduling delay (tens of ms per
    wake-up) cannot make the fast stage look as slow as the slow one.
    """
    samples: list[dict[str, int]] = []

    def watch(progress: Any) -> None:
        samples.append({stage.name: stage.workers_target for stage in progress.stages})

    out = run_pipeline(
        (Job(i) for i in range(400)),
        [Sleep("fast", 0.030), Sleep("slow", 0.300)],
        progress_callbacks=[watch],
        collect_outputs=False,
    )
    assert out == []
    # Compare the targets through the run, not their peaks: before the first measurements the
    # slots are shared evenly, so the fast stage's peak is the start's even split.
    middle = samples[len(samples) // 10 : len(samples) - len(samples) // 10]
    assert middle, samples
    fast = statistics.median(s.get("fast", 0) for s in middle)
    slow = statistics.median(s.get("slow", 0) for s in middle)
    assert slow >= 3 * fast, (fast, slow, samples)
    assert max(s.get("slow", 0) for s in samples) >= 8, samples  # 16 slots of 0.25 CPU
