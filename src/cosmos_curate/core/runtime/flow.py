"""What the live state of a run implies: call sizes, queue limits, work left, whether to grow.

`PipelineFlow` reads the `RunState` and answers; it writes nothing. The engine's phases act
on its answers. The pure rules behind them are in `bundling.py` (call sizes) and
`planner.py` (worker counts). No Ray import.
"""

from __future__ import annotations

import math
import time

import attrs

from cosmos_curate.core.runtime.byte_budget import oversized, tasks_within_share
from cosmos_curate.core.runtime.run_options import EngineOptions
from cosmos_curate.core.runtime.run_state import RunState
from cosmos_curate.core.runtime.stats import COST_WINDOW_S


@attrs.frozen
class PipelineFlow:
    """Read-only questions about a running pipeline, one stage index at a time."""

    state: RunState
    options: EngineOptions

    # ---- sizes and limits --------------------------------------------------------
    def desired_call_size(self, index: int) -> int:
        """Tasks per call from the stage's measured cost and per-call overhead."""
        stage = self.state.stages[index]
        return self.options.bundle_policy.desired_tasks_per_call(
            stage.stats.seconds_per_task, stage.spec.batch_size, stage.stats.call_overhead_s
        )

    def tail_capped(self, index: int, size: int) -> int:
        """`size`, shrunk near the end in proportion to the work left (in flight included).

        So every worker finishes together instead of one ending the run alone on a long call.
        """
        if not self.state.input_exhausted:
            return size
        batch = self.state.stages[index].spec.batch_size
        return self.options.bundle_policy.share_for_idle_slots(
            size, self.tasks_left_for(index), self._tail_slots(index), batch
        )

    def in_tail(self, index: int) -> bool:
        """Whether stage `index` is in the last stretch, where its calls shrink."""
        if not self.state.input_exhausted:
            return False
        left = self.tasks_left_for(index)
        return left < self._tail_slots(index) * self.desired_call_size(index)

    def _tail_slots(self, index: int) -> int:
        stage = self.state.stages[index]
        return 2 * max(1, stage.pool.active_count * stage.spec.slots_per_actor)

    def parts_for(self, index: int, n_tasks: int) -> int:
        """How many parts a call of `n_tasks` returns: one per call of the next stage."""
        if self.state.is_last(index):
            return 1
        expected = n_tasks * self.state.stages[index].stats.fan_out
        # Parts are the unit the next stage's calls are made of: near the end they shrink too.
        downstream = self.tail_capped(index + 1, self.desired_call_size(index + 1))
        return max(1, min(self.options.max_parts_per_call, math.ceil(expected / downstream)))

    def queue_limit(self, index: int) -> int:
        """Tasks stage `index`'s input queue may hold: two rounds of calls for its workers."""
        stage = self.state.stages[index]
        workers = max(1, stage.target, stage.pool.active_count)
        per_call = self.desired_call_size(index)
        return max(
            self.options.min_queue_tasks, 2 * workers * stage.spec.slots_per_actor * per_call
        )

    def downstream_full(self, index: int) -> bool:
        """Whether stage `index` must wait: the next stage's queue would overflow."""
        if self.state.is_last(index):
            return False
        stages = self.state.stages
        pending = stages[index + 1].queue.tasks + stages[index].pool.tasks_in_flight
        return pending >= self.queue_limit(index + 1)

    # ---- bytes (see byte_budget) --------------------------------------------------
    def size_within_budget(self, index: int, size: int) -> int:
        """`size` cut so that stage `index`'s output fits the next queue's share; 0: wait.

        The last stage's outputs leave the store for the driver: never held back.
        """
        state = self.state
        if state.is_last(index) or not state.bytes.budget.bounded:
            return size
        stage = state.stages[index]
        held, expected = state.boundary_bytes(index + 1)
        return tasks_within_share(
            share=state.byte_share(index + 1),
            used=held + expected,
            bytes_per_task=stage.meter.bytes_per_task,
            desired=size,
            batch=stage.spec.batch_size,
            calls_in_flight=sum(w.calls_in_flight for w in stage.pool.workers),
        )

    def intake_has_room(self) -> bool:
        """Whether stage 0's queue may take another input chunk under the byte budget."""
        budget = self.state.bytes.budget
        if not budget.bounded:
            return True
        held, _ = self.state.boundary_bytes(0)
        return held == 0 or held < self.state.byte_share(0)

    def output_oversized(self, index: int) -> bool:
        """Whether one batch of stage `index`'s output alone exceeds its queue's share."""
        if self.state.is_last(index):
            return False
        stage = self.state.stages[index]
        return oversized(
            self.state.byte_share(index + 1), stage.meter.bytes_per_task, stage.spec.batch_size
        )

    def byte_blocked(self, index: int) -> bool:
        """Whether the byte budget keeps stage `index` from sending even one more batch."""
        if self.state.is_last(index) or not self.state.bytes.budget.bounded:
            return False
        stage = self.state.stages[index]
        if stage.meter.bytes_per_task is None:
            return False  # unmeasured: it sends one call at a time, not a reason to wait
        return self.size_within_budget(index, stage.spec.batch_size) == 0

    # ---- progress of the work ----------------------------------------------------
    def tasks_left_for(self, index: int) -> int:
        """Tasks still to reach or pass stage `index` (queued or in flight here or upstream)."""
        left, fan_out = 0.0, 1.0
        for upstream in self.state.stages[: index + 1]:
            left = left * fan_out + upstream.queue.tasks + upstream.pool.tasks_in_flight
            fan_out = upstream.stats.fan_out
        return math.ceil(left)

    def inputs_final(self, index: int) -> bool:
        """No more input will ever reach stage `index` beyond what is queued for it now."""
        if not self.state.input_exhausted:
            return False
        return not any(
            upstream.queue.tasks or upstream.pool.tasks_in_flight
            for upstream in self.state.stages[:index]
        )

    def stage_finished(self, index: int) -> bool:
        """Stage `index` has done all the work it will ever get."""
        stage = self.state.stages[index]
        return self.inputs_final(index) and not stage.queue.tasks and not stage.pool.tasks_in_flight

    # ---- growth ------------------------------------------------------------------
    def worth_growing(self, index: int) -> bool:
        """Whether a new worker of stage `index` would pay for its start-up.

        Not when the byte budget holds the stage back (downstream cannot take its output),
        when the whole input is read and the stage already has a worker per task still to
        reach it (a two-input run starts no eight workers), when the stage's workers are
        mostly idle (they wait on something else), when its work is bound by per-call
        overhead, when its current workers finish the work left before a new one could
        start (at the end of a run finished stages hand their resources on). A stage whose
        speed is unmeasured and that has a worker gets another only when work waits that
        none of its workers can take (none starting, none with a free slot): otherwise more
        workers are a guess, their start-ups (a model's imports and load) compete for the
        CPUs with the one still starting, and a stage whose input has not arrived yet (the
        planner counts it as the slowest) would fill up with idle workers (video-split's
        writer had 4 on 2 CPUs). Nor when a measured stage fed
        by another has less than one call's worth queued: its workers take what reaches it
        as it comes, so its pace is its feeder's and a new worker would find nothing to take
        (its busy share can still look high: per-task time grows with contention for the
        CPUs or the disk, and each worker added raised it further; #29's writer grew to 11).
        """
        stage = self.state.stages[index]
        pool, spt = stage.pool, stage.stats.seconds_per_task
        # unmeasured and no work waiting for a worker; or its output cannot be consumed; or
        # no task is left for a new one; or, measured, it keeps up with what feeds it
        blind = not spt and (
            pool.setups_pending > 0 or not stage.queue.tasks or pool.free_slot_count() > 0
        )
        fed = bool(spt) and self._keeps_up(index)
        if pool.active_count and (blind or fed or self.byte_blocked(index) or self._covered(index)):
            return False
        if not spt or not pool.active_count:
            return True
        busy = self.busy_share(index)
        if busy is None:
            # No evidence yet: a stage that does a largest call in less than a normal call's
            # time is bound by overheads, not by its workers' number.
            policy = self.options.bundle_policy
            if spt * policy.max_tasks_per_call < policy.target_call_seconds:
                return False
        elif busy < self.options.min_busy_share_to_grow:
            return False
        if not self.state.input_exhausted:
            return True
        startup = pool.startup_seconds or self.options.min_worker_age_s
        seconds_left = self.tasks_left_for(index) * spt / pool.active_count
        return seconds_left > 2 * startup

    def _keeps_up(self, index: int) -> bool:
        """Stage `index` is fed by another and has less than one call's worth queued.

        Not when the byte budget holds the feeder back: then few large tasks are queued
        because the stage is the bottleneck.
        """
        if index == 0 or self.byte_blocked(index - 1):
            return False
        return self.state.stages[index].queue.tasks < self.desired_call_size(index)

    def _covered(self, index: int) -> bool:
        """The whole input is read and stage `index` has a worker per task left to reach it."""
        active = self.state.stages[index].pool.active_count
        return self.state.input_exhausted and active >= self.tasks_left_for(index)

    def busy_share(self, index: int) -> float | None:
        """Share of the recent past the stage's ready workers spent in `process_data`.

        None while there is too little evidence: under 0.25 s since the stage got work, or
        calls so long that a few seconds hold only a handful of them.
        """
        stage = self.state.stages[index]
        pool, stats = stage.pool, stage.stats
        ready = [w.ready_at for w in pool.workers if w.ready_at is not None]
        call_seconds = (stats.seconds_per_task or 0.0) * self.desired_call_size(index)
        if not ready or call_seconds * 4 > COST_WINDOW_S:
            return None
        since = max(min(ready), stage.first_dispatch)
        window = min(COST_WINDOW_S, time.monotonic() - since)
        if window < 0.25:
            return None
        return stats.busy_seconds(window) / (window * len(ready))

    # ---- the run as a whole ------------------------------------------------------
    def all_done(self) -> bool:
        """The input is read to the end and nothing is queued or in flight anywhere."""
        state = self.state
        return (
            state.input_exhausted
            and not state.calls
            and not any(s.queue.tasks for s in state.stages)
        )
