"""PipelineFlow: the engine's questions about a running pipeline, on hand-built states."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import attrs
from tests.core.runtime.test_streaming import Stamp

from cosmos_curate.core.interfaces.stage_interface import CuratorStageSpec
from cosmos_curate.core.runtime.byte_budget import ByteBudget
from cosmos_curate.core.runtime.flow import PipelineFlow
from cosmos_curate.core.runtime.ledger import InputLedger
from cosmos_curate.core.runtime.queues import Chunk
from cosmos_curate.core.runtime.run_options import EngineOptions
from cosmos_curate.core.runtime.run_state import RunState
from cosmos_curate.core.runtime.stage_spec import resolve_stages
from cosmos_curate.core.runtime.stats import StageStats

MB = 2**20


@attrs.define
class _Worker:
    ready_at: float | None
    calls_in_flight: int = 1


@attrs.define
class _Pool:
    """The parts of a StagePool the flow reads."""

    workers: list[_Worker]
    tasks_in_flight: int = 0
    startup_seconds: float | None = 1.0

    @property
    def active_count(self) -> int:
        return len(self.workers)

    @property
    def setups_pending(self) -> int:
        return sum(w.ready_at is None for w in self.workers)

    def free_slot_count(self) -> int:
        return sum(max(0, 1 - w.calls_in_flight) for w in self.workers if w.ready_at is not None)


def _flow(tmp_path: Path, n_stages: int, workers: int, **fields: Any) -> PipelineFlow:
    """A flow over a hand-built run state (`fields` set on the state)."""
    stages = resolve_stages(
        [CuratorStageSpec(Stamp(f"s{i}")) for i in range(n_stages)],
        cluster_gpus=0,
        require_gpu=False,
        run_dir=tmp_path,
    )
    started = time.monotonic() - 10
    pools = [_Pool([_Worker(started) for _ in range(workers)]) for _ in stages]
    state = RunState.new(stages, pools, InputLedger())  # type: ignore[arg-type]
    for stage in state.stages:
        stage.first_dispatch = started
    for key, value in fields.items():
        setattr(state, key, value)
    return PipelineFlow(state, EngineOptions())


def _measure(stats: StageStats, seconds_per_task: float, tasks: int, busy_share: float) -> None:
    """Calls totalling `tasks` tasks, whose process time is `busy_share` of 5 s x 4 workers."""
    per_call = busy_share * 5 * 4 / tasks
    for _ in range(tasks):
        stats.record_call(
            tasks_in=1,
            tasks_out=1,
            failed=0,
            process_seconds=per_call,
            deserialize_seconds=0.0,
            deserialize_bytes=1,
        )
    stats.seconds_per_task = seconds_per_task


def test_calls_shrink_only_at_the_end(tmp_path: Path) -> None:
    flow = _flow(tmp_path, 1, workers=4)
    flow.state.stages[0].stats.seconds_per_task = 0.01  # calls of 5 tasks (50 ms)
    flow.state.stages[0].queue.push(Chunk(b"", 3960))
    flow.state.stages[0].queue.push(Chunk(b"", 40))
    assert flow.tail_capped(0, 30) == 30  # input not read to the end yet
    flow.state.input_exhausted = True
    assert not flow.in_tail(0)  # 4000 tasks left: far from the end
    assert flow.tail_capped(0, 30) == 30
    flow.state.stages[0].queue.pop_up_to(1)
    assert flow.in_tail(0)  # 40 left: under two calls per slot (4 workers x 2 in flight)
    assert flow.tail_capped(0, 30) == 3  # 40 tasks over 16 tail slots


def test_work_left_counts_upstream_through_fan_out(tmp_path: Path) -> None:
    flow = _flow(tmp_path, 2, workers=1)
    flow.state.stages[0].queue.push(Chunk(b"", 10))
    flow.state.stages[1].queue.push(Chunk(b"", 5))
    flow.state.stages[0].stats.record_call(
        tasks_in=1,
        tasks_out=3,
        failed=0,
        process_seconds=0.01,
        deserialize_seconds=0.0,
        deserialize_bytes=1,
    )
    assert flow.tasks_left_for(0) == 10
    assert flow.tasks_left_for(1) == 10 * 3 + 5


def test_a_stage_whose_workers_mostly_wait_gets_no_more(tmp_path: Path) -> None:
    busy = _flow(tmp_path, 1, workers=4)
    _measure(busy.state.stages[0].stats, 0.04, tasks=100, busy_share=0.9)
    assert busy.worth_growing(0)
    idle = _flow(tmp_path, 1, workers=4)
    _measure(idle.state.stages[0].stats, 0.04, tasks=100, busy_share=0.2)
    assert not idle.worth_growing(0)


def test_a_stage_that_keeps_up_with_its_feeder_gets_no_more(tmp_path: Path) -> None:
    """Busy workers of a fed stage with less than a call queued get no company (#29: the
    writer behind the captioner went to 11 workers as contention raised its per-task time)."""
    flow = _flow(tmp_path, 2, workers=3, input_exhausted=True)
    flow.state.stages[0].queue.push(Chunk(b"", 1500))  # the feeder's backlog: work left
    _measure(flow.state.stages[1].stats, 0.2, tasks=100, busy_share=0.9)
    call = flow.desired_call_size(1)
    flow.state.stages[1].queue.push(Chunk(b"", call - 1))
    assert not flow.worth_growing(1)
    flow.state.stages[1].queue.push(Chunk(b"", 1))  # a call's worth waits: workers are short
    assert flow.worth_growing(1)


def test_an_overhead_bound_stage_is_not_grown_before_evidence(tmp_path: Path) -> None:
    flow = _flow(tmp_path, 1, workers=1)
    flow.state.stages[0].first_dispatch = time.monotonic()  # just got work: no busy evidence yet
    flow.state.stages[0].stats.seconds_per_task = 2e-6  # a full call of 512 tasks takes 1 ms
    assert not flow.worth_growing(0)
    flow.state.stages[0].stats.seconds_per_task = 0.01
    assert flow.worth_growing(0)


def test_an_unmeasured_stage_gets_no_second_worker_while_its_first_starts(tmp_path: Path) -> None:
    """A second start is a guess that slows the first one's (#29: 6 torch imports on 2 CPUs)."""
    flow = _flow(tmp_path, 1, workers=1)
    flow.state.stages[0].pool.workers[0].ready_at = None  # still importing its model
    assert not flow.worth_growing(0)
    flow.state.stages[0].pool.workers[0].ready_at = time.monotonic()  # up, busy, speed unknown
    assert not flow.worth_growing(0)  # nothing waits for it
    flow.state.stages[0].queue.push(Chunk(b"", 8))
    assert flow.worth_growing(0)  # work waits and its one worker is busy
    flow.state.stages[0].pool.workers[0].calls_in_flight = 0
    assert not flow.worth_growing(0)  # its worker is free: it takes the work
    flow.state.stages[0].pool.workers[0].calls_in_flight = 1
    flow.state.stages[0].pool.workers[0].ready_at = None  # starting, but the speed is measured
    flow.state.stages[0].stats.seconds_per_task = 0.04
    assert flow.worth_growing(0)


