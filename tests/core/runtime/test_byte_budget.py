"""Byte budgets: the arithmetic that keeps queued task data within the object store (pure)."""

from __future__ import annotations

import time
from pathlib import Path

import attrs
import pytest
from tests.core.runtime.test_streaming import Stamp

from cosmos_curate.core.interfaces.stage_interface import CuratorStageSpec
from cosmos_curate.core.runtime.byte_budget import (
    BudgetWait,
    ByteAccount,
    ByteBudget,
    ByteMeter,
    oversized,
    tasks_within_share,
)
from cosmos_curate.core.runtime.flow import PipelineFlow
from cosmos_curate.core.runtime.ledger import InputLedger
from cosmos_curate.core.runtime.queues import Chunk, ChunkQueue
from cosmos_curate.core.runtime.run_options import EngineOptions, RunOptions
from cosmos_curate.core.runtime.run_state import RunState
from cosmos_curate.core.runtime.stage_spec import resolve_stages

MB = 2**20


def test_budget_is_a_fraction_of_the_store_split_over_the_stage_queues() -> None:
    """Half of a 400 MB store over 2 stages: 100 MB per queue; no store: unbounded."""
    budget = ByteBudget.from_store(400 * MB, 0.5, 2)
    assert budget.total_bytes == 200 * MB and budget.share == 100 * MB and budget.bounded
    assert not ByteBudget.from_store(0, 0.5, 3).bounded
    with pytest.raises(ValueError, match="object_store_fraction"):
        EngineOptions(object_store_fraction=1.5)
    with pytest.raises(ValueError, match="object_store_fraction"):
        RunOptions(object_store_fraction=0)
    assert RunOptions(object_store_fraction=0.25).engine.object_store_fraction == 0.25


def test_shares_follow_the_bytes_flowing_into_each_queue() -> None:
    """Tiny inputs, 100 MB outputs: the output queue gets nearly all of the budget, so every
    queue holds the same number of tasks; unmeasured queues count as the heaviest."""
    budget = ByteBudget(200 * MB, 2)
    small, big = budget.shares([1_000, 100 * MB])
    assert big > 199 * MB and small == pytest.approx(2_000, rel=0.01)
    assert budget.shares([None, None]) == [100 * MB, 100 * MB]
    assert budget.shares([None, 10 * MB, 30 * MB]) == [
        int(200 * MB * 3 / 7), int(200 * MB / 7), int(200 * MB * 3 / 7)
    ]  # fmt: skip


def test_a_call_is_cut_to_what_fits_the_share() -> None:
    """10 MB per task, 35 MB of room: 3 tasks (whole batches); 2-task batches: 2."""
    common = {"share": 100 * MB, "bytes_per_task": 10 * MB, "calls_in_flight": 1}
    assert tasks_within_share(used=65 * MB, desired=8, batch=1, **common) == 3
    assert tasks_within_share(used=65 * MB, desired=8, batch=2, **common) == 2
    assert tasks_within_share(used=0, desired=8, batch=1, **common) == 8


def test_a_full_boundary_holds_the_stage_back() -> None:
    """No room for one batch while downstream holds bytes: wait (0 tasks)."""
    assert (
        tasks_within_share(
            share=100 * MB, used=95 * MB, bytes_per_task=10 * MB, desired=4, batch=1,
            calls_in_flight=0,
        )
        == 0
    )  # fmt: skip


def test_a_task_larger_than_the_share_goes_alone_when_the_boundary_is_empty() -> None:
    """No deadlock: a 300 MB task with a 100 MB share runs, one batch, once downstream drained."""
    big = {"share": 100 * MB, "bytes_per_task": 300 * MB, "desired": 4, "batch": 1}
    assert tasks_within_share(used=0, calls_in_flight=0, **big) == 1
    assert tasks_within_share(used=1, calls_in_flight=0, **big) == 0
    assert oversized(100 * MB, 300 * MB, 1) and not oversized(100 * MB, 30 * MB, 1)


def test_an_unmeasured_stage_sends_one_call_at_a_time() -> None:
    """Before a call returned nobody knows its output size: one call in flight at most."""
    unknown = {"share": 100 * MB, "used": 0, "bytes_per_task": None, "desired": 8, "batch": 1}
    assert tasks_within_share(calls_in_flight=0, **unknown) == 8
    assert tasks_within_share(calls_in_flight=1, **unknown) == 0
    no_budget = {**unknown, "share": 0}
    assert tasks_within_share(calls_in_flight=5, **no_budget) == 8


