"""Autoscaling on a real cluster: the slow stage ends up with the most workers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from cosmos_curate.core.interfaces.pipeline_interface import run_pipeline
from cosmos_curate.core.interfaces.results import PipelineProgress
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)

pytestmark = pytest.mark.integration

SLOTS = 8  # the session cluster's 4 CPUs in workers of 0.5 CPU
HELD = 10  # decisions in a row (report_interval_s 0.5: 5 s) the plan must hold to count
DEADLINE_S = 240.0  # a plan that never gets there fails the test here, whatever the load


@attrs.define
class Job(PipelineTask):
    id: int


class Sleep(CuratorStage[Job, Job]):
    """Sleeps `seconds` a task until the file `seen` exists (then the queues drain at once)."""

    def __init__(self, label: str, seconds: float, seen: Path) -> None:
        self.label, self.seconds, self.seen = label, seconds, seen

    @property
    def name(self) -> str:
        return self.label

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=4 / SLOTS)

    def process_data(self, tasks: list[Job]) -> list[Job] | None:
        if not self.seen.exists():
            time.sleep(self.seconds * len(tasks))
        return tasks


def _bottleneck_held(decisions: list[tuple[int, int]]) -> bool:
    """The last `HELD` (fast, slow) targets all give the slow stage 3x the fast one's."""
    recent = decisions[-HELD:]
    return len(recent) == HELD and all(slow >= 3 * fast for fast, slow in recent)


def test_bottleneck_stage_gets_most_workers(ray_cluster: dict[str, Any], tmp_path: Path) -> None:
    """Stages of 10 ms and 300 ms a task: once both are measured the planner gives the slow
    stage at least 3x the fast one's workers (an even split, or one blind to the measured
    costs, never does) and keeps that plan.

    The input lasts until the plan has held for `HELD` reports, so a loaded machine (slow
    worker start-ups, long learning) makes the run longer instead of failing it; then the
    stages stop sleeping and what is queued drains at once. A loaded
    machine's wake-up delay (tens of ms) lands once per call, and the fast stage's calls
    carry many tasks, so it cannot make the fast stage look as slow as the slow one.
    """
    decisions: list[tuple[int, int]] = []  # (fast, slow) targets with both stages measured
    seen = tmp_path / "seen"

    def watch(progress: PipelineProgress) -> None:
        if _bottleneck_held(decisions):
            seen.touch()
            return
        stages = {stage.name: stage for stage in progress.stages}
        fast, slow = stages["fast"], stages["slow"]
        if progress.input_exhausted or not (fast.seconds_per_task and slow.seconds_per_task):
            return  # not measured yet, or the end of the run (stages finish one by one)
        decisions.append((fast.workers_target, slow.workers_target))

    def jobs() -> Iterator[Job]:
        deadline = time.monotonic() + DEADLINE_S
        i = 0
        while not seen.exists() and time.monotonic() < deadline:
            yield Job(i)
            i += 1
        seen.touch()  # past the deadline too: the queues drain at once either way

    out = run_pipeline(
        jobs(),
        [Sleep("fast", 0.010, seen), Sleep("slow", 0.300, seen)],
        progress_callbacks=[watch],
        collect_outputs=False,
    )
    assert out == []
    assert _bottleneck_held(decisions), decisions
    # Most of the cluster goes to the bottleneck: 7 of 8 slots while the fast stage runs.
    assert max(slow for _, slow in decisions) >= SLOTS - 2, decisions
