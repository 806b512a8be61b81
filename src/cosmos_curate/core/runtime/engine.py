"""The streaming engine: every stage runs at once, each as a pool of Ray actors.

One loop on the driver, in numbered phases per round:
  1. feed     - pull input tasks into stage 0's queue while it has room (backpressure);
  2. dispatch - give queued chunks to free workers, downstream stages first, as long as the
                next stage's queue has room;
  3. collect  - wait briefly for finished calls and setups; forward outputs by reference,
                write failure records, re-queue the calls of dead workers;
  4. plan     - every `plan_interval_s`, re-plan worker counts from measured speeds;
  5. report   - every `report_interval_s`, hand a progress snapshot to the sinks.
The driver never deserializes tasks between stages; only the last stage's outputs.
`flow.PipelineFlow` answers the questions about the live state (call sizes, queue limits,
work left, whether a new worker pays off); the engine acts on its answers.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
import ray
from ray.exceptions import (
    GetTimeoutError,
    ObjectLostError,
    RayActorError,
    RayTaskError,
    WorkerCrashedError,
)

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.interfaces.results import PipelineProgress
from cosmos_curate.core.runtime.checkpoint import CheckpointJournal
from cosmos_curate.core.runtime.failures import FailureLog
from cosmos_curate.core.runtime.flow import EngineOptions, PipelineFlow
from cosmos_curate.core.runtime.ledger import InputLedger, to_ranges
from cosmos_curate.core.runtime.planner import (
    NodeCapacity,
    PlanningSnapshot,
    ProportionalPlanner,
    StageDemand,
    WorkerPlanner,
    start_order,
)
from cosmos_curate.core.runtime.queues import Chunk, ChunkQueue
from cosmos_curate.core.runtime.ray_connection import node_capacities
from cosmos_curate.core.runtime.recovery import (
    broken_call_records,
    one_line,
    quarantine_record,
    split_into_singles,
)
from cosmos_curate.core.runtime.resolved import ResolvedStage
from cosmos_curate.core.runtime.snapshot import stage_progress
from cosmos_curate.core.runtime.stage_pool import StagePool, WorkerHandle, WorkerState
from cosmos_curate.core.runtime.stats import StageStats
from cosmos_curate.core.runtime.worker import CallReport, SetupReport, dumps, loads

logger = logging.getLogger(__name__)

ProgressSink = Callable[[PipelineProgress], None]
_DEAD_WORKER_ERRORS = (RayActorError, WorkerCrashedError)


class StageSetupError(CurateError):
    """A stage's `stage_setup` kept failing, so the run cannot go on."""


@attrs.define(eq=False)
class _Call:
    stage: int
    worker: WorkerHandle
    chunks: list[Chunk]
    n_tasks: int
    part_refs: list[Any]


@attrs.define(eq=False)
class _Setup:
    stage: int
    worker: WorkerHandle