def test_the_meter_follows_the_measured_output_size() -> None:
    """Bytes per task: the first call's, then a moving average toward newer calls."""
    meter = ByteMeter()
    meter.record(4, 40 * MB)
    assert meter.bytes_per_task == 10 * MB
    for _ in range(30):
        meter.record(1, 20 * MB)
    assert meter.bytes_per_task == pytest.approx(20 * MB, rel=0.01)
    assert meter.bytes_out == 40 * MB + 30 * 20 * MB


def test_wait_clock_and_store_observations() -> None:
    """Blocked time adds up across waits; spilled bytes count from the run's first look."""
    wait = BudgetWait()
    wait.mark_blocked(10.0)
    wait.mark_blocked(11.0)  # still the same wait
    assert wait.waited_s(12.0) == 2.0
    wait.mark_unblocked(13.0)
    wait.mark_unblocked(20.0)
    assert wait.waited_s(30.0) == 3.0
    account = ByteAccount.new(2)
    account.observe_store(50, 400, spilled_total=1000)
    account.observe_store(80, 400, spilled_total=1500)
    account.observe_store(10, 400, spilled_total=1500)
    assert (account.store_peak, account.store_used, account.spilled_bytes) == (80, 10, 500)
    account.moved(7, cross_node=True)
    account.moved(3, cross_node=False)
    assert (account.cross_node_bytes, account.local_bytes) == (7, 3)


def test_queues_count_bytes_and_prefer_chunks_made_on_a_node() -> None:
    """Bytes follow pushes, pops and splits; a node's chunks are popped first when asked."""
    queue = ChunkQueue()
    queue.push(Chunk("a", 2, nbytes=200, node_id="A"))
    queue.push(Chunk("b", 2, nbytes=100, node_id="B"))
    assert queue.bytes == 300 and queue.has_node("B") and not queue.has_node("C")
    (taken,) = queue.pop_up_to(2, node_id="B")
    assert taken.data == "b" and queue.bytes == 200 and queue.tasks == 2
    head, rest = queue.pop_up_to(2)[0].split(1)
    assert (head.nbytes, rest.nbytes) == (100, 100)
    assert queue.pop_up_to(1, node_id="Z") == []  # empty queue: nothing to pop
    queue.push(Chunk("c", 1, nbytes=5, node_id="A"))
    assert [c.data for c in queue.pop_up_to(1, node_id="Z")] == ["c"]  # none local: FIFO


@attrs.define
class _Worker:
    ready_at: float | None
    calls_in_flight: int = 1


@attrs.define
class _Pool:
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


def _state(tmp_path: Path) -> RunState:
    stages = resolve_stages(
        [CuratorStageSpec(Stamp(f"s{i}")) for i in range(2)],
        cluster_gpus=0,
        require_gpu=False,
        run_dir=tmp_path,
    )
    pools = [_Pool([_Worker(time.monotonic() - 10)]) for _ in stages]
    state = RunState.new(stages, pools, InputLedger())  # type: ignore[arg-type]
    state.bytes.budget = ByteBudget.from_store(400 * MB, 0.5, 2)  # 100 MB per queue
    return state


def test_a_stage_whose_output_cannot_be_consumed_is_not_grown(tmp_path: Path) -> None:
    """Stage 0 makes 60 MB per task; 80 MB already wait for stage 1: no room, no new worker."""
    state = _state(tmp_path)
    flow = PipelineFlow(state, EngineOptions())
    state.stages[0].meter.record(1, 60 * MB)
    assert flow.size_within_budget(0, 4) == 1 and not flow.byte_blocked(0)
    state.stages[1].queue.push(Chunk("x", 1, nbytes=80 * MB))
    assert flow.size_within_budget(0, 4) == 0
    assert flow.byte_blocked(0)
    assert not flow.worth_growing(0)
    assert flow.size_within_budget(1, 4) == 4  # the last stage feeds the driver: never held


def test_a_finished_slice_stays_counted_while_its_object_is_shared(tmp_path: Path) -> None:
    """A 4-task, 80 MB chunk split for a small call is one object in the store until its last
    slice is done: the first slice finishing frees nothing, so stage 0 gets no more room."""
    state = _state(tmp_path)
    flow = PipelineFlow(state, EngineOptions())
    state.stages[0].meter.record(1, 20 * MB)
    chunk = Chunk(object(), 4, nbytes=80 * MB)
    head, rest = chunk.split(1)
    state.split_chunk(1, chunk, [head, rest])
    state.stages[1].queue.push(rest)
    state.release_chunk(head)  # its call finished; `rest` still pins the 80 MB object
    assert state.boundary_bytes(1) == (80 * MB, 0)
    assert flow.size_within_budget(0, 4) == 1  # 20 MB of room, not 40
    state.stages[1].queue.pop_up_to(3)
    state.release_chunk(rest)  # the last slice: the object is freed
    assert state.boundary_bytes(1) == (0, 0)
    assert flow.size_within_budget(0, 4) == 4
