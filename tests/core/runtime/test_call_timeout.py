"""A hung `process_data` call is a worker failure (`call_timeout_s`): killed, replaced, re-run."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from cosmos_curate.core.interfaces.errors import PipelineExecutionError
from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    CuratorStageSpec,
    PipelineTask,
)
from cosmos_curate.core.runtime.run_options import EngineOptions

pytestmark = pytest.mark.integration


@attrs.define
class Job(PipelineTask):
    id: int


class Hang(CuratorStage[Job, Job]):
    """Task `hung_id` sleeps for ten minutes: forever, or only the first time (`marker`)."""

    def __init__(self, hung_id: int, marker: str | None = None) -> None:
        self.hung_id, self.marker = hung_id, marker

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Job]) -> list[Job] | None:
        for task in tasks:
            if task.id != self.hung_id:
                continue
            if self.marker is None:
                time.sleep(600)
            marker = Path(self.marker)
            if not marker.exists():
                marker.write_text("hung once")
                time.sleep(600)
        return tasks


def test_a_call_that_hangs_once_is_killed_and_its_task_re_run(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """The hung worker is replaced and the task re-runs: every output, no failure, in seconds
    rather than the ten minutes the call would have slept."""
    start = time.monotonic()
    result = execute_pipeline(
        [Job(i) for i in range(12)],
        [CuratorStageSpec(Hang(5, str(tmp_path / "marker")), call_timeout_s=2.0)],
        failures_path=tmp_path / "failures.jsonl",
    )
    assert sorted(t.id for t in result.outputs) == list(range(12))
    assert result.num_failures == 0
    assert (tmp_path / "marker").exists()
    assert time.monotonic() - start < 180


def test_a_task_that_always_hangs_is_recorded_as_failed(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """After hanging on `max_worker_deaths_per_task` workers the task is a failure record;
    with ignore_failures the others all arrive; without, the run stops with an error."""
    failures = tmp_path / "failures.jsonl"
    result = execute_pipeline(
        [Job(i) for i in range(6)],
        [CuratorStageSpec(Hang(2), call_timeout_s=1.5, ignore_failures=True)],
        failures_path=failures,
        engine_options=EngineOptions(max_worker_deaths_per_task=2),
    )
    assert sorted(t.id for t in result.outputs) == [0, 1, 3, 4, 5]
    (record,) = [json.loads(line) for line in failures.read_text().splitlines()]
    assert "id=2" in record["task_repr"] and "Worker" in record["error"]
    with pytest.raises(PipelineExecutionError):
        execute_pipeline(
            [Job(i) for i in range(3)],
            [CuratorStageSpec(Hang(1), call_timeout_s=1.5)],
            failures_path=tmp_path / "stop.jsonl",
            engine_options=EngineOptions(max_worker_deaths_per_task=1),
        )


def test_call_timeout_must_be_positive() -> None:
    """A zero or negative timeout is rejected when the spec is made."""
    with pytest.raises((ValueError, TypeError)):
        CuratorStageSpec(Hang(0), call_timeout_s=0)