class StreamingEngine:
    """Runs resolved stages over an input iterable; see the module docstring."""

    def __init__(
        self,
        stages: list[ResolvedStage],
        failure_log: FailureLog,
        *,
        options: EngineOptions | None = None,
        planner: WorkerPlanner | None = None,
        sinks: Iterable[ProgressSink] = (),
        journal: CheckpointJournal | None = None,
    ) -> None:
        self._stages = stages
        self._failures = failure_log
        self._options = options or EngineOptions()
        self._planner = planner or ProportionalPlanner()
        self._sinks = list(sinks)
        self._journal = journal
        self._ledger = InputLedger(journal.record if journal is not None else None)
        self._inputs_skipped = 0

        self._queues = [ChunkQueue() for _ in stages]
        self._stats = [StageStats() for _ in stages]
        self._flow = PipelineFlow(stages, self._queues, self._stats, self._options)
        self._pools: list[StagePool] = []
        self._target_changes = [0] * len(stages)
        self._last_resize = [-math.inf] * len(stages)
        self._rounds = 0
        self._round_seconds = 0.0
        self._plan_rounds = 0
        self._calls: dict[Any, _Call] = {}
        self._setups: dict[Any, _Setup] = {}
        self._outputs: list[Any] = []
        self._n_outputs = 0
        self._inputs_read = 0
        self._input: Iterator[tuple[int, Any]] = iter(())
        self._nodes: tuple[NodeCapacity, ...] = ()
        self._nodes_read_at = -math.inf
        self._started = time.monotonic()
        self._newly_measured = False  # a stage got its first measurement: re-plan now
        self._last_worker_ready = -math.inf

    # ---- public ------------------------------------------------------------------
    def run(self, input_tasks: Iterable[Any]) -> list[Any]:
        """Stream `input_tasks` through every stage; return the last stage's outputs."""
        self._input = enumerate(input_tasks)
        self._started = time.monotonic()
        self._pools = [StagePool(stage, ray.put(_stage_blob(stage))) for stage in self._stages]
        self._flow.pools = self._pools
        try:
            self._plan()
            next_plan = next_report = next_flush = time.monotonic()
            while True:
                round_start = time.perf_counter()
                self._feed()
                self._dispatch()
                if self._all_done():
                    break
                self._collect(timeout_s=0.05)
                now = time.monotonic()
                if now >= next_plan or self._newly_measured:
                    self._newly_measured = False
                    self._plan()
                    next_plan = now + self._options.plan_interval_s
                if now >= next_report:
                    self._report(finished=False)
                    next_report = now + self._options.report_interval_s
                if self._journal is not None and now >= next_flush:
                    self._journal.flush()
                    next_flush = now + self._options.journal_flush_interval_s
                self._rounds += 1
                self._round_seconds += time.perf_counter() - round_start
            if self._journal is not None:
                self._journal.flush()
            self._report(finished=True)
            return self._outputs
        finally:
            self._shutdown()

    # ---- phase 1: feed -----------------------------------------------------------
    def _feed(self) -> None:
        flow = self._flow
        while not flow.input_exhausted and self._queues[0].tasks < flow.queue_limit(0):
            size = flow.desired_call_size(0)
            batch, positions = [], []
            done = self._journal.done if self._journal is not None else None
            for position, task in self._input:
                if done is not None and position in done:
                    self._inputs_skipped += 1
                    continue
                batch.append(task)
                positions.append(position)
                if len(batch) >= size:
                    break
            else:
                flow.input_exhausted = True
            if batch:
                self._inputs_read += len(batch)
                origins = self._ledger.new_origin(to_ranges(positions))
                self._queues[0].push(Chunk(dumps(batch), len(batch), origins))

    # ---- phase 2: dispatch -------------------------------------------------------
    def _dispatch(self) -> None:
        for index in reversed(range(len(self._stages))):
            self._dispatch_stage(index)

    def _dispatch_stage(self, index: int) -> None:
        queue, pool, stage = self._queues[index], self._pools[index], self._stages[index]
        desired = self._flow.desired_call_size(index)
        while queue.tasks and not self._flow.downstream_full(index):
            front = queue.peek()
            if front is not None and front.suspect:
                # A chunk whose worker died runs alone on an idle worker, so that if it
                # kills this one too there is no doubt which task did it.
                worker = pool.idle_worker()
                if worker is None:
                    return
                self._submit(index, worker, queue.pop_up_to(1), exclusive=True)
                continue
            free = pool.free_slots()
            if not free:
                return
            policy = self._options.bundle_policy
            size = policy.share_for_idle_slots(
                desired, queue.tasks, pool.free_slot_count(), stage.batch_size
            )
            size = self._flow.tail_capped(index, size)
            self._submit(index, free[0], self._take(index, size), exclusive=False)

    def _take(self, index: int, size: int) -> list[Chunk]:
        """Chunks of about `size` tasks from the queue.

        Near the end the front chunk is split when it alone is larger, so that the last
        calls can be as small as the tail needs.
        """
        queue = self._queues[index]
        front = queue.peek()
        tail = self._flow.in_tail(index)
        if tail and front is not None and front.n_tasks > size:
            batch = self._stages[index].batch_size
            cut = max(batch, size - size % batch)
            if cut < front.n_tasks:
                queue.pop_up_to(1)
                head, rest = front.split(cut)
                queue.push_front([rest])
                self._ledger.split(front.origins, 2)
                return [head]
        # Near the end calls must not outgrow their size, or the tail gets uneven again.
        return queue.pop_up_to(size, exact=tail)

    def _submit(
        self, index: int, worker: WorkerHandle, chunks: list[Chunk], *, exclusive: bool
    ) -> None:
        n_tasks = sum(c.n_tasks for c in chunks)
        n_parts = self._flow.parts_for(index, n_tasks)
        first = self._flow.first_dispatch
        first[index] = min(first[index], time.monotonic())
        refs = self._pools[index].submit(
            worker,
            n_parts,
            [c.data for c in chunks],
            [c.span for c in chunks],
            n_tasks,
            exclusive=exclusive,
        )
        self._calls[refs[0]] = _Call(index, worker, chunks, n_tasks, list(refs[1:]))

    # ---- phase 3: collect --------------------------------------------------------
    def _collect(self, timeout_s: float) -> None:
        pending = [*self._calls, *self._setups]
        if not pending:
            time.sleep(timeout_s)
            return
        ready, rest = ray.wait(pending, num_returns=1, timeout=timeout_s, fetch_local=False)
        if ready and rest:
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0, fetch_local=False)
            ready.extend(more)
        for ref in ready:
            if ref in self._calls:
                self._finish_call(ref, self._calls.pop(ref))
            else:
                self._finish_setup(ref, self._setups.pop(ref))

    def _finish_setup(self, ref: Any, setup: _Setup) -> None:
        pool = self._pools[setup.stage]
        try:
            report: SetupReport = ray.get(ref)
        except _DEAD_WORKER_ERRORS as exc:
            # The process died (killed, out of memory, node lost): a replacement starts at
            # the next plan; only a stage whose workers keep dying in setup stops the run.
            pool.on_died_in_setup(setup.worker)
            self._check_setup_deaths(setup.stage, exc)
            return
        except RayTaskError as exc:
            pool.on_setup_failed(setup.worker)
            self._check_setup_failures(setup.stage, exc)
            return
        if pool.is_live(setup.worker):
            pool.on_setup_done(setup.worker, report)
            self._last_worker_ready = time.monotonic()

    def _check_setup_failures(self, index: int, exc: Exception) -> None:
        stage, pool = self._stages[index], self._pools[index]
        cause = exc.cause if isinstance(exc, RayTaskError) and exc.cause else exc
        logger.warning("stage %s: worker setup failed: %s", stage.name, one_line(cause))
        if (
            pool.setup_failures_in_a_row >= stage.setup_attempts
            and pool.count(WorkerState.READY) == 0
        ):
            msg = (
                f"stage {stage.name}: stage_setup failed {pool.setup_failures_in_a_row} time(s) "
                f"in a row: {one_line(cause)}"
            )
            raise StageSetupError(msg) from cause

    def _check_setup_deaths(self, index: int, exc: Exception) -> None:
        stage, pool = self._stages[index], self._pools[index]
        logger.warning("stage %s: a worker died during setup: %s", stage.name, one_line(exc))
        limit = self._options.max_setup_deaths_in_a_row
        if pool.setup_deaths_in_a_row >= limit and pool.count(WorkerState.READY) == 0:
            msg = (
                f"stage {stage.name}: {pool.setup_deaths_in_a_row} workers in a row died during "
                f"setup ({one_line(exc)}); does stage_setup crash the process or run out of "
                "memory?"
            )
            raise StageSetupError(msg) from exc

    def _finish_call(self, ref: Any, call: _Call) -> None:
        pool = self._pools[call.stage]
        try:
            report: CallReport = ray.get(ref)
        except _DEAD_WORKER_ERRORS:
            self._requeue_dead_worker_call(call)
            return
        except (RayTaskError, ObjectLostError) as exc:
            # ObjectLostError: an input chunk lived on a node that is gone. Re-running its
            # producer could duplicate its siblings, so these tasks become failure records.
            pool.on_call_done(call.worker, call.n_tasks)
            self._record_broken_call(call, exc)
            return
        pool.on_call_done(call.worker, call.n_tasks)
        stats = self._stats[call.stage]
        self._newly_measured |= stats.seconds_per_task is None
        stats.record_call(
            tasks_in=report.tasks_in,
            tasks_out=sum(report.part_counts),
            failed=len(report.failures),
            process_seconds=report.process_seconds,
            deserialize_seconds=report.deserialize_seconds,
            deserialize_bytes=report.deserialize_bytes,
            gap_seconds=report.gap_seconds,
        )
        stats.cpu_percent_by_worker[call.worker.worker_id] = report.cpu_percent
        stats.rss_by_worker[call.worker.worker_id] = report.rss_bytes
        for failure in report.failures:
            self._failures.write(failure)
        self._forward(call, report.part_counts)

    def _forward(self, call: _Call, counts: tuple[int, ...]) -> None:
        """Queue the call's outputs downstream (or collect them) and settle the ledger."""
        origins = frozenset().union(*(c.origins for c in call.chunks))
        parts = [(p, c) for p, c in zip(call.part_refs, counts, strict=True) if c]
        if call.stage + 1 < len(self._stages):
            queue = self._queues[call.stage + 1]
            self._ledger.derive(origins, len(parts))
            for part, count in parts:
                queue.push(Chunk(part, count, origins))
        else:
            self._n_outputs += sum(counts)
            if self._options.collect_outputs:
                for blob in ray.get([p for p, _ in parts]):
                    self._outputs.extend(loads(blob))
        for chunk in call.chunks:
            self._ledger.release(chunk.origins)

    def _requeue_dead_worker_call(self, call: _Call) -> None:
        pool = self._pools[call.stage]
        if pool.is_live(call.worker):
            logger.warning(
                "stage %s: a worker died; re-running its %d in-flight task(s) elsewhere",
                self._stages[call.stage].name,
                call.n_tasks,
            )
        pool.on_worker_died(call.worker)
        # Every call the dead worker held is suspect (we cannot tell which one was running):
        # split into single tasks that then run alone, so only a real poison task keeps
        # killing workers until it is quarantined.
        requeue: list[Chunk] = []
        for chunk in call.chunks:
            requeue.extend(self._suspect_chunks(call.stage, chunk))
        self._queues[call.stage].push_front(requeue)

    def _suspect_chunks(self, index: int, chunk: Chunk) -> list[Chunk]:
        """A chunk a dead worker held: split into single tasks, or quarantined at the limit."""
        if chunk.n_tasks > 1:
            singles = split_into_singles(chunk)
            self._ledger.split(chunk.origins, len(singles))
            return singles
        deaths = chunk.deaths + 1
        if deaths < self._options.max_worker_deaths_per_task:
            return [attrs.evolve(chunk, deaths=deaths)]
        record = quarantine_record(self._stages[index].name, chunk, deaths)
        logger.error("stage %s: quarantined %s", record.stage, record.task_repr)
        self._failures.write(record)
        self._stats[index].tasks_failed += 1
        self._ledger.release(chunk.origins)
        return []

    def _record_broken_call(self, call: _Call, exc: BaseException) -> None:
        for record in broken_call_records(self._stages[call.stage].name, call.chunks, exc):
            self._failures.write(record)
        self._stats[call.stage].tasks_failed += call.n_tasks
        for chunk in call.chunks:
            self._ledger.release(chunk.origins)

    # ---- phase 4: plan -----------------------------------------------------------
    def _plan(self) -> None:
        now = time.monotonic()
        if now - self._nodes_read_at > 5.0:
            self._nodes = node_capacities()
            self._nodes_read_at = now
        snapshot = PlanningSnapshot(
            nodes=self._nodes,
            stages=tuple(self._demand(i, now) for i in range(len(self._stages))),
            learning=now - self._started < self._options.learning_period_s,
        )
        plan = self._planner.plan(snapshot)
        self._plan_rounds += 1
        for index, (old, new) in enumerate(zip(self._flow.targets, plan.targets, strict=True)):
            if old != new:
                self._target_changes[index] += 1
                self._last_resize[index] = now
                logger.info("stage %s: workers %d -> %d", self._stages[index].name, old, new)
        self._flow.targets[:] = plan.targets
        node_ids = [n.node_id for n in self._nodes]
        growth: dict[int, int] = {}
        for index, (stage, pool) in enumerate(zip(self._stages, self._pools, strict=True)):
            target = plan.targets[index]
            if self._flow.stage_finished(index):
                pool.retire_all_idle()
            elif stage.fixed_per_node is not None:
                for worker, setup_ref in pool.scale_per_node(stage.fixed_per_node, node_ids):
                    self._setups[setup_ref] = _Setup(index, worker)
            elif target > pool.active_count:
                if self._flow.worth_growing(index):
                    growth[index] = target - pool.active_count
            else:
                pool.scale_to(target, self._options.min_worker_age_s)  # retires only
        # Shrinking first frees resources; growing bottleneck-first gets it going soonest.
        current = [pool.active_count for pool in self._pools]
        for index in start_order(growth, current, snapshot.stages):
            worker, setup_ref = self._pools[index].start_worker()
            self._setups[setup_ref] = _Setup(index, worker)

    def _demand(self, index: int, now: float) -> StageDemand:
        stage, pool = self._stages[index], self._pools[index]
        # A stage resized moments ago keeps its workers, and so does every stage while
        # workers start (and a while after): speeds measured then are skewed (start-ups
        # load the CPUs), and shrinking back would only pay for worker start-ups twice.
        cooldown = self._options.resize_cooldown_s
        steady = (
            now - self._last_resize[index] < cooldown
            or now - self._last_worker_ready < cooldown
            or any(p.count(WorkerState.STARTING) for p in self._pools)
        )
        return StageDemand(
            name=stage.name,
            cpus=stage.cpus,
            gpus=stage.gpus,
            fixed_per_node=stage.fixed_per_node,
            fixed_total=stage.fixed_total,
            seconds_per_task=self._stats[index].seconds_per_task,
            finished=self._flow.stage_finished(index),
            current_workers=pool.active_count,
            min_workers=max(1, pool.active_count) if steady else 1,
        )

    def _all_done(self) -> bool:
        exhausted = self._flow.input_exhausted
        return exhausted and not self._calls and not any(q.tasks for q in self._queues)

    # ---- phase 5: report ---------------------------------------------------------
    def _report(self, *, finished: bool) -> None:
        if not self._sinks:
            return
        snapshot = self.progress(finished=finished)
        for sink in self._sinks:
            try:
                sink(snapshot)
            except Exception:  # a broken display must never stop the pipeline
                logger.exception("progress sink failed")

    def progress(self, *, finished: bool = False) -> PipelineProgress:
        """A snapshot of every stage's counters."""
        stages = tuple(
            stage_progress(
                stage,
                pool,
                stats,
                elapsed_s=time.monotonic() - self._started,
                target=self._flow.targets[index],
                target_changes=self._target_changes[index],
                input_queue=self._queues[index].tasks,
                output_queue=self._queues[index + 1].tasks if index + 1 < len(self._queues) else 0,
            )
            for index, (stage, pool, stats) in enumerate(
                zip(self._stages, self._pools, self._stats, strict=True)
            )
        )
        return PipelineProgress(
            stages=stages,
            elapsed_s=time.monotonic() - self._started,
            inputs_read=self._inputs_read,
            input_exhausted=self._flow.input_exhausted,
            outputs=self._n_outputs,
            failures=self._failures.total,
            finished=finished,
            scheduler_round_seconds=self._round_seconds / max(1, self._rounds),
            scheduler_rounds=self._rounds,
            plan_rounds=self._plan_rounds,
            inputs_skipped=self._inputs_skipped,
            inputs_done=self._ledger.inputs_done,
        )

    # ---- shutdown ----------------------------------------------------------------
    def _shutdown(self) -> None:
        for pool in self._pools:
            try:
                pool.shutdown()
            except Exception:  # keep stopping the others
                logger.exception("could not stop the workers of %s", pool.stage.name)
        self._calls.clear()
        self._setups.clear()


def _stage_blob(stage: ResolvedStage) -> bytes:
    from ray import cloudpickle

    blob: bytes = cloudpickle.dumps(stage.stage)  # type: ignore[no-untyped-call]
    return blob


__all__ = ["EngineOptions", "GetTimeoutError", "ProgressSink", "StageSetupError", "StreamingEngine"]
