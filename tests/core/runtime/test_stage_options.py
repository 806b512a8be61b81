"""Per-stage spec options on a real Ray cluster: failures, slots, worker resets and lifetimes."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from tests.core.runtime.test_streaming import Item, Stamp

from cosmos_curate.core.interfaces.errors import PipelineExecutionError
from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline, run_pipeline
from cosmos_curate.core.interfaces.stage_interface import CuratorStageSpec
from cosmos_curate.core.runtime.bundling import BundlePolicy
from cosmos_curate.core.runtime.errors import StageSetupError
from cosmos_curate.core.runtime.run_options import EngineOptions

pytestmark = pytest.mark.integration


class FailOnSeven(Stamp):
    """Raises on task 7; records its pid in `pid_dir` at setup so a test can watch it."""

    def __init__(self, pid_dir: Path, delay: float = 0.0) -> None:
        super().__init__("f", delay, cpus=0.25)
        self.pid_dir = pid_dir

    def stage_setup(self) -> None:
        (self.pid_dir / str(os.getpid())).touch()

    def process_data(self, tasks: list[Item]) -> list[Item] | None:
        for task in tasks:
            if task.id == 7:
                raise KeyError(f"no field for task {task.id}")
        return super().process_data(tasks)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_failed_task_stops_the_run_after_every_worker_stopped(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """Default: PipelineExecutionError; the record is written and no worker outlives it."""
    pids = tmp_path / "pids"
    pids.mkdir()
    failures = tmp_path / "failures.jsonl"
    expected = r"stage FailOnSeven failed on task Item\(id=7"
    with pytest.raises(PipelineExecutionError, match=expected):
        run_pipeline(
            [Item(i) for i in range(30)],
            [Stamp("a", 0.01, cpus=0.25), FailOnSeven(pids, 0.02)],
            failures_path=failures,
        )
    assert len(failures.read_text().splitlines()) == 1
    workers = [int(p.name) for p in pids.iterdir()]
    deadline = time.time() + 20
    while any(_alive(p) for p in workers) and time.time() < deadline:
        time.sleep(0.2)
    assert workers and not any(_alive(p) for p in workers)


def test_run_wide_ignore_failures_goes_on_and_counts(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """`ignore_failures=True` for the run: the result says how many inputs failed."""
    result = execute_pipeline(
        [Item(i) for i in range(12)], [FailOnSeven(tmp_path)], ignore_failures=True
    )
    assert sorted(t.id for t in result.outputs) == [i for i in range(12) if i != 7]
    assert result.num_failures == 1 and result.failures_path is not None


def _peak_in_flight(slots: int) -> int:
    peaks: list[int] = []
    run_pipeline(
        [Item(i) for i in range(12)],
        [CuratorStageSpec(Stamp("s", 0.15, cpus=0.25), 1, slots_per_actor=slots)],
        progress_callbacks=[lambda p: peaks.append(p.stages[0].tasks_in_flight)],
        engine_options=EngineOptions(
            report_interval_s=0.05, bundle_policy=BundlePolicy(max_tasks_per_call=1)
        ),
    )
    return max(peaks)


def test_slots_per_actor_bounds_the_calls_queued_on_a_worker(ray_cluster: dict[str, Any]) -> None:
    """One task per call, one worker: tasks in flight never exceed slots_per_actor."""
    assert _peak_in_flight(1) == 1
    assert _peak_in_flight(3) == 3


class FailOnMultiplesOfFour(Stamp):
    def __init__(self) -> None:
        super().__init__("r", 0.01, cpus=0.25)

    def process_data(self, tasks: list[Item]) -> list[Item] | None:
        if any(t.id % 4 == 0 for t in tasks):
            raise RuntimeError("the GPU is in a bad state")
        return super().process_data(tasks)


def test_reset_workers_on_failure_replaces_the_worker(ray_cluster: dict[str, Any]) -> None:
    """After a failed call its worker is replaced; every other task still arrives once."""
    spec = CuratorStageSpec(
        FailOnMultiplesOfFour(), 1, ignore_failures=True, reset_workers_on_failure=True
    )
    result = execute_pipeline([Item(i) for i in range(8)], [spec])  # 2 failures: 2 restarts
    ids = sorted(t.id for t in result.outputs)
    assert ids == [i for i in range(8) if i % 4]
    assert result.num_failures == 2
    assert len({t.pids["r"] for t in result.outputs}) >= 2


def test_worker_lifetime_recycles_workers_without_losing_tasks(
    ray_cluster: dict[str, Any],
) -> None:
    """A 1.2 s lifetime on a ~3 s stage: workers are swapped, each task delivered once."""
    spec = CuratorStageSpec(
        Stamp("l", 0.1, cpus=0.25), 1, worker_max_lifetime_m=0.02, worker_restart_interval_m=0
    )
    out = run_pipeline([Item(i) for i in range(30)], [spec])
    ids = [t.id for t in out]
    assert sorted(ids) == list(range(30))
    assert len({t.pids["l"] for t in out}) >= 2


class FirstSetupFails(Stamp):
    """The first worker to set up fails (an O_EXCL marker); later ones succeed."""

    def __init__(self, marker: Path, always: bool = False) -> None:
        super().__init__("m", 0.01, cpus=0.25)
        self.marker, self.always = marker, always

    def stage_setup(self) -> None:
        if self.always:
            raise OSError("lustre hiccup")
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return
        raise OSError("lustre hiccup")


def test_max_setup_failure_percentage_tolerates_sporadic_setup_failures(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """One of two setups failing is within 50%: the worker is replaced and the run finishes;
    when every setup fails the run stops with the share in the error."""
    spec = CuratorStageSpec(
        FirstSetupFails(tmp_path / "m"), 2, max_setup_failure_percentage=50
    )
    assert len(run_pipeline([Item(i) for i in range(8)], [spec])) == 8
    always = CuratorStageSpec(
        FirstSetupFails(tmp_path / "n", always=True), 2, max_setup_failure_percentage=50
    )
    with pytest.raises(StageSetupError, match="lustre hiccup"):
        run_pipeline([Item(i) for i in range(4)], [always])
