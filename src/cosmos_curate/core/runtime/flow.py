"""What the live state of a run implies: call sizes, queue limits, work left, whether to grow.

`PipelineFlow` only reads the engine's queues, pools and measurements; the engine acts on
its answers. The pure rules behind them are in `bundling.py` (call sizes) and `planner.py`
(worker counts).
"""

from __future__ import annotations

import math
import time

import attrs

from cosmos_curate.core.runtime.bundling import BundlePolicy
from cosmos_curate.core.runtime.queues import ChunkQueue
from cosmos_curate.core.runtime.resolved import ResolvedStage
from cosmos_curate.core.runtime.stage_pool import StagePool
from cosmos_curate.core.runtime.stats import COST_WINDOW_S, StageStats


@attrs.frozen
class EngineOptions:
    """Tunables of the engine; defaults suit most pipelines."""

    plan_interval_s: float = 1.0
    report_interval_s: float = 0.5
    min_worker_age_s: float = 2.0
    min_queue_tasks: int = 16
    learning_period_s: float = 10.0
    resize_cooldown_s: float = 5.0
    max_parts_per_call: int = 64
    collect_outputs: bool = True
    max_worker_deaths_per_task: int = 3
    max_setup_deaths_in_a_row: int = 5
    min_busy_share_to_grow: float = 0.5
    journal_flush_interval_s: float = 0.5
    bundle_policy: BundlePolicy = attrs.field(factory=BundlePolicy)


@attrs.define
class PipelineFlow:
    """Read-only questions about a running pipeline, one stage index at a time."""

    stages: list[ResolvedStage]
    queues: list[ChunkQueue]
    stats: list[StageStats]
    options: EngineOptions
    pools: list[StagePool] = attrs.field(factory=list)
    targets: list[int] = attrs.field(factory=list)
    input_exhausted: bool = False
    first_dispatch: list[float] = attrs.field(factory=list)
    """When each stage got its first call (inf until then)."""

    def __attrs_post_init__(self) -> None:
        self.targets = self.targets or [0] * len(self.stages)
        self.first_dispatch = self.first_dispatch or [math.inf] * len(self.stages)

    # ---- sizes and limits --------------------------------------------------------
    def desired_call_size(self, index: int) -> int:
        """Tasks per call from the stage's measured cost and per-call overhead."""
        stats = self.stats[index]
        return self.options.bundle_policy.desired_tasks_per_call(
            stats.seconds_per_task, self.stages[index].batch_size, stats.call_overhead_s
        )

    def tail_capped(self, index: int, size: int) -> int:
        """`size`, shrunk near the end in proportion to the work left (in flight included).

        So every worker finishes together instead of one ending the run alone on a long call.
        """
        if not self.input_exhausted:
            return size
        stage = self.stages[index]
        return self.options.bundle_policy.share_for_idle_slots(
            size, self.tasks_left_for(index), self._tail_slots(index), stage.batch_size
        )

    def in_tail(self, index: int) -> bool:
        """Whether stage `index` is in the last stretch, where its calls shrink."""
        if not self.input_exhausted:
            return False
        left = self.tasks_left_for(index)
        return left < self._tail_slots(index) * self.desired_call_size(index)

    def _tail_slots(self, index: int) -> int:
        in_flight = self.stages[index].calls_in_flight_per_worker
        return 2 * max(1, self.pools[index].active_count * in_flight)

    def parts_for(self, index: int, n_tasks: int) -> int:
        """How many parts a call of `n_tasks` returns: one per call of the next stage."""
        if index + 1 >= len(self.stages):
            return 1
        expected = n_tasks * self.stats[index].fan_out
        # Parts are the unit the next stage's calls are made of: near the end they shrink too.
        downstream = self.tail_capped(index + 1, self.desired_call_size(index + 1))
        return max(1, min(self.options.max_parts_per_call, math.ceil(expected / downstream)))

    def queue_limit(self, index: int) -> int:
        """Tasks stage `index`'s input queue may hold: two rounds of calls for its workers."""
        workers = max(1, self.targets[index], self.pools[index].active_count if self.pools else 0)
        in_flight = self.stages[index].calls_in_flight_per_worker
        per_call = self.desired_call_size(index)
        return max(self.options.min_queue_tasks, 2 * workers * in_flight * per_call)

    def downstream_full(self, index: int) -> bool:
        """Whether stage `index` must wait: the next stage's queue would overflow."""
        if index + 1 >= len(self.stages):
            return False
        pending = self.queues[index + 1].tasks + self.pools[index].tasks_in_flight
        return pending >= self.queue_limit(index + 1)

    # ---- progress of the work ----------------------------------------------------
    def tasks_left_for(self, index: int) -> int:
        """Tasks still to reach or pass stage `index` (queued or in flight here or upstream)."""
        left = 0.0
        for upstream in range(index + 1):
            left *= self.stats[upstream - 1].fan_out if upstream else 1.0
            left += self.queues[upstream].tasks + self.pools[upstream].tasks_in_flight
        return math.ceil(left)

    def inputs_final(self, index: int) -> bool:
        """No more input will ever reach stage `index` beyond what is queued for it now."""
        if not self.input_exhausted:
            return False
        return not any(
            self.queues[upstream].tasks or self.pools[upstream].tasks_in_flight
            for upstream in range(index)
        )

    def stage_finished(self, index: int) -> bool:
        """Stage `index` has done all the work it will ever get."""
        return (
            self.inputs_final(index)
            and not self.queues[index].tasks
            and not self.pools[index].tasks_in_flight
        )

    # ---- growth ------------------------------------------------------------------
    def worth_growing(self, index: int) -> bool:
        """Whether a new worker of stage `index` would pay for its start-up.

        Not when the stage's workers are mostly idle (they wait on something else), when its
        work is bound by per-call overhead, or when its current workers finish the work left
        before a new one could start (at the end of a run finished stages hand their
        resources on).
        """
        pool, spt = self.pools[index], self.stats[index].seconds_per_task
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
        if not self.input_exhausted:
            return True
        startup = pool.startup_seconds or self.options.min_worker_age_s
        seconds_left = self.tasks_left_for(index) * spt / pool.active_count
        return seconds_left > 2 * startup

    def busy_share(self, index: int) -> float | None:
        """Share of the recent past the stage's ready workers spent in `process_data`.

        None while there is too little evidence: under 0.25 s since the stage got work, or
        calls so long that a few seconds hold only a handful of them.
        """
        pool, stats = self.pools[index], self.stats[index]
        ready = [w.ready_at for w in pool.workers if w.ready_at is not None]
        call_seconds = (stats.seconds_per_task or 0.0) * self.desired_call_size(index)
        if not ready or call_seconds * 4 > COST_WINDOW_S:
            return None
        since = max(min(ready), self.first_dispatch[index])
        window = min(COST_WINDOW_S, time.monotonic() - since)
        if window < 0.25:
            return None
        return stats.busy_seconds(window) / (window * len(ready))