def test_no_worker_is_started_for_work_that_ends_before_it_is_up(tmp_path: Path) -> None:
    flow = _flow(tmp_path, 1, workers=4, input_exhausted=True)
    _measure(flow.state.stages[0].stats, 0.04, tasks=100, busy_share=0.9)
    flow.state.stages[0].queue.push(Chunk(b"", 20))  # 20 x 40 ms / 4 workers = 0.2 s left
    assert not flow.worth_growing(0)
    flow.state.stages[0].queue.push(Chunk(b"", 2000))  # 20 s left: worth a 1 s start-up
    assert flow.worth_growing(0)


def test_no_stage_gets_more_workers_than_tasks_left_to_reach_it(tmp_path: Path) -> None:
    """Unmeasured stages with work waiting grow while input may still come; once it is all
    read, a stage with a worker per task left gets none more (a 2-input run started 8 workers
    of each stage)."""
    flow = _flow(tmp_path, 2, workers=2)
    stages = flow.state.stages
    stages[0].queue.push(Chunk(b"", 2))
    assert flow.worth_growing(0)  # input not read to the end yet
    flow.state.input_exhausted = True
    assert not flow.worth_growing(0)  # 2 tasks, 2 workers
    stages[0].queue.push(Chunk(b"", 1))
    assert flow.worth_growing(0)  # 3 tasks left for 2 workers
    stages[0].queue.pop_up_to(2)
    stages[1].queue.push(Chunk(b"", 1))  # waits for stage 1's two busy workers
    assert not flow.worth_growing(1)  # 1 queued + 1 upstream (fan-out 1): 2 tasks, 2 workers
    stages[0].stats.record_call(
        tasks_in=1, tasks_out=4, failed=0, process_seconds=0.01,
        deserialize_seconds=0.0, deserialize_bytes=1,
    )  # fmt: skip
    assert flow.worth_growing(1)  # the upstream input fans out to 4: 5 tasks for 2 workers


def test_a_stage_its_feeder_waits_on_for_bytes_may_still_grow(tmp_path: Path) -> None:
    """Few tasks queued because they are large, not because the stage keeps up: the byte
    budget holds the feeder back, so the stage is the bottleneck and may grow."""
    flow = _flow(tmp_path, 2, workers=1, input_exhausted=True)
    flow.state.bytes.budget = ByteBudget.from_store(400 * MB, 0.5, 2)  # 100 MB per queue
    flow.state.stages[0].queue.push(Chunk(b"", 1500))  # the feeder's backlog: work left
    flow.state.stages[0].meter.record(1, 30 * MB)
    _measure(flow.state.stages[1].stats, 0.01, tasks=100, busy_share=0.9)
    assert flow.desired_call_size(1) > 3
    flow.state.stages[1].queue.push(Chunk(b"", 3, nbytes=90 * MB))
    assert flow.byte_blocked(0)
    assert flow.worth_growing(1)
